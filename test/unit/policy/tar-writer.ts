/** A minimal tar writer for building hostile and edge-case archives in tests. */
import { gzipSync } from 'node:zlib';

/** One member to write; `type` defaults to a regular file ('0'). */
export interface Member {
  readonly name: string;
  readonly data?: Uint8Array | string;
  readonly type?: string;
  /** Put the name in the ustar prefix field (split at the last '/'). */
  readonly usePrefix?: boolean;
  /** Corrupt the header checksum. */
  readonly badChecksum?: boolean;
  /** Override the size field text (octal). */
  readonly sizeField?: string;
}

const enc = new TextEncoder();

function put(header: Uint8Array, offset: number, length: number, text: string): void {
  header.set(enc.encode(text).subarray(0, length), offset);
}

function headerFor(m: Member, size: number): Uint8Array {
  const h = new Uint8Array(512);
  let name = m.name;
  if (m.usePrefix === true) {
    const cut = name.lastIndexOf('/');
    put(h, 345, 155, name.slice(0, cut));
    name = name.slice(cut + 1);
  }
  put(h, 0, 100, name);
  put(h, 100, 8, '0000644\0');
  put(h, 108, 8, '0000000\0');
  put(h, 116, 8, '0000000\0');
  put(h, 124, 12, m.sizeField ?? `${size.toString(8).padStart(11, '0')}\0`);
  put(h, 136, 12, '00000000000\0');
  put(h, 156, 1, m.type ?? '0');
  put(h, 257, 6, 'ustar\0');
  put(h, 263, 2, '00');
  put(h, 148, 8, '        ');
  let sum = 0;
  for (const b of h) sum += b;
  if (m.badChecksum === true) sum += 1;
  put(h, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return h;
}

/** Builds an uncompressed tar archive. */
export function tar(members: readonly Member[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  for (const m of members) {
    const data = typeof m.data === 'string' ? enc.encode(m.data) : (m.data ?? new Uint8Array());
    chunks.push(headerFor(m, data.length), data, new Uint8Array((512 - (data.length % 512)) % 512));
  }
  chunks.push(new Uint8Array(1024));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

/** A PAX record `"<len> key=value\n"`. */
export function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = body.length + 1;
  while (`${length}${body}`.length !== length) length = `${length}${body}`.length;
  return `${length}${body}`;
}

/** Builds a gzipped tar archive. */
export function tgz(members: readonly Member[]): Uint8Array {
  return gzipSync(tar(members));
}

/** The smallest valid wasm module header (magic + version), enough for the bundle reader. */
export const WASM_STUB = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
