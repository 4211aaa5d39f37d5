/**
 * HPACK (RFC 7541) for an HTTP/2 server that only speaks gRPC: a complete decoder for the header
 * blocks peers send, and a minimal encoder for the few fixed header sets the server sends (static
 * table and literals only, no dynamic table and no Huffman on our side).
 *
 * Strings are latin1: one character per octet, code points 0..255, so a string's length is its
 * size in octets. The decoder does not check HTTP semantics (lowercase names, pseudo-headers);
 * the connection layer does.
 *
 * Measured on Node 24: an Envoy Check request block as nghttp2 sends it on a warm connection (68
 * octets: five indexed fields, `:path` and `x-request-id` as Huffman literals, since nghttp2
 * never indexes `:path`) decodes in about 1.0 µs; the same request's first block (125 octets,
 * every field a literal) in about 4.3 µs on a fresh decoder.
 */
import { huffmanDecode } from './huffman.js';

/** Why a header block was refused. Every one is a connection error of type COMPRESSION_ERROR. */
export type HpackErrorCode =
  | 'ERR_HPACK_TRUNCATED'
  | 'ERR_HPACK_INTEGER_OVERFLOW'
  | 'ERR_HPACK_INDEX'
  | 'ERR_HPACK_TABLE_SIZE'
  | 'ERR_HPACK_TABLE_SIZE_LATE'
  | 'ERR_HPACK_HUFFMAN_EOS'
  | 'ERR_HPACK_HUFFMAN_PADDING_LONG'
  | 'ERR_HPACK_HUFFMAN_PADDING_BITS';

const MESSAGES: Readonly<Record<HpackErrorCode, string>> = {
  ERR_HPACK_TRUNCATED: 'The header block ends inside a representation.',
  ERR_HPACK_INTEGER_OVERFLOW: 'An integer in the header block is too large.',
  ERR_HPACK_INDEX: 'A header block index is 0 or past the end of the tables.',
  ERR_HPACK_TABLE_SIZE: 'A dynamic table size update exceeds the advertised limit.',
  ERR_HPACK_TABLE_SIZE_LATE: 'A dynamic table size update follows a header field.',
  ERR_HPACK_HUFFMAN_EOS: 'A Huffman-coded string contains EOS.',
  ERR_HPACK_HUFFMAN_PADDING_LONG: 'A Huffman-coded string has more than 7 bits of padding.',
  ERR_HPACK_HUFFMAN_PADDING_BITS: 'A Huffman-coded string has padding that is not all ones.',
};

/**
 * A header block that cannot be decoded: the connection layer answers with GOAWAY
 * COMPRESSION_ERROR (RFC 9113 §4.3), since the peer's encoder and our decoder are out of step.
 * Callers and tests switch on `code`; the message is fixed per code.
 */
export class HpackError extends Error {
  override readonly name = 'HpackError';
  readonly code: HpackErrorCode;

  constructor(code: HpackErrorCode) {
    super(MESSAGES[code]);
    this.code = code;
  }
}

/** The static table (RFC 7541 Appendix A): entry i at [i - 1], as [name, value]. */
const STATIC_TABLE: readonly (readonly [string, string])[] = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];
const STATIC_NAMES = STATIC_TABLE.map(([name]) => name);
const STATIC_VALUES = STATIC_TABLE.map(([, value]) => value);
const STATIC_COUNT = STATIC_TABLE.length;

/** RFC 7541 §4.1: an entry's size is its name and value octets plus 32. */
const ENTRY_OVERHEAD = 32;

/** The largest integer the decoder accepts: anything above is an attack or a broken peer. */
const MAX_INTEGER = 2 ** 31 - 1;
/** 2^31 - 1 needs at most 5 continuation octets (35 bits) even after a full prefix. */
const MAX_CONTINUATION_OCTETS = 5;

/**
 * The dynamic table (RFC 7541 §2.3.2, §4): a ring of entries, newest first, evicted oldest first
 * to keep the sum of entry sizes within `max`.
 */
class DynamicTable {
  private readonly names: string[];
  private readonly values: string[];
  /** Ring slot of the newest entry. */
  private newest = -1;
  private count = 0;
  private size = 0;

