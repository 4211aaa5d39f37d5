/**
 * ECDSA signatures between the JWS form (RFC 7518 §3.4: `r ‖ s`, each left-padded to the curve
 * size) and the DER form node:crypto takes by default (an ASN.1 SEQUENCE of two INTEGERs).
 *
 * Why not node's own `dsaEncoding: 'ieee-p1363'`: measured on Node 24 (bench/crypto-micro.ts),
 * one-shot `sign`/`verify` given a bare KeyObject are about twice as fast as given the options
 * object that selects the P1363 form, and faster than WebCrypto; converting here costs far less.
 * Only the encoding changes: the curve arithmetic is OpenSSL's.
 */

/** `r ‖ s` (each `size` bytes) → DER. `raw` must be exactly `2 × size` bytes (the caller checks). */
export function rawToDer(raw: Buffer, size: number): Buffer {
  const r = derInteger(raw.subarray(0, size));
  const s = derInteger(raw.subarray(size, 2 * size));
  const body = r.length + s.length;
  const head = body < 0x80 ? Buffer.from([0x30, body]) : Buffer.from([0x30, 0x81, body]);
  return Buffer.concat([head, r, s]);
}

/** One DER INTEGER for an unsigned big-endian value: minimal, with a 0 byte before a high bit. */
function derInteger(value: Buffer): Buffer {
  let start = 0;
  while (start < value.length - 1 && value[start] === 0) start++;
  const digits = value.subarray(start);
  const pad = (digits[0] ?? 0) >= 0x80 ? 1 : 0;
  const out = Buffer.alloc(2 + pad + digits.length);
  out[0] = 0x02;
  out[1] = pad + digits.length;
  digits.copy(out, 2 + pad);
  return out;
}

/**
 * DER (as OpenSSL writes it) → `r ‖ s`, each left-padded to `size` bytes.
 *
 * @throws Error when `der` is not a SEQUENCE of two INTEGERs that fit in `size` bytes.
 */
export function derToRaw(der: Buffer, size: number): Buffer {
  let at = 0;
  const byte = (): number => {
    const b = der[at++];
    if (b === undefined) throw new Error('ECDSA signature: truncated DER');
    return b;
  };
  const length = (): number => {
    const first = byte();
    if (first < 0x80) return first;
    if (first !== 0x81) throw new Error('ECDSA signature: unsupported DER length');
    return byte();
  };
  if (byte() !== 0x30) throw new Error('ECDSA signature: not a DER SEQUENCE');
  if (length() !== der.length - at) throw new Error('ECDSA signature: bad DER length');
  const out = Buffer.alloc(2 * size);
  for (let i = 0; i < 2; i++) {
    if (byte() !== 0x02) throw new Error('ECDSA signature: not a DER INTEGER');
    const len = length();
    let value = der.subarray(at, at + len);
    if (value.length !== len) throw new Error('ECDSA signature: truncated DER');
    at += len;
    while (value.length > size && value[0] === 0) value = value.subarray(1);
    if (value.length > size) throw new Error('ECDSA signature: integer too large');
    value.copy(out, (i + 1) * size - value.length);
  }
  if (at !== der.length) throw new Error('ECDSA signature: trailing DER bytes');
  return out;
}
