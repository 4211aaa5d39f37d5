/**
 * A small, bounded reader for the tar archives inside OPA bundles.
 *
 * OPA writes plain ustar entries, PAX extended headers (`x`) for long names and, from other
 * tools, GNU long-name entries (`L`). Only regular files are returned; directories, links and
 * devices are skipped. Every size is bounded and every name is normalised and checked, so a
 * hostile archive cannot escape the bundle root or exhaust memory.
 */

const BLOCK = 512;

/** One regular file read from a tar archive. */
export interface TarEntry {
  /** Normalised path without a leading slash, segments joined by `/`. */
  readonly path: string;
  /** File content (a view into the archive buffer). */
  readonly data: Uint8Array;
}

/** Bounds applied while reading an archive. */
export interface TarLimits {
  /** Largest single file, in bytes. */
  readonly maxFileBytes: number;
  /** Most entries (of any type) accepted. */
  readonly maxEntries: number;
}

/** Defaults: generous for policy bundles, small enough to refuse a tar bomb. */
export const DEFAULT_TAR_LIMITS: TarLimits = Object.freeze({
  maxFileBytes: 64 * 1024 * 1024,
  maxEntries: 10_000,
});

/** Raised for a malformed or hostile archive; the loader wraps it in `ERR_POLICY_LOAD`. */
export class TarFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TarFormatError';
  }
}

const decoder = new TextDecoder('utf-8', { fatal: false });

function cString(buf: Uint8Array, start: number, length: number): string {
  let end = start;
  const limit = start + length;
  while (end < limit && buf[end] !== 0) end++;
  return decoder.decode(buf.subarray(start, end));
}

/** Parses a numeric header field: octal text, or GNU base-256 when the high bit is set. */
function numeric(buf: Uint8Array, start: number, length: number, what: string): number {
  const first = buf[start] ?? 0;
  if (first & 0x80) {
    // Base-256: big-endian two's complement with the marker bit cleared. Negative is invalid.
    if (first & 0x40) throw new TarFormatError(`negative ${what} in tar header`);
    let value = first & 0x3f;
    for (let i = start + 1; i < start + length; i++) {
      value = value * 256 + (buf[i] ?? 0);
      if (value > Number.MAX_SAFE_INTEGER)
        throw new TarFormatError(`${what} too large in tar header`);
    }
    return value;
  }
  const text = cString(buf, start, length).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarFormatError(`invalid ${what} in tar header`);
  const value = parseInt(text, 8);
  if (!Number.isSafeInteger(value)) throw new TarFormatError(`${what} too large in tar header`);
  return value;
}

function checksumOk(header: Uint8Array): boolean {
  const stored = numeric(header, 148, 8, 'checksum');
  let unsigned = 0;
  for (let i = 0; i < BLOCK; i++) unsigned += i >= 148 && i < 156 ? 0x20 : (header[i] ?? 0);
  return stored === unsigned;
}

function isZeroBlock(buf: Uint8Array, offset: number): boolean {
  for (let i = offset; i < offset + BLOCK; i++) if (buf[i] !== 0) return false;
  return true;
}

/** Parses PAX records (`"<len> <key>=<value>\n"`), keeping only the keys we honour. */
function parsePax(data: Uint8Array): { path?: string; size?: number } {
  const out: { path?: string; size?: number } = {};
  let offset = 0;
  while (offset < data.length) {
    let space = offset;
    while (space < data.length && data[space] !== 0x20) space++;
    const length = Number(decoder.decode(data.subarray(offset, space)));
    if (
      !Number.isSafeInteger(length) ||
      length <= space - offset ||
      offset + length > data.length
    ) {
      throw new TarFormatError('invalid PAX record');
    }
    const record = decoder.decode(data.subarray(space + 1, offset + length - 1));
    const eq = record.indexOf('=');
    if (eq < 0) throw new TarFormatError('invalid PAX record');
    const key = record.slice(0, eq);
    const value = record.slice(eq + 1);
    if (key === 'path') out.path = value;
    else if (key === 'size') {
      if (!/^\d+$/.test(value)) throw new TarFormatError('invalid PAX size');
      out.size = Number(value);
    }
    offset += length;
  }
  return out;
}

/**
 * Normalises an archive member name to a relative `a/b/c` path, or throws when it would
 * escape the archive root (`..` segments), or holds NUL or backslashes.
 */
export function normaliseTarPath(name: string): string {
  if (name.includes('\0') || name.includes('\\'))
    throw new TarFormatError(`unsafe path in bundle: ${JSON.stringify(name)}`);
  const parts: string[] = [];
  for (const segment of name.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..')
      throw new TarFormatError(`path traversal in bundle: ${JSON.stringify(name)}`);
    parts.push(segment);
  }
  return parts.join('/');
}

/**
 * Reads every regular file of an (uncompressed) tar archive.
 *
 * @throws TarFormatError on a truncated, corrupt or hostile archive, or when a limit is exceeded.
 */
export function readTar(archive: Uint8Array, limits: TarLimits = DEFAULT_TAR_LIMITS): TarEntry[] {
  const entries: TarEntry[] = [];
  let offset = 0;
  let count = 0;
  let pendingPath: string | undefined;
  let pendingSize: number | undefined;

  while (offset + BLOCK <= archive.length) {
    if (isZeroBlock(archive, offset)) break; // end-of-archive marker
    if (++count > limits.maxEntries)
      throw new TarFormatError(`bundle has more than ${limits.maxEntries} entries`);
    const header = archive.subarray(offset, offset + BLOCK);
    if (!checksumOk(header))
      throw new TarFormatError(`bad tar header checksum at offset ${offset}`);

    const type = String.fromCharCode(header[156] ?? 0);
    const isMeta = type === 'x' || type === 'g' || type === 'L' || type === 'K';
    const size =
      !isMeta && pendingSize !== undefined ? pendingSize : numeric(header, 124, 12, 'size');
    const dataStart = offset + BLOCK;
    if (size > limits.maxFileBytes)
      throw new TarFormatError(`bundle entry larger than ${limits.maxFileBytes} bytes`);
    if (dataStart + size > archive.length) throw new TarFormatError('truncated tar archive');
    const data = archive.subarray(dataStart, dataStart + size);
    offset = dataStart + Math.ceil(size / BLOCK) * BLOCK;

    switch (type) {
      case 'x': {
        // PAX header for the next entry only.
        const pax = parsePax(data);
        pendingPath = pax.path ?? pendingPath;
        pendingSize = pax.size;
        continue;
      }
      case 'L':
        // GNU long name for the next entry.
        pendingPath = cString(data, 0, data.length);
        pendingSize = undefined;
        continue;
      case 'g': // PAX global header: nothing we honour
      case 'K': // GNU long link name
        continue;
      default:
        break;
    }

    let name = pendingPath;
    if (name === undefined) {
      name = cString(header, 0, 100);
      const magic = cString(header, 257, 6);
      const prefix = magic.startsWith('ustar') ? cString(header, 345, 155) : '';
      if (prefix !== '') name = `${prefix}/${name}`;
    }
    pendingPath = undefined;
    pendingSize = undefined;

    // Check every name, even of skipped entries: a traversal attempt marks the archive hostile.
    const path = normaliseTarPath(name);
    if (type === '0' || type === '\0' || type === '7') {
      if (path === '') throw new TarFormatError('bundle entry with an empty name');
      entries.push({ path, data });
    }
    // Directories ('5'), links ('1', '2') and devices are ignored: bundles never need them.
  }
  return entries;
}