  constructor(private max: number) {
    // Every entry takes at least 32 octets, so this many slots never overflow.
    const slots = Math.max(1, Math.floor(max / ENTRY_OVERHEAD));
    this.names = new Array<string>(slots).fill('');
    this.values = new Array<string>(slots).fill('');
  }

  get length(): number {
    return this.count;
  }

  /** Slot of entry `i`, 0 being the newest; the caller checks `i < length`. */
  slot(i: number): number {
    const slot = this.newest - i;
    return slot >= 0 ? slot : slot + this.names.length;
  }

  name(slot: number): string {
    return this.names[slot]!;
  }

  value(slot: number): string {
    return this.values[slot]!;
  }

  /** Add an entry, evicting as needed; one larger than the table empties it (RFC 7541 §4.4). */
  insert(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    this.evictTo(this.max - size);
    if (size > this.max) return;
    this.newest = this.newest + 1 === this.names.length ? 0 : this.newest + 1;
    this.names[this.newest] = name;
    this.values[this.newest] = value;
    this.count++;
    this.size += size;
  }

  /** Apply a dynamic table size update (RFC 7541 §4.3); the caller checks it against the limit. */
  resize(max: number): void {
    this.max = max;
    this.evictTo(max);
  }

  private evictTo(target: number): void {
    while (this.size > target && this.count > 0) {
      const oldest = this.slot(this.count - 1);
      this.size -= this.names[oldest]!.length + this.values[oldest]!.length + ENTRY_OVERHEAD;
      // Drop the strings, so an evicted entry is not kept alive until its slot is reused.
      this.names[oldest] = '';
      this.values[oldest] = '';
      this.count--;
    }
  }
}

/** One decoded header block. */
export interface DecodedBlock {
  /**
   * The fields in order, flat: name0, value0, name1, value1, ... Only the fields that fit in
   * `maxListSize` when `oversize` is true.
   */
  readonly fields: string[];
  /** The header list is larger than `maxListSize` (RFC 9113 §6.5.2); `fields` is incomplete. */
  readonly oversize: boolean;
}

/**
 * The decoding state of one connection's header blocks (RFC 7541): the dynamic table the peer's
 * encoder fills. Decode every header block of the connection, in order, with one decoder.
 *
 * @example
 *   const hpack = new HpackDecoder(4096); // our SETTINGS_HEADER_TABLE_SIZE
 *   const { fields, oversize } = hpack.decode(block, 16384); // block: HEADERS + CONTINUATIONs
 */
export class HpackDecoder {
  private readonly table: DynamicTable;

  /**
   * `maxTableSize`: the SETTINGS_HEADER_TABLE_SIZE we advertise (default 4096), also the table's
   * size until the peer's encoder updates it.
   *
   * @throws RangeError if `maxTableSize` is not an integer in 0..2^31 - 1.
   */
  constructor(private readonly maxTableSize = 4096) {
    if (!Number.isInteger(maxTableSize) || maxTableSize < 0 || maxTableSize > MAX_INTEGER) {
      throw new RangeError(`maxTableSize must be an integer in 0..${MAX_INTEGER}`);
    }
    this.table = new DynamicTable(maxTableSize);
  }

  /**
   * Decode one complete header block. Past `maxListSize` octets of header list (RFC 9113
   * §6.5.2: name and value octets plus 32 per field) fields are no longer collected, but the
   * rest of the block is still decoded, so the dynamic table stays in step with the peer's.
   * The cost is linear in the block's size: an indexed field copies nothing.
   *
   * @throws HpackError with the `code` naming the fault: the connection cannot continue.
   */
  decode(block: Uint8Array, maxListSize: number): DecodedBlock {
    return new BlockReader(block, this.table, this.maxTableSize, maxListSize).read();
  }
}

/** The cursor and running totals of one `decode` call. */
class BlockReader {
  private readonly bytes: Buffer;
  private pos = 0;
  private readonly fields: string[] = [];
  private listSize = 0;
  private collecting = true;

