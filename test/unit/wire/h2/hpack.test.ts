/**
 * The HPACK decoder and encoder (src/wire/h2/hpack.ts, huffman.ts): the RFC 7541 Appendix C
 * examples; the Huffman table against Appendix B; a differential against nghttp2 (node:http2's
 * client encodes thousands of random requests on one connection, a raw TCP peer captures every
 * header block and decodes it, and the client must accept the encoder's responses); the encoder's
 * exact bytes; every refusal, by code; the decompression bomb; eviction.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import http2 from 'node:http2';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import {
  type DecodedBlock,
  encodeHeaderBlock,
  HpackDecoder,
  HpackError,
  type HpackErrorCode,
} from '../../../../src/wire/h2/hpack.js';
import {
  EOS,
  HUFFMAN_CODE_LENGTHS,
  HUFFMAN_CODES,
  huffmanDecode,
} from '../../../../src/wire/h2/huffman.js';
import { Gen, prng } from '../../../support/random-check-request.js';

type Field = readonly [string, string];

/** Octets from RFC-style hex dumps ("8286 8441 ..."). */
function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

function pairs(block: DecodedBlock): Field[] {
  const out: Field[] = [];
  for (let i = 0; i < block.fields.length; i += 2)
    out.push([block.fields[i]!, block.fields[i + 1]!]);
  return out;
}

function decodeAll(decoder: HpackDecoder, block: Uint8Array): Field[] {
  const decoded = decoder.decode(block, Number.MAX_SAFE_INTEGER);
  assert.equal(decoded.oversize, false);
  return pairs(decoded);
}

function refuses(block: Uint8Array, code: HpackErrorCode, decoder = new HpackDecoder()): void {
  assert.throws(
    () => decoder.decode(block, Number.MAX_SAFE_INTEGER),
    (err: unknown) => err instanceof HpackError && err.code === code,
  );
}

/** HPACK integer with an N-bit prefix, for building test blocks. */
function int(value: number, prefixBits: number, flags = 0): number[] {
  const mask = (1 << prefixBits) - 1;
  if (value < mask) return [flags | value];
  const out = [flags | mask];
  let rest = value - mask;
  for (; rest >= 0x80; rest = Math.floor(rest / 0x80)) out.push((rest % 0x80) | 0x80);
  out.push(rest);
  return out;
}

/** A plain (H = 0) string literal. */
function str(text: string): number[] {
  return [...int(text.length, 7), ...Buffer.from(text, 'latin1')];
}

/** Huffman-code `text` with the table under test (a test-side encoder). */
function huffman(text: string): Buffer {
  const bits: number[] = [];
  for (const octet of Buffer.from(text, 'latin1')) {
    const code = HUFFMAN_CODES[octet]!;
    for (let bit = HUFFMAN_CODE_LENGTHS[octet]! - 1; bit >= 0; bit--)
      bits.push(Math.floor(code / 2 ** bit) & 1);
  }
  while (bits.length % 8 !== 0) bits.push(1);
  const out = Buffer.alloc(bits.length / 8);
  bits.forEach((bit, i) => {
    if (bit) out[i >> 3]! |= 0x80 >> (i & 7);
  });
  return out;
}

// --- RFC 7541 Appendix C ------------------------------------------------------------------------

test('C.2.1: literal header field with indexing', () => {
  const decoder = new HpackDecoder();
  const block = hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572');
  assert.deepEqual(decodeAll(decoder, block), [['custom-key', 'custom-header']]);
  // The entry was added: it is index 62 now.
  assert.deepEqual(decodeAll(decoder, hex('be')), [['custom-key', 'custom-header']]);
});

test('C.2.2: literal header field without indexing', () => {
  const decoder = new HpackDecoder();
  assert.deepEqual(decodeAll(decoder, hex('040c 2f73 616d 706c 652f 7061 7468')), [
    [':path', '/sample/path'],
  ]);
  refuses(hex('be'), 'ERR_HPACK_INDEX', decoder);
});

test('C.2.3: literal header field never indexed', () => {
  const decoder = new HpackDecoder();
  assert.deepEqual(decodeAll(decoder, hex('1008 7061 7373 776f 7264 0673 6563 7265 74')), [
    ['password', 'secret'],
  ]);
  refuses(hex('be'), 'ERR_HPACK_INDEX', decoder);
});

test('C.2.4: indexed header field', () => {
  assert.deepEqual(decodeAll(new HpackDecoder(), hex('82')), [[':method', 'GET']]);
});

const C3_C4_EXPECTED: Field[][] = [
  [
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', '/'],
    [':authority', 'www.example.com'],
  ],
  [
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', '/'],
    [':authority', 'www.example.com'],
    ['cache-control', 'no-cache'],
  ],
  [
    [':method', 'GET'],
    [':scheme', 'https'],
    [':path', '/index.html'],
    [':authority', 'www.example.com'],
    ['custom-key', 'custom-value'],
  ],
];

