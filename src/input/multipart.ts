import { GatehouseError } from '../errors/gatehouse-error.js';
import { MAX_MULTIPART_PART_HEADERS, MAX_MULTIPART_PARTS } from './limits.js';

/** One part of a `multipart/form-data` body. */
export interface MultipartPart {
  /** Part headers, names lower-cased; the first value of a repeated header wins (Go's `Header.Get`). */
  readonly headers: ReadonlyMap<string, string>;
  /** The part's bytes, exactly as sent (a view into the body). */
  readonly body: Uint8Array;
}

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HT = 0x09;
const DASH = 0x2d;
const CRLF = Buffer.from('\r\n', 'latin1');
const LF_ONLY = Buffer.from('\n', 'latin1');

// RFC 2046 §5.1.1 bchars.
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function invalid(reason: string): GatehouseError {
  return new GatehouseError('ERR_BODY_INVALID', { cause: new Error(`multipart: ${reason}`) });
}

function skipLinearWhitespace(buf: Buffer, i: number, end: number): number {
  while (i < end && (buf[i] === SP || buf[i] === HT)) i++;
  return i;
}

function restEquals(buf: Buffer, from: number, end: number, expected: Buffer): boolean {
  return (
    end - from === expected.length && buf.compare(expected, 0, expected.length, from, end) === 0
  );
}

/**
 * Split a `multipart/form-data` body into parts, following Go's `mime/multipart.Reader` (which the
 * plugin uses): preamble and epilogue ignored; delimiter lines may carry trailing whitespace; a
 * body whose first delimiter line ends in a bare LF is read in LF mode; a delimiter inside a part
 * is `<newline>--boundary` followed by whitespace, a newline, `--` or the end of the data.
 *
 * Stricter than Go, failing closed: the boundary must be valid per RFC 2046, part headers may not
 * use obsolete line folding, and a `Content-Transfer-Encoding` other than 7bit/8bit/binary is
 * rejected (Go silently decodes quoted-printable; we would otherwise show the policy different
 * bytes from what the upstream sees).
 *
 * @throws {GatehouseError} `ERR_BODY_INVALID` on an invalid boundary, a missing or unterminated
 *   delimiter, malformed part headers, an unsupported transfer encoding, or more than
 *   `MAX_MULTIPART_PARTS` parts.
 */
export function parseMultipart(body: Uint8Array, boundary: string): MultipartPart[] {
  if (!BOUNDARY.test(boundary)) throw invalid('invalid boundary');
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const dash = Buffer.from(`--${boundary}`, 'latin1');
  const len = buf.length;
  let nl = CRLF;

  const startsWithDash = (at: number): boolean =>
    at + dash.length <= len && buf.compare(dash, 0, dash.length, at, at + dash.length) === 0;

  // `line` is [from, end) including its newline, if any.
  const isDelimiterLine = (from: number, end: number, first: boolean): boolean => {
    if (!startsWithDash(from)) return false;
    const rest = skipLinearWhitespace(buf, from + dash.length, end);
    if (first && end - rest === 1 && buf[rest] === LF) nl = LF_ONLY;
    return restEquals(buf, rest, end, nl);
  };
  const isFinalLine = (from: number, end: number, first: boolean): boolean => {
    if (
      !startsWithDash(from) ||
      buf[from + dash.length] !== DASH ||
      buf[from + dash.length + 1] !== DASH
    )
      return false;
    const rest = skipLinearWhitespace(buf, from + dash.length + 2, end);
    return (
      rest === end ||
      restEquals(buf, rest, end, nl) ||
      (first && restEquals(buf, rest, end, LF_ONLY))
    );
  };
  // What follows `<nl>--boundary` at `at`: +1 a delimiter, -1 part data.
  const matchAfter = (at: number): 1 | -1 => {
    if (at >= len) return 1;
    const c = buf[at];
    if (c === SP || c === HT || c === CR || c === LF) return 1;
    if (c === DASH && at + 1 < len && buf[at + 1] === DASH) return 1;
    return -1;
  };
  const lineEnd = (from: number): number => {
    const i = buf.indexOf(LF, from);
    return i < 0 ? len : i + 1;
  };

  // Preamble, up to the first delimiter line.
  let pos = 0;
  for (;;) {
    if (pos >= len) throw invalid('no delimiter');
    const end = lineEnd(pos);
    if (isDelimiterLine(pos, end, true)) {
      pos = end;
      break;
    }
    if (isFinalLine(pos, end, true)) return [];
    pos = end;
  }

  const parts: MultipartPart[] = [];
  for (;;) {
    if (parts.length >= MAX_MULTIPART_PARTS) throw invalid('too many parts');

    // Part headers, up to an empty line (CRLF or LF, as Go's textproto accepts both).
    const headers = new Map<string, string>();
    let count = 0;
    for (;;) {
      const lf = buf.indexOf(LF, pos);
      if (lf < 0) throw invalid('unterminated part headers');
      const stop = lf > pos && buf[lf - 1] === CR ? lf - 1 : lf;
      const line = buf.toString('utf8', pos, stop);
      pos = lf + 1;
      if (line === '') break;
      if (++count > MAX_MULTIPART_PART_HEADERS) throw invalid('too many part headers');
      const colon = line.indexOf(':');
      const name = colon < 0 ? '' : line.slice(0, colon);
      if (!HEADER_NAME.test(name)) throw invalid('malformed part header');
      const key = name.toLowerCase();
      if (!headers.has(key))
        headers.set(key, line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, ''));
    }
    const cte = headers.get('content-transfer-encoding')?.toLowerCase();
    if (cte !== undefined && cte !== '7bit' && cte !== '8bit' && cte !== 'binary') {
      throw invalid('unsupported Content-Transfer-Encoding');
    }

    // Part body, up to the next delimiter.
    const start = pos;
    let next: number;
    if (startsWithDash(pos) && matchAfter(pos + dash.length) === 1) {
      next = pos; // empty body: the delimiter line follows the blank line directly
      parts.push({ headers, body: buf.subarray(start, start) });
    } else {
      const nlDash = Buffer.concat([nl, dash]);
      let from = pos;
      for (;;) {
        const at = buf.indexOf(nlDash, from);
        if (at < 0) throw invalid('unterminated part');
        if (matchAfter(at + nlDash.length) === 1) {
          parts.push({ headers, body: buf.subarray(start, at) });
          next = at + nl.length;
          break;
        }
        from = at + 1;
      }
    }

    // The delimiter line that ended this part: another part, or the end.
    pos = next;
    const end = lineEnd(pos);
    if (isDelimiterLine(pos, end, false)) {
      pos = end;
      continue;
    }
    if (isFinalLine(pos, end, false)) return parts;
    throw invalid('malformed delimiter line');
  }
}