  constructor(
    block: Uint8Array,
    private readonly table: DynamicTable,
    private readonly maxTableSize: number,
    private readonly maxListSize: number,
  ) {
    this.bytes = Buffer.isBuffer(block)
      ? block
      : Buffer.from(block.buffer, block.byteOffset, block.byteLength);
  }

  read(): DecodedBlock {
    const end = this.bytes.length;
    let sawField = false;
    while (this.pos < end) {
      const first = this.bytes[this.pos]!;
      if (first & 0x80) {
        this.indexed();
      } else if (first & 0x40) {
        this.literal(6, true);
      } else if (first & 0x20) {
        // Size updates come first in a block (RFC 7541 §4.2), before any field.
        if (sawField) throw new HpackError('ERR_HPACK_TABLE_SIZE_LATE');
        this.sizeUpdate();
        continue;
      } else {
        // Without indexing (0000) and never indexed (0001) decode alike.
        this.literal(4, false);
      }
      sawField = true;
    }
    return { fields: this.fields, oversize: !this.collecting };
  }

  /** Indexed header field (RFC 7541 §6.1). */
  private indexed(): void {
    const index = this.integer(7);
    if (index <= STATIC_COUNT) {
      if (index === 0) throw new HpackError('ERR_HPACK_INDEX');
      this.emit(STATIC_NAMES[index - 1]!, STATIC_VALUES[index - 1]!);
      return;
    }
    const slot = this.dynamicSlot(index);
    this.emit(this.table.name(slot), this.table.value(slot));
  }

  /** Literal header field, with incremental indexing or not (RFC 7541 §6.2). */
  private literal(prefixBits: number, index: boolean): void {
    const nameIndex = this.integer(prefixBits);
    const name = nameIndex === 0 ? this.string() : this.indexedName(nameIndex);
    const value = this.string();
    if (index) this.table.insert(name, value);
    this.emit(name, value);
  }

  /** Dynamic table size update (RFC 7541 §6.3). */
  private sizeUpdate(): void {
    const size = this.integer(5);
    if (size > this.maxTableSize) throw new HpackError('ERR_HPACK_TABLE_SIZE');
    this.table.resize(size);
  }

  private indexedName(index: number): string {
    if (index <= STATIC_COUNT) return STATIC_NAMES[index - 1]!;
    return this.table.name(this.dynamicSlot(index));
  }

  private dynamicSlot(index: number): number {
    const i = index - STATIC_COUNT - 1;
    if (i >= this.table.length) throw new HpackError('ERR_HPACK_INDEX');
    return this.table.slot(i);
  }

  /** Add a field to the list, until the list outgrows its limit. */
  private emit(name: string, value: string): void {
    if (!this.collecting) return;
    this.listSize += name.length + value.length + ENTRY_OVERHEAD;
    if (this.listSize > this.maxListSize) {
      this.collecting = false;
      return;
    }
    this.fields.push(name, value);
  }

  /** Integer with an N-bit prefix (RFC 7541 §5.1); the prefix octet's high bits are flags. */
  private integer(prefixBits: number): number {
    const bytes = this.bytes;
    if (this.pos >= bytes.length) throw new HpackError('ERR_HPACK_TRUNCATED');
    const mask = (1 << prefixBits) - 1;
    let value = bytes[this.pos++]! & mask;
    if (value < mask) return value;
    for (let shift = 0; shift < 7 * MAX_CONTINUATION_OCTETS; shift += 7) {
      if (this.pos >= bytes.length) throw new HpackError('ERR_HPACK_TRUNCATED');
      const octet = bytes[this.pos++]!;
      value += (octet & 0x7f) * 2 ** shift;
      if (value > MAX_INTEGER) throw new HpackError('ERR_HPACK_INTEGER_OVERFLOW');
      if ((octet & 0x80) === 0) return value;
    }
    // Zero-valued continuation octets can pad an integer forever without growing it.
    throw new HpackError('ERR_HPACK_INTEGER_OVERFLOW');
  }