test('C.3: three requests on one decoder use the dynamic table the earlier ones filled', () => {
  const decoder = new HpackDecoder();
  const blocks = [
    '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
    '8286 84be 5808 6e6f 2d63 6163 6865',
    '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
  ];
  for (const [i, block] of blocks.entries()) {
    assert.deepEqual(decodeAll(decoder, hex(block)), C3_C4_EXPECTED[i]);
  }
});

test('C.4: the same requests with Huffman-coded strings', () => {
  const decoder = new HpackDecoder();
  const blocks = [
    '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff',
    '8286 84be 5886 a8eb 1064 9cbf',
    '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
  ];
  for (const [i, block] of blocks.entries()) {
    assert.deepEqual(decodeAll(decoder, hex(block)), C3_C4_EXPECTED[i]);
  }
});

test('C.6: three responses with Huffman in a 256-octet table, with evictions', () => {
  const decoder = new HpackDecoder(256);
  const blocks = [
    `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
     2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`,
    '4883 640e ffc1 c0bf',
    `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
     77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
     9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
  ];
  const location: Field = ['location', 'https://www.example.com'];
  const expected: Field[][] = [
    [
      [':status', '302'],
      ['cache-control', 'private'],
      ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'],
      location,
    ],
    [
      [':status', '307'],
      ['cache-control', 'private'],
      ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'],
      location,
    ],
    [
      [':status', '200'],
      ['cache-control', 'private'],
      ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'],
      location,
      ['content-encoding', 'gzip'],
      ['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'],
    ],
  ];
  for (const [i, block] of blocks.entries()) {
    assert.deepEqual(decodeAll(decoder, hex(block)), expected[i]);
  }
  // After C.6.3 the table holds set-cookie (62), content-encoding (63) and the new date (64);
  // ':status: 302' and the rest were evicted.
  assert.deepEqual(decodeAll(decoder, hex('be bf c0')), [
    expected[2]![5],
    expected[2]![4],
    expected[2]![2],
  ]);
  refuses(hex('c1'), 'ERR_HPACK_INDEX', decoder);
});

// --- The Huffman code ---------------------------------------------------------------------------

test('the Huffman code is exactly RFC 7541 Appendix B', () => {
  assert.equal(HUFFMAN_CODE_LENGTHS.length, 257);
  // A complete prefix code: the Kraft sum is exactly 1.
  const kraft = HUFFMAN_CODE_LENGTHS.reduce((sum, length) => sum + 2 ** -length, 0);
  assert.equal(kraft, 1);
  // Spot checks, straight from the appendix.
  assert.equal(HUFFMAN_CODES[0x30], 0x0); // '0' |00000
  assert.equal(HUFFMAN_CODES[0x61], 0x3); // 'a' |00011
  assert.equal(HUFFMAN_CODES[0x00], 0x1ff8); // |11111111|11000
  assert.equal(HUFFMAN_CODES[0xff], 0x3ffffee); // |11111111|11111111|11111111|101110
  assert.equal(HUFFMAN_CODES[EOS], 0x3fffffff); // |11111111|11111111|11111111|111111
  // The whole table: SHA-256 of "symbol code-hex length" lines, computed from Appendix B (as
  // transcribed in golang.org/x/net/http2/hpack tables.go).
  const lines = HUFFMAN_CODES.map(
    (code, s) => `${s} ${code.toString(16)} ${HUFFMAN_CODE_LENGTHS[s]}`,
  );
  assert.equal(
    createHash('sha256').update(lines.join('\n')).digest('hex'),
    '379833a3c2006b415da9e2244f14c2e9e82af0b156cbd2b082b37ce6566e1667',
  );
});

test('every octet decodes from its Huffman code, alone and in every bit alignment', () => {
  for (let octet = 0; octet < 256; octet++) {
    for (const prefix of ['', 'a', '0a', 'aaa', '%', '\u00ff']) {
      const text = prefix + String.fromCharCode(octet) + prefix;
      const coded = huffman(text);
      assert.equal(huffmanDecode(coded, 0, coded.length), text);
    }
  }
  const all = Array.from({ length: 4096 }, (_, i) => String.fromCharCode((i * 7) % 256)).join('');
  const coded = huffman(all);
  assert.equal(huffmanDecode(coded, 0, coded.length), all);
  assert.equal(huffmanDecode(Buffer.alloc(0), 0, 0), '');
});

// --- Refusals -----------------------------------------------------------------------------------

test('index 0 is refused', () => {
  refuses(hex('80'), 'ERR_HPACK_INDEX');
});

test('an index past the end of the static and dynamic tables is refused', () => {
  refuses(hex('be'), 'ERR_HPACK_INDEX'); // 62 with an empty dynamic table
  refuses(hex('7e 0161'), 'ERR_HPACK_INDEX'); // the same as a literal's name index
  const decoder = new HpackDecoder();
  decodeAll(decoder, Buffer.from([0x40, ...str('a'), ...str('b')]));
  assert.deepEqual(decodeAll(decoder, hex('be')), [['a', 'b']]);
  refuses(hex('bf'), 'ERR_HPACK_INDEX', decoder);
  refuses(Buffer.from(int(2 ** 31 - 1, 7, 0x80)), 'ERR_HPACK_INDEX', decoder);
});

test('a table size update above the advertised maximum is refused', () => {
  decodeAll(new HpackDecoder(4096), Buffer.from(int(4096, 5, 0x20)));
  refuses(Buffer.from(int(4097, 5, 0x20)), 'ERR_HPACK_TABLE_SIZE', new HpackDecoder(4096));
  refuses(Buffer.from(int(257, 5, 0x20)), 'ERR_HPACK_TABLE_SIZE', new HpackDecoder(256));
});

test('a table size update after a field is refused; several before the first field are not', () => {
  refuses(Buffer.from([0x82, ...int(0, 5, 0x20)]), 'ERR_HPACK_TABLE_SIZE_LATE');
  const decoder = new HpackDecoder();
  const block = [...int(0, 5, 0x20), ...int(100, 5, 0x20), ...int(4096, 5, 0x20), 0x82];
  assert.deepEqual(decodeAll(decoder, Buffer.from(block)), [[':method', 'GET']]);
});

test('an integer above 2^31 - 1 or with more than 5 continuation octets is refused', () => {
  refuses(hex('1f ffff ffff ffff ffff ffff'), 'ERR_HPACK_INTEGER_OVERFLOW');
  // A string length of 2^31 (the block is short: the length must be refused first).
  refuses(Buffer.from([0x00, ...int(2 ** 31, 7)]), 'ERR_HPACK_INTEGER_OVERFLOW');
  // 2^31 - 1 itself is a valid integer: the string is merely truncated.
  refuses(Buffer.from([0x00, ...int(2 ** 31 - 1, 7)]), 'ERR_HPACK_TRUNCATED');
  // Zero continuation octets do not grow the value but must not go on forever.
  refuses(hex('1f 8080 8080 8000'), 'ERR_HPACK_INTEGER_OVERFLOW');
  // Five continuation octets are fine: name index 15 (accept-charset), value 'a'.
  assert.deepEqual(decodeAll(new HpackDecoder(), hex('0f 8080 8080 00 0161')), [
    ['accept-charset', 'a'],
  ]);
});

test('a string longer than the rest of the block is refused', () => {
  refuses(Buffer.from([0x00, 0x0a, ...Buffer.from('abc')]), 'ERR_HPACK_TRUNCATED');
  refuses(Buffer.from([0x00, 0x8a, 0xff, 0xff, 0xff]), 'ERR_HPACK_TRUNCATED'); // Huffman too
});

test('a block that ends inside a representation is refused', () => {
  refuses(hex('ff'), 'ERR_HPACK_TRUNCATED'); // integer continuation missing
  refuses(hex('ff 80'), 'ERR_HPACK_TRUNCATED');
  refuses(hex('40'), 'ERR_HPACK_TRUNCATED'); // literal name missing
  refuses(Buffer.from([0x40, ...str('name')]), 'ERR_HPACK_TRUNCATED'); // value missing
  refuses(hex('04'), 'ERR_HPACK_TRUNCATED'); // indexed name, value missing
});

/** A literal field (without indexing, name 'v') whose value is the Huffman string `coded`. */
function huffmanValue(coded: number[]): Buffer {
  return Buffer.from([0x00, ...str('v'), ...int(coded.length, 7, 0x80), ...coded]);
}

test('a Huffman string containing EOS is refused', () => {
  refuses(huffmanValue([0xff, 0xff, 0xff, 0xff, 0xfc]), 'ERR_HPACK_HUFFMAN_EOS'); // EOS, '?'
  refuses(huffmanValue([0x1f, 0xff, 0xff, 0xff, 0xff]), 'ERR_HPACK_HUFFMAN_EOS'); // 'a', EOS
});

test('Huffman padding of 8 bits or more is refused', () => {
  refuses(huffmanValue([0xff]), 'ERR_HPACK_HUFFMAN_PADDING_LONG');
  refuses(huffmanValue([0x1f, 0xff]), 'ERR_HPACK_HUFFMAN_PADDING_LONG'); // 'a' + 11 bits
  refuses(huffmanValue([0x1f, 0xff, 0xff, 0xff]), 'ERR_HPACK_HUFFMAN_PADDING_LONG'); // + 27
  // 7 bits of padding is fine: '0' then '0' (5 + 5 bits), then 6 ones.
  assert.deepEqual(decodeAll(new HpackDecoder(), huffmanValue([0x00, 0x3f])), [['v', '00']]);
});

test('Huffman padding that is not all ones is refused', () => {
  refuses(huffmanValue([0x00]), 'ERR_HPACK_HUFFMAN_PADDING_BITS'); // '0', then 000
  refuses(huffmanValue([0x1e]), 'ERR_HPACK_HUFFMAN_PADDING_BITS'); // 'a', then 110
  // Padding that is a cut-off code other than EOS's prefix: 'a' then the first 3 bits of 'A'.
  refuses(huffmanValue([0x1c]), 'ERR_HPACK_HUFFMAN_PADDING_BITS');
});

test('a decoder with a table size that is not an integer in 0..2^31 - 1 is refused', () => {
  for (const size of [-1, 0.5, 2 ** 31, Number.NaN]) {
    assert.throws(() => new HpackDecoder(size), RangeError);
  }
  // 0 is valid: nothing is ever added.
  const decoder = new HpackDecoder(0);
  assert.deepEqual(decodeAll(decoder, Buffer.from([0x40, ...str('a'), ...str('b')])), [['a', 'b']]);
  refuses(hex('be'), 'ERR_HPACK_INDEX', decoder);
});

test('HpackError carries a stable code and a fixed message', () => {
  const err = new HpackError('ERR_HPACK_INDEX');
  assert.equal(err.name, 'HpackError');
  assert.equal(err.code, 'ERR_HPACK_INDEX');
  assert.ok(err instanceof Error);
});

// --- Bomb and eviction --------------------------------------------------------------------------

test('a decompression bomb stops collecting at maxListSize and keeps the table in step', () => {
  const decoder = new HpackDecoder();
  const big = 'x'.repeat(4000);
  const bomb = Buffer.concat([
    Buffer.from([0x40, ...str('b'), ...str(big)]),
    Buffer.alloc(10_000, 0xbe),
    // A field added after the list overflowed must still reach the table.
    Buffer.from([0x40, ...str('c'), ...str('d')]),
  ]);
  const decoded = decoder.decode(bomb, 65_536);
  assert.equal(decoded.oversize, true);
  const collected = pairs(decoded);
  const size = collected.reduce((sum, [n, v]) => sum + n.length + v.length + 32, 0);
  assert.ok(size <= 65_536, `collected ${size} octets`);
  assert.ok(collected.length > 0 && collected.length <= 16, `${collected.length} fields`);
  for (const field of collected) assert.deepEqual(field, ['b', big]);
  // The next block sees both entries, newest first.
  assert.deepEqual(decodeAll(decoder, hex('be bf')), [
    ['c', 'd'],
    ['b', big],
  ]);
});

test('maxListSize counts name, value and 32 octets per field (RFC 9113 §6.5.2)', () => {
  const block = hex('82 84'); // ':method: GET' (7 + 3 + 32 = 42), ':path: /' (5 + 1 + 32 = 38)
  assert.deepEqual(new HpackDecoder().decode(block, 80), {
    fields: [':method', 'GET', ':path', '/'],
    oversize: false,
  });
  assert.deepEqual(new HpackDecoder().decode(block, 79), {
    fields: [':method', 'GET'],
    oversize: true,
  });
});

test('entries that overflow the table evict the oldest first', () => {
  const decoder = new HpackDecoder(100);
  const add = (name: string, value: string) =>
    decodeAll(decoder, Buffer.from([0x40, ...str(name), ...str(value)]));
  add('a', 'x'.repeat(10)); // 43 octets
  add('b', 'y'.repeat(10)); // 86
  assert.deepEqual(decodeAll(decoder, hex('be bf')), [
    ['b', 'y'.repeat(10)],
    ['a', 'x'.repeat(10)],
  ]);
  add('c', 'z'.repeat(10)); // 129 > 100: 'a' goes
  assert.deepEqual(decodeAll(decoder, hex('be bf')), [
    ['c', 'z'.repeat(10)],
    ['b', 'y'.repeat(10)],
  ]);
  refuses(hex('c0'), 'ERR_HPACK_INDEX', decoder);
});

test('an entry larger than the table empties it and is not added (RFC 7541 §4.4)', () => {
  const decoder = new HpackDecoder(100);
  decodeAll(decoder, Buffer.from([0x40, ...str('a'), ...str('x')]));
  const huge = 'y'.repeat(68); // 1 + 68 + 32 = 101
  // The field itself is still part of the header list.
  assert.deepEqual(decodeAll(decoder, Buffer.from([0x40, ...str('h'), ...str(huge)])), [
    ['h', huge],
  ]);
  refuses(hex('be'), 'ERR_HPACK_INDEX', decoder);
  // One octet smaller fits exactly.
  decodeAll(decoder, Buffer.from([0x40, ...str('h'), ...str(huge.slice(1))]));
  assert.deepEqual(decodeAll(decoder, hex('be')), [['h', huge.slice(1)]]);
});

test('a table size update evicts down to the new size', () => {
  const decoder = new HpackDecoder(4096);
  for (const name of ['a', 'b', 'c']) {
    decodeAll(decoder, Buffer.from([0x40, ...str(name), ...str('v')])); // 34 octets each
  }
  // Shrink to 70: only the newest two fit.
  assert.deepEqual(decodeAll(decoder, Buffer.from([...int(70, 5, 0x20), 0xbe, 0xbf])), [
    ['c', 'v'],
    ['b', 'v'],
  ]);
  refuses(hex('c0'), 'ERR_HPACK_INDEX', decoder);
  // To 0: empty; entries added afterwards are dropped at once.
  decodeAll(decoder, Buffer.from([...int(0, 5, 0x20), 0x40, ...str('d'), ...str('v')]));
  refuses(hex('be'), 'ERR_HPACK_INDEX', decoder);
});

// --- Encoder ------------------------------------------------------------------------------------

const LONG_MESSAGE = `denied: ${'the policy said no, '.repeat(15)}caf\u00e9`;

const ENCODED: readonly { fields: Field[]; bytes: Buffer }[] = [
  {
    fields: [
      [':status', '200'],
      ['content-type', 'application/grpc'],
    ],
    bytes: Buffer.concat([hex('88 0f10 10'), Buffer.from('application/grpc')]),
  },
  {
    fields: [['grpc-status', '0']],
    bytes: Buffer.from([0x00, ...str('grpc-status'), ...str('0')]),
  },
  { fields: [[':status', '415']], bytes: Buffer.from([0x08, ...str('415')]) },
  {
    fields: [['grpc-message', LONG_MESSAGE]],
    bytes: Buffer.from([0x00, ...str('grpc-message'), ...str(LONG_MESSAGE)]),
  },
  {
    fields: [
      [':method', 'POST'],
      ['accept-encoding', 'gzip, deflate'],
      ['www-authenticate', 'Bearer'],
      ['', ''],
    ],
    bytes: Buffer.from([0x83, 0x90, 0x0f, 0x2e, ...str('Bearer'), 0x00, 0x00, 0x00]),
  },
];

test('the encoder uses static indexes, literals without indexing and plain strings', () => {
  assert.ok(LONG_MESSAGE.length >= 200);
  for (const { fields, bytes } of ENCODED) {
    const block = encodeHeaderBlock(fields);
    assert.deepEqual(block, bytes, JSON.stringify(fields));
    assert.deepEqual(decodeAll(new HpackDecoder(), block), fields);
  }
});

test('the encoder refuses a character above U+00FF', () => {
  assert.throws(() => encodeHeaderBlock([['grpc-message', 'caf\u0100']]), /U\+00FF/);
  assert.throws(() => encodeHeaderBlock([['\u2603', 'v']]), /U\+00FF/);
});

// --- Differential against nghttp2 ---------------------------------------------------------------

const FRAME_HEADERS = 0x1;
const FRAME_SETTINGS = 0x4;
const FRAME_CONTINUATION = 0x9;
const FLAG_END_STREAM = 0x1;
const FLAG_ACK = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

function frame(type: number, flags: number, stream: number, payload: Uint8Array): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

const RESPONSE_HEADERS = encodeHeaderBlock([
  [':status', '200'],
  ['content-type', 'application/grpc'],
]);
const RESPONSE_TRAILERS = encodeHeaderBlock([
  ['grpc-status', '0'],
  ['grpc-message', LONG_MESSAGE],
]);
const RESPONSE_ONLY = encodeHeaderBlock([[':status', '200']]);

/** Streams whose response has trailers (the others: one HEADERS frame with END_STREAM). */
const withTrailers = (stream: number): boolean => stream % 3 === 0;

/** What the captured blocks used, so the differential can show it exercised each part. */
interface Coverage {
  indexedStatic: number;
  indexedDynamic: number;
  incremental: number;
  withoutIndexing: number;
  neverIndexed: number;
  sizeUpdates: number;
  plainStrings: number;
  huffmanStrings: number;
  /** Octets seen inside Huffman-coded strings. */
  readonly huffmanOctets: Set<number>;
}

/** Walk a block the decoder has already accepted, counting its representations. */
function survey(block: Buffer, coverage: Coverage): void {
  let pos = 0;
  const integer = (prefixBits: number): number => {
    const mask = (1 << prefixBits) - 1;
    let value = block[pos++]! & mask;
    if (value < mask) return value;
    for (let shift = 0; ; shift += 7) {
      const octet = block[pos++]!;
      value += (octet & 0x7f) * 2 ** shift;
      if ((octet & 0x80) === 0) return value;
    }
  };
  const string = (): void => {
    const coded = (block[pos]! & 0x80) !== 0;
    const length = integer(7);
    if (coded) {
      coverage.huffmanStrings++;
      for (const char of huffmanDecode(block, pos, pos + length))
        coverage.huffmanOctets.add(char.charCodeAt(0));
    } else {
      coverage.plainStrings++;
    }
    pos += length;
  };
  while (pos < block.length) {
    const first = block[pos]!;
    if (first & 0x80) {
      if (integer(7) > 61) coverage.indexedDynamic++;
      else coverage.indexedStatic++;
    } else if (first & 0x40) {
      coverage.incremental++;
      if (integer(6) === 0) string();
      string();
    } else if (first & 0x20) {
      coverage.sizeUpdates++;
      integer(5);
    } else {
      if (first & 0x10) coverage.neverIndexed++;
      else coverage.withoutIndexing++;
      if (integer(4) === 0) string();
      string();
    }
  }
}

/** What the raw peer saw. */
interface Capture {
  readonly blocks: Map<number, DecodedBlock>;
  readonly coverage: Coverage;
  continuations: number;
  largestBlock: number;
  /** What went wrong on the peer's side (a decoding error, a malformed frame). */
  failure?: unknown;
}

/**
 * The server side of one HTTP/2 connection, by hand: the preface, SETTINGS (with
 * `settings` as its payload) and ACKs, every HEADERS/CONTINUATION block decoded in order with one
 * HpackDecoder, each stream answered with the encoder's blocks. Everything else is ignored.
 */
function rawPeer(socket: Socket, decoder: HpackDecoder, settings: Buffer, capture: Capture) {
  let input = Buffer.alloc(0);
  let prefaceSeen = false;
  const fragments: Buffer[] = [];
  let blockStream = 0;
  const onBlock = (stream: number, block: Buffer): void => {
    capture.blocks.set(stream, decoder.decode(block, Number.MAX_SAFE_INTEGER));
    survey(block, capture.coverage);
    capture.largestBlock = Math.max(capture.largestBlock, block.length);
    if (withTrailers(stream)) {
      socket.write(frame(FRAME_HEADERS, FLAG_END_HEADERS, stream, RESPONSE_HEADERS));
      socket.write(
        frame(FRAME_HEADERS, FLAG_END_HEADERS | FLAG_END_STREAM, stream, RESPONSE_TRAILERS),
      );
    } else {
      socket.write(frame(FRAME_HEADERS, FLAG_END_HEADERS | FLAG_END_STREAM, stream, RESPONSE_ONLY));
    }
  };
  const onFrame = (type: number, flags: number, stream: number, payload: Buffer): void => {
    if (type === FRAME_SETTINGS) {
      if ((flags & FLAG_ACK) === 0)
        socket.write(frame(FRAME_SETTINGS, FLAG_ACK, 0, Buffer.alloc(0)));
      return;
    }
    if (type === FRAME_HEADERS) {
      let fragment = payload;
      if (flags & FLAG_PADDED) fragment = fragment.subarray(1, fragment.length - fragment[0]!);
      if (flags & FLAG_PRIORITY) fragment = fragment.subarray(5);
      blockStream = stream;
      fragments.push(fragment);
    } else if (type === FRAME_CONTINUATION) {
      assert.equal(stream, blockStream);
      capture.continuations++;
      fragments.push(payload);
    } else {
      return; // WINDOW_UPDATE, PING, GOAWAY, ...
    }
    if (flags & FLAG_END_HEADERS) onBlock(blockStream, Buffer.concat(fragments.splice(0)));
  };
  socket.write(frame(FRAME_SETTINGS, 0, 0, settings));
  const onData = (chunk: Buffer): void => {
    input = Buffer.concat([input, chunk]);
    if (!prefaceSeen) {
      if (input.length < PREFACE.length) return;
      assert.deepEqual(input.subarray(0, PREFACE.length), PREFACE);
      input = input.subarray(PREFACE.length);
      prefaceSeen = true;
    }
    while (input.length >= 9 && input.length >= 9 + input.readUIntBE(0, 3)) {
      const length = input.readUIntBE(0, 3);
      const stream = input.readUInt32BE(5) & 0x7fffffff;
      onFrame(input[3]!, input[4]!, stream, input.subarray(9, 9 + length));
      input = input.subarray(9 + length);
    }
  };
  socket.on('data', (chunk: Buffer) => {
    try {
      onData(chunk);
    } catch (err) {
      // Fail the test with this error, not with a client left waiting for its responses.
      capture.failure ??= err;
      socket.destroy();
    }
  });
  socket.on('error', () => {});
}

const PRINTABLE = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('');
const LOWER = 'abcdefghijklmnopqrstuvwxyz';

/** Random header text for the differential. NUL is left out: node:http2 cannot send it. */
class HeaderGen extends Gen {
  text(alphabet: string, length: number): string {
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet[this.int(alphabet.length)];
    return out;
  }

  octets(from: number, to: number, length: number): string {
    let out = '';
    for (let i = 0; i < length; i++) out += String.fromCharCode(from + this.int(to - from + 1));
    return out;
  }

  name(): string {
    const length = this.chance(0.1) ? 30 + this.int(90) : 1 + this.int(16);
    return `x-${this.text(`${LOWER}0123456789-`, length)}`;
  }

  headerValue(pool: readonly string[]): string {
    switch (this.int(9)) {
      case 0:
        return '';
      case 1:
      case 2:
        return this.pick(pool); // repeated values: indexed pairs
      case 3:
        return this.text(PRINTABLE, this.int(40));
      case 4:
        return this.text(PRINTABLE, 200 + this.int(1849)); // up to 2 KB
      case 5: {
        // Mostly lowercase (so nghttp2 Huffman-codes it) with rare octets: the long codes.
        const chars = [...this.text(LOWER, 8 + this.int(60))];
        for (let i = this.int(4); i >= 0; i--)
          chars.splice(this.int(chars.length), 0, this.octets(1, 255, 1));
        return chars.join('');
      }
      case 6:
        return this.octets(1, 255, this.int(40)); // any octet but NUL, controls included
      case 7:
        return this.octets(0x80, 0xff, 1 + this.int(20)); // latin1 only
      default:
        return `${this.int(1e9).toString(16)}-${this.int(1e9).toString(36)}`;
    }
  }
}

/** Names with static table entries, which nghttp2 sends with an indexed name. */
const STATIC_NAMES = ['accept', 'accept-encoding', 'user-agent', 'content-type', 'cache-control'];
/** Names node:http2 takes only one value for. */
const SINGLE_VALUE = new Set([...STATIC_NAMES, 'authorization', 'grpc-timeout']);

interface SentRequest {
  readonly headers: http2.OutgoingHttpHeaders;
  /** The regular fields in the order node:http2 sends them. */
  readonly fields: Field[];
  readonly path: string;
}

const PATHS = ['/', '/index.html', '/envoy.service.auth.v3.Authorization/Check'];

function randomRequest(
  g: HeaderGen,
  names: readonly string[],
  pool: readonly string[],
): SentRequest {
  const path = g.chance(0.3) ? g.pick(PATHS) : `/${g.name()}/${g.int(99)}`;
  const headers: http2.OutgoingHttpHeaders = { ':method': 'POST', ':path': path };
  const fields: Field[] = [];
  for (let n = g.int(13); n > 0; n--) {
    const name = g.chance(0.2) ? g.name() : g.pick(names);
    if (Object.hasOwn(headers, name)) continue;
    if (!SINGLE_VALUE.has(name) && g.chance(0.1)) {
      const values = [g.headerValue(pool), g.headerValue(pool), g.headerValue(pool)];
      headers[name] = values;
      for (const value of values) fields.push([name, value]);
    } else {
      const value = g.headerValue(pool);
      headers[name] = value;
      fields.push([name, value]);
    }
  }
  // Now and then a block over the 16 KB frame size: nghttp2 splits it into CONTINUATIONs.
  if (g.chance(0.02)) {
    for (let i = 0; i < 10; i++) {
      const value = g.text(PRINTABLE, 1800 + g.int(249));
      headers[`x-bulk-${i}`] = value;
      fields.push([`x-bulk-${i}`, value]);
    }
  }
  return { headers, fields, path };
}

interface Outcome {
  readonly stream: number;
  readonly status: unknown;
  readonly trailers: http2.IncomingHttpHeaders | undefined;
}

function send(client: http2.ClientHttp2Session, request: SentRequest): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const stream = client.request(request.headers, { endStream: true });
    let status: unknown;
    let trailers: http2.IncomingHttpHeaders | undefined;
    stream.on('response', (headers) => {
      status = headers[':status'];
    });
    stream.on('trailers', (headers) => {
      trailers = headers;
    });
    stream.on('error', reject);
    stream.on('close', () => {
      if (stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) {
        reject(new Error(`stream ${stream.id} reset with ${stream.rstCode}`));
      } else {
        resolve({ stream: stream.id!, status, trailers });
      }
    });
    stream.resume();
  });
}

/** Run `count` random requests through node:http2 against the raw peer and compare. */
async function differential(t: TestContext, seed: number, count: number, tableSize?: number) {
  const decoder = new HpackDecoder(tableSize ?? 4096);
  const settings = Buffer.alloc(tableSize === undefined ? 0 : 6);
  if (tableSize !== undefined) {
    settings.writeUInt16BE(0x1, 0); // SETTINGS_HEADER_TABLE_SIZE
    settings.writeUInt32BE(tableSize, 2);
  }
  const capture: Capture = {
    blocks: new Map(),
    coverage: {
      indexedStatic: 0,
      indexedDynamic: 0,
      incremental: 0,
      withoutIndexing: 0,
      neverIndexed: 0,
      sizeUpdates: 0,
      plainStrings: 0,
      huffmanStrings: 0,
      huffmanOctets: new Set(),
    },
    continuations: 0,
    largestBlock: 0,
  };
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    rawPeer(socket, decoder, settings, capture);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const client = http2.connect(`http://127.0.0.1:${port}`);
  client.on('error', () => {});
  try {
    // Our SETTINGS first, so every block is encoded for the table size we advertise.
    await once(client, 'remoteSettings');
    const g = new HeaderGen(prng(seed));
    const names = [...STATIC_NAMES, 'authorization', 'grpc-timeout'];
    for (let i = 0; i < 25; i++) names.push(g.name());
    const pool = Array.from({ length: 30 }, () => g.headerValue(['fallback']));
    const sent = new Map<number, SentRequest>();
    for (let done = 0; done < count; done += 50) {
      const batch = Array.from({ length: Math.min(50, count - done) }, () =>
        randomRequest(g, names, pool),
      );
      const outcomes = await Promise.all(batch.map((request) => send(client, request))).catch(
        (err: unknown) => {
          throw capture.failure ?? err;
        },
      );
      outcomes.forEach((outcome, i) => {
        sent.set(outcome.stream, batch[i]!);
        assert.equal(outcome.status, 200);
        if (withTrailers(outcome.stream)) {
          assert.equal(outcome.trailers?.['grpc-status'], '0');
          assert.equal(outcome.trailers?.['grpc-message'], LONG_MESSAGE);
        } else {
          assert.equal(outcome.trailers, undefined);
        }
      });
    }
    let fields = 0;
    for (const [stream, request] of sent) {
      const decoded = capture.blocks.get(stream);
      assert.ok(decoded !== undefined, `no block for stream ${stream}`);
      const got = pairs(decoded);
      // node:http2 sends the pseudo-headers first, in its own order, and adds two.
      const pseudo = got.filter(([name]) => name.startsWith(':'));
      assert.deepEqual(got.slice(0, pseudo.length), pseudo, 'pseudo-headers come first');
      const expectedPseudo: Field[] = [
        [':authority', `127.0.0.1:${port}`],
        [':method', 'POST'],
        [':path', request.path],
        [':scheme', 'http'],
      ];
      const byName = (a: Field, b: Field): number => (a[0] < b[0] ? -1 : 1);
      assert.deepEqual([...pseudo].sort(byName), expectedPseudo, `stream ${stream}`);
      assert.deepEqual(got.slice(pseudo.length), request.fields, `stream ${stream}`);
      fields += got.length;
    }
    assert.equal(sent.size, count);
    assert.ok(capture.continuations > 0, 'some blocks need CONTINUATION frames');
    const { huffmanOctets, ...counts } = capture.coverage;
    for (const [kind, n] of Object.entries(counts)) {
      if (kind !== 'sizeUpdates' || tableSize !== undefined) assert.ok(n > 0, `no ${kind}`);
    }
    t.diagnostic(`representations: ${JSON.stringify(counts)}`);
    // Every octet node:http2 can send (all but NUL) went through nghttp2's Huffman coder.
    assert.equal(huffmanOctets.size, 255);
    t.diagnostic(
      `table ${tableSize ?? 'default 4096'}: ${sent.size} blocks, ${fields} fields compared, ` +
        `${capture.continuations} CONTINUATION frames, largest block ${capture.largestBlock} octets`,
    );
  } finally {
    client.destroy();
    for (const socket of sockets) socket.destroy();
    server.close();
  }
}

test('nghttp2 (node:http2) header blocks decode to what was sent, on one connection, 4096 table', {
  timeout: 120_000,
}, async (t) => {
  await differential(t, 7541, 2500);
});

test('nghttp2 header blocks decode to what was sent with a 256-octet table (size update, evictions)', {
  timeout: 120_000,
}, async (t) => {
  await differential(t, 9113, 2000, 256);
});