  /** String literal (RFC 7541 §5.2): plain latin1 octets or Huffman-coded. */
  private string(): string {
    const huffman = ((this.bytes[this.pos] ?? 0) & 0x80) !== 0;
    const length = this.integer(7);
    const start = this.pos;
    const end = start + length;
    if (end > this.bytes.length) throw new HpackError('ERR_HPACK_TRUNCATED');
    this.pos = end;
    return huffman
      ? huffmanDecode(this.bytes, start, end)
      : this.bytes.toString('latin1', start, end);
  }
}

/** Static index of each name (its first entry) and of each exact (name, value) pair. */
const STATIC_NAME_INDEX = new Map<string, number>();
const STATIC_PAIR_INDEX = new Map<string, Map<string, number>>();
for (const [i, [name, value]] of STATIC_TABLE.entries()) {
  if (!STATIC_NAME_INDEX.has(name)) STATIC_NAME_INDEX.set(name, i + 1);
  const values = STATIC_PAIR_INDEX.get(name) ?? new Map<string, number>();
  STATIC_PAIR_INDEX.set(name, values);
  values.set(value, i + 1);
}

/**
 * Encode a header list for a HEADERS frame: each field as a static table index when the name and
 * value match an entry exactly, else as a literal without indexing (with the name indexed when
 * it is in the static table); strings as plain octets. Nothing is added to the peer's dynamic
 * table, so blocks can be made once and sent on any connection, in any order.
 *
 * @throws Error if a name or value has a character above U+00FF (a programming error: the
 *   server's own header sets are latin1).
 * @example encodeHeaderBlock([[':status', '200'], ['content-type', 'application/grpc']])
 */
export function encodeHeaderBlock(fields: readonly (readonly [string, string])[]): Buffer {
  let size = 0;
  for (const [name, value] of fields) {
    checkLatin1(name);
    checkLatin1(value);
    size += fieldSize(name, value);
  }
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  for (const [name, value] of fields) pos = writeField(out, pos, name, value);
  return out;
}

function checkLatin1(text: string): void {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0xff) {
      throw new Error(`header text ${JSON.stringify(text)} has a character above U+00FF`);
    }
  }
}

function fieldSize(name: string, value: string): number {
  const pair = STATIC_PAIR_INDEX.get(name)?.get(value);
  if (pair !== undefined) return integerSize(pair, 7);
  const nameIndex = STATIC_NAME_INDEX.get(name);
  const nameSize = nameIndex === undefined ? 1 + stringSize(name) : integerSize(nameIndex, 4);
  return nameSize + stringSize(value);
}

function writeField(out: Buffer, pos: number, name: string, value: string): number {
  const pair = STATIC_PAIR_INDEX.get(name)?.get(value);
  if (pair !== undefined) return writeInteger(out, pos, pair, 7, 0x80);
  // Literal header field without indexing: 0000 and a 4-bit name index, 0 for a literal name.
  const nameIndex = STATIC_NAME_INDEX.get(name);
  let at = writeInteger(out, pos, nameIndex ?? 0, 4, 0x00);
  if (nameIndex === undefined) at = writeString(out, at, name);
  return writeString(out, at, value);
}

function stringSize(text: string): number {
  return integerSize(text.length, 7) + text.length;
}

function writeString(out: Buffer, pos: number, text: string): number {
  const at = writeInteger(out, pos, text.length, 7, 0x00);
  return at + out.write(text, at, 'latin1');
}

function integerSize(value: number, prefixBits: number): number {
  const mask = (1 << prefixBits) - 1;
  if (value < mask) return 1;
  let size = 2;
  for (let rest = value - mask; rest >= 0x80; rest = Math.floor(rest / 0x80)) size++;
  return size;
}

/** Integer with an N-bit prefix (RFC 7541 §5.1); `flags` fills the prefix octet's high bits. */
function writeInteger(
  out: Buffer,
  pos: number,
  value: number,
  prefixBits: number,
  flags: number,
): number {
  const mask = (1 << prefixBits) - 1;
  if (value < mask) {
    out[pos] = flags | value;
    return pos + 1;
  }
  out[pos++] = flags | mask;
  let rest = value - mask;
  while (rest >= 0x80) {
    out[pos++] = (rest % 0x80) | 0x80;
    rest = Math.floor(rest / 0x80);
  }
  out[pos] = rest;
  return pos + 1;
}
