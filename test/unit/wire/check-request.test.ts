/**
 * The hand-written CheckRequest decoder (src/wire/check-request.ts) against protobuf-es
 * `fromBinary`: over the request fixtures, the benchmark's traffic and check-level requests,
 * thousands of random schema-generated requests (with unknown fields of every wire type, groups
 * included, inside any message), concatenations (repeated message fields merge, scalars: last
 * wins), hand-made edge cases (map entries without key or value, invalid and tricky UTF-8, wire
 * type mismatches, overlong varints, nesting at the recursion limit) and thousands of random
 * mutations and truncations of valid encodings, the two must agree exactly: the same message
 * (protobuf-es `equals`, a structural deep-equal with prototypes, and the same key order
 * everywhere), or both refuse with the same error.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { repoPath } from '../../support/paths.js';
import { test } from 'node:test';
import {
  create,
  equals,
  fromBinary,
  fromJson,
  toBinary,
  type JsonObject,
  type JsonValue,
  type Message,
} from '@bufbuild/protobuf';
import {
  CheckRequestSchema,
  type CheckRequest,
} from '../../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import {
  decodeCheckRequest,
  decodeCheckRequestFast,
  internedStrings,
  NATIVE_UTF8_SLICE,
} from '../../../src/wire/check-request.js';
import { checkRequestJson } from '../../../bench/systems.js';
import { trafficRequestJson } from '../../../bench/traffic.js';
import { Gen, prng, randomCheckRequest } from '../../support/random-check-request.js';
import { fixture, FIXTURE_REGISTRY } from '../input/support.js';

type Outcome = { message: CheckRequest } | { error: string };

function outcome(fn: () => CheckRequest): Outcome {
  try {
    return { message: fn() };
  } catch (err) {
    return { error: String(err) };
  }
}

/** Every object's keys, in order, as paths: catches a difference deepStrictEqual ignores. */
function keyOrder(value: unknown, path = '', out: string[] = []): string[] {
  if (typeof value !== 'object' || value === null || value instanceof Uint8Array) return out;
  const keys = Object.keys(value);
  out.push(`${path}{${keys.join(',')}}`);
  for (const k of keys) keyOrder((value as Record<string, unknown>)[k], `${path}.${k}`, out);
  return out;
}

const tally = { cases: 0, fast: 0, refused: 0 };

/** Both decoders on `bytes`: the same message or the same refusal. Returns whether it decoded. */
function assertAgree(bytes: Uint8Array, label: string): boolean {
  tally.cases++;
  const reference = outcome(() => fromBinary(CheckRequestSchema, bytes));
  const decoded = outcome(() => decodeCheckRequest(bytes));
  if (decodeCheckRequestFast(bytes) !== undefined) tally.fast++;
  if ('error' in reference) {
    tally.refused++;
    assert.deepStrictEqual(decoded, reference, `${label}: protobuf-es refuses, so must we`);
    return false;
  }
  assert.ok('message' in decoded, `${label}: protobuf-es decodes, we refused: ${String(decoded)}`);
  // protobuf-es `equals` is false for a Struct holding NaN even against itself: compare like that.
  assert.equal(
    equals(CheckRequestSchema, decoded.message, reference.message),
    equals(CheckRequestSchema, reference.message, fromBinary(CheckRequestSchema, bytes)),
    `${label}: equals`,
  );
  assert.deepStrictEqual(decoded.message, reference.message, label);
  assert.deepStrictEqual(keyOrder(decoded.message), keyOrder(reference.message), `${label}: keys`);
  return true;
}

/** Minimal protobuf writer for hand-made edge cases. */
const varint = (n: number | bigint): number[] => {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
};
const tag = (no: number, wireType: number): number[] => varint((no << 3) | wireType);
const ld = (no: number, body: readonly number[]): number[] => [
  ...tag(no, 2),
  ...varint(body.length),
  ...body,
];
const utf8 = (s: string): number[] => [...new TextEncoder().encode(s)];
const bytes = (...parts: (readonly number[])[]): Uint8Array => Uint8Array.from(parts.flat());
/** CheckRequest { attributes { request { http { <http> } } } } */
const inHttp = (...http: (readonly number[])[]): Uint8Array =>
  bytes(ld(1, ld(4, ld(2, http.flat()))));
/** A headers map entry from raw key and value fields. */
const header = (...fields: (readonly number[])[]): number[] => ld(3, fields.flat());

test('pinned: protobuf-es 2.x, whose wire behaviour the decoder reproduces, and the native utf8Slice', () => {
  const pkg = JSON.parse(
    readFileSync(repoPath('node_modules', '@bufbuild', 'protobuf', 'package.json'), 'utf8'),
  ) as { version: string };
  assert.match(
    pkg.version,
    /^2\./,
    'a new major of protobuf-es: re-check src/wire/check-request.ts',
  );
  assert.equal(NATIVE_UTF8_SLICE, true);
});

test('decoder agrees with fromBinary: request fixtures and the benchmark requests', () => {
  for (const c of fixture<{ name: string; request: JsonValue }[]>('check-requests.json')) {
    const req = fromJson(CheckRequestSchema, c.request, { registry: FIXTURE_REGISTRY });
    assertAgree(toBinary(CheckRequestSchema, req), c.name);
  }
  for (let i = 0; i < 50; i++) {
    const credential = i % 2 === 0 ? 'bearer' : 'session';
    const json = trafficRequestJson(`eyJ${'x'.repeat(i * 20)}.e30.sig`, i, credential);
    const encoded = toBinary(CheckRequestSchema, fromJson(CheckRequestSchema, json));
    assertAgree(encoded, `traffic ${i}`);
    assert.ok(decodeCheckRequestFast(encoded) !== undefined, `traffic ${i} takes the hand path`);
  }
  for (const scenario of ['noop', 'rbac', 'headers'] as const) {
    const json = checkRequestJson(scenario, 'eyJ.e30.sig');
    const encoded = toBinary(CheckRequestSchema, fromJson(CheckRequestSchema, json));
    assertAgree(encoded, scenario);
    assert.ok(decodeCheckRequestFast(encoded) !== undefined, `${scenario} takes the hand path`);
  }
});

/** Unknown fields of every wire type (a group with a nested field included) on `m`. */
function addUnknown(g: Gen, m: Message): void {
  const no = 900 + g.int(50);
  const all = [
    { no, wireType: 0, data: Uint8Array.from(varint(g.pick([0, 1, 300, -1]))) },
    { no, wireType: 1, data: new Uint8Array(8).fill(7) },
    { no, wireType: 2, data: Uint8Array.from([3, 97, 98, 99]) },
    { no, wireType: 5, data: new Uint8Array(4).fill(9) },
    { no, wireType: 3, data: Uint8Array.from([...tag(1, 0), 5, ...tag(no, 4)]) },
  ] as const;
  m.$unknown = Array.from({ length: 1 + g.int(3) }, () => g.pick(all));
}

/** Walk every message of `m` and give some of them unknown fields. */
function sprinkleUnknown(g: Gen, m: unknown, p: number): void {
  if (typeof m !== 'object' || m === null || m instanceof Uint8Array) return;
  if ('$typeName' in m && g.chance(p)) addUnknown(g, m as Message);
  for (const [k, v] of Object.entries(m)) if (k !== '$unknown') sprinkleUnknown(g, v, p);
}

const encodings: Uint8Array[] = [];

test('decoder agrees with fromBinary over 2,000 random schema-generated CheckRequests', () => {
  let fast = 0;
  let plain = 0;
  for (let seed = 1; seed <= 2000; seed++) {
    const req = randomCheckRequest(seed);
    const withUnknown = seed % 4 === 0;
    if (withUnknown) sprinkleUnknown(new Gen(prng(seed)), req, 0.3);
    let encoded: Uint8Array;
    try {
      encoded = toBinary(CheckRequestSchema, req);
    } catch {
      continue; // a random value the wire cannot carry (an invalid Any): nothing to compare
    }
    assertAgree(encoded, `seed ${seed}`);
    if (!withUnknown) {
      plain++;
      if (decodeCheckRequestFast(encoded) !== undefined) fast++;
    }
    if (encodings.length < 400) encodings.push(encoded);
  }
  // Everything a conforming encoder writes takes the hand path, except what protobuf-es is left
  // on purpose (negative int32 nanos are a ten-byte varint; groups in unknown fields).
  assert.ok(fast > plain * 0.9, `hand path on ${fast} of ${plain}`);
});

test('decoder agrees with fromBinary on concatenations: message fields merge, scalars last wins', () => {
  const g = new Gen(prng(7));
  for (let i = 0; i < 400; i++) {
    const a = g.pick(encodings);
    const b = g.pick(encodings);
    assertAgree(bytes([...a], [...b]), `concat ${i}`);
  }
  // The same peer twice: the second socket address merges into the first.
  const peer = (body: number[]) => ld(1, ld(1, ld(1, ld(1, body))));
  assertAgree(
    bytes(
      peer([...ld(2, utf8('10.0.0.1')), ...tag(3, 0), ...varint(80)]),
      peer(tag(1, 0).concat([1])),
    ),
    'merged socket address',
  );
  // A oneof switches case, then back (a fresh message, not a merge into the old one).
  const address = (body: number[]) => bytes(ld(1, ld(1, ld(1, body))));
  assertAgree(
    address([
      ...ld(1, ld(2, utf8('a'))),
      ...ld(2, ld(1, utf8('/pipe'))),
      ...ld(1, [...tag(3, 0), 5]),
    ]),
    'oneof switches',
  );
});

test('decoder agrees with fromBinary on hand-made edge cases', () => {
  const cases: [string, Uint8Array][] = [
    ['empty', bytes()],
    ['header entry without key', inHttp(header(ld(2, utf8('v'))))],
    ['header entry without value', inHttp(header(ld(1, utf8('k'))))],
    ['empty header entry', inHttp(header([]))],
    ['header key twice', inHttp(header(ld(1, utf8('a')), ld(1, utf8('b')), ld(2, utf8('v'))))],
    ['header entry with unknown field', inHttp(header(ld(1, utf8('k')), ld(7, [1]), ld(2, [])))],
    ['header entry key as varint', inHttp(header(tag(1, 0), [1]))],
    ['__proto__ header', inHttp(header(ld(1, utf8('__proto__')), ld(2, utf8('x'))))],
    [
      'same header twice',
      inHttp(header(ld(1, [97]), ld(2, [49])), header(ld(1, [97]), ld(2, [50]))),
    ],
    ['BOM kept', inHttp(ld(1, utf8('\uFEFFid')))],
    ['U+FFFD written as such', inHttp(ld(1, utf8('a\uFFFDb')), ld(11, utf8('\uFFFD'.repeat(40))))],
    ['non-ASCII', inHttp(ld(2, utf8('ünïcødé ✓ 😀')), ld(11, utf8('é'.repeat(200))))],
    ['invalid UTF-8 (short)', inHttp(ld(1, [0x61, 0xff]))],
    ['invalid UTF-8 (long)', inHttp(ld(11, [...utf8('x'.repeat(100)), 0xc3]))],
    ['invalid UTF-8 key', inHttp(header(ld(1, [0x80]), ld(2, [])))],
    ['overlong encoding', inHttp(ld(1, [0xc0, 0x80]))],
    ['UTF-8 surrogate', inHttp(ld(1, [0xed, 0xa0, 0x80]))],
    ['truncated multi-byte', inHttp(ld(1, [0xe2, 0x82]))],
    ['wire type mismatch (string as varint)', inHttp(tag(1, 0), [5])],
    ['wire type mismatch (message as varint)', bytes(tag(1, 0), [0])],
    ['size as length-delimited', inHttp(ld(9, [1]))],
    ['size: 10-byte varint (-1)', inHttp(tag(9, 0), varint(-1))],
    ['size: 2^63 - 1', inHttp(tag(9, 0), varint(2n ** 63n - 1n))],
    [
      'size: 11-byte varint',
      inHttp(tag(9, 0), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
    ],
    [
      'size: 10th byte > 1',
      inHttp(tag(9, 0), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]),
    ],
    ['overlong length varint', bytes(tag(1, 2), [0x80, 0x80, 0x80, 0x80, 0x00])],
    ['length varint beyond 32 bits', bytes(tag(1, 2), [0x80, 0x80, 0x80, 0x80, 0x10])],
    ['length past the end', bytes(tag(1, 2), [5, 0])],
    ['truncated varint', bytes(tag(1, 2), [0x80])],
    ['truncated tag', bytes([0x8a])],
    ['field number 0', bytes([0x02, 0x00])],
    ['wire type 6', bytes([0x0e])],
    ['wire type 7', bytes([0x0f])],
    ['end group at top level', bytes(tag(5, 4))],
    ['unmatched end group', bytes(tag(5, 3), tag(6, 4))],
    ['unknown group, nested', bytes(tag(5, 3), tag(6, 3), tag(1, 0), [1], tag(6, 4), tag(5, 4))],
    ['unterminated group', bytes(tag(5, 3), tag(1, 0), [1])],
    [
      'groups nested past the limit',
      bytes(
        ...Array.from({ length: 120 }, () => tag(5, 3)),
        ...Array.from({ length: 120 }, () => tag(5, 4)),
      ),
    ],
    ['unknown varint of 11 bytes', bytes(tag(5, 0), new Array(10).fill(0x80), [0])],
    ['unknown fixed64 truncated', bytes(tag(5, 1), [1, 2, 3])],
    ['bool 2', bytes(ld(1, ld(1, ld(1, ld(1, [...tag(6, 0), 2])))))],
    ['bool as multi-byte varint', bytes(ld(1, ld(1, ld(1, ld(1, [...tag(6, 0), 0x80, 0x01])))))],
    ['negative enum', bytes(ld(1, ld(1, ld(1, ld(1, [...tag(1, 0), ...varint(-3)])))))],
    ['port 2^32 - 1', bytes(ld(1, ld(1, ld(1, ld(1, [...tag(3, 0), ...varint(2 ** 32 - 1)])))))],
    ['negative nanos', bytes(ld(1, ld(4, ld(1, [...tag(2, 0), ...varint(-1)]))))],
    [
      'sub-message overruns its length',
      bytes(ld(1, [...tag(4, 2), 2, ...ld(2, [0x0a, 3, 97, 98, 99])])),
    ],
    ['sub-message shorter than a field', bytes(tag(1, 2), [2], ld(4, []), [0x0a, 0])],
    [
      'header_map',
      inHttp(ld(13, [...ld(1, [...ld(1, utf8('k')), ...ld(3, [0, 255])]), ...ld(1, [])])),
    ],
    [
      'header_map twice (merges, appends)',
      inHttp(ld(13, ld(1, ld(1, [97]))), ld(13, ld(1, ld(2, [98])))),
    ],
    ['raw_body', inHttp(ld(12, [0, 1, 2, 255]))],
    ['tls session twice', bytes(ld(1, [...ld(12, ld(1, utf8('a'))), ...ld(12, [])]))],
    [
      'metadata twice (merges)',
      bytes(
        ld(1, [...ld(11, ld(1, [...ld(1, [120]), ...ld(2, [])])), ...ld(11, ld(1, ld(1, [121])))]),
      ),
    ],
    [
      'metadata with invalid struct',
      bytes(ld(1, ld(11, ld(1, [...ld(1, [120]), ...ld(2, [0x0a, 9])])))),
    ],
  ];
  for (const [name, encoded] of cases) assertAgree(encoded, name);
});

/** A Struct nested `levels` deep under metadata_context (a Struct is a JSON object here). */
function nestedMetadata(levels: number): Uint8Array {
  let inner: JsonObject = {};
  for (let i = 0; i < levels; i++) inner = { k: inner };
  return toBinary(
    CheckRequestSchema,
    create(CheckRequestSchema, {
      attributes: { metadataContext: { filterMetadata: { f: inner } } },
    }),
  );
}

test('decoder agrees with fromBinary at protobuf-es recursion limit (rare sub-messages decoded by protobuf-es)', () => {
  const seen = new Set<boolean>();
  for (let levels = 40; levels <= 55; levels++)
    seen.add(assertAgree(nestedMetadata(levels), `${levels} levels`));
  assert.deepStrictEqual([...seen].sort(), [false, true], 'both sides of the limit were tested');
});

/** A random hostile variant of `b`. */
function mutate(g: Gen, b: Uint8Array): Uint8Array {
  const out = [...b];
  const at = () => g.int(out.length + 1);
  switch (g.int(7)) {
    case 0: // truncation
      return Uint8Array.from(out.slice(0, g.int(out.length)));
    case 1: // random bytes overwritten
      for (let n = 1 + g.int(3); n > 0 && out.length > 0; n--) out[g.int(out.length)] = g.int(256);
      return Uint8Array.from(out);
    case 2: // a continuation bit set or cleared
      if (out.length > 0) {
        const i = g.int(out.length);
        out[i] = (out[i] ?? 0) ^ 0x80;
      }
      return Uint8Array.from(out);
    case 3: // random bytes inserted
      out.splice(at(), 0, ...Array.from({ length: 1 + g.int(4) }, () => g.int(256)));
      return Uint8Array.from(out);
    case 4: // a byte deleted
      out.splice(g.int(out.length), 1);
      return Uint8Array.from(out);
    case 5: // a length or value byte nudged
      if (out.length > 0) {
        const i = g.int(out.length);
        out[i] = ((out[i] ?? 0) + g.pick([1, -1, 2, -2])) & 0xff;
      }
      return Uint8Array.from(out);
    default: {
      // a stretch duplicated
      const from = g.int(out.length);
      out.splice(at(), 0, ...out.slice(from, from + 1 + g.int(20)));
      return Uint8Array.from(out);
    }
  }
}

test('decoder agrees with fromBinary over 6,000 random mutations and truncations', () => {
  const g = new Gen(prng(99));
  const traffic = toBinary(
    CheckRequestSchema,
    fromJson(CheckRequestSchema, trafficRequestJson('eyJ.e30.sig', 1)),
  );
  const sources = [traffic, ...encodings.filter((e) => e.length > 0)];
  let refused = 0;
  for (let i = 0; i < 6000; i++) {
    let b = g.pick(sources);
    for (let n = 1 + g.int(2); n > 0; n--) b = mutate(g, b);
    if (!assertAgree(b, `mutation ${i}`)) refused++;
  }
  assert.ok(refused > 500 && refused < 5500, `refused ${refused} of 6,000`);
});

test('decoder cases tallied', () => {
  // Several thousand cases in all, most of them on the hand path.
  assert.ok(tally.cases > 8000, `${tally.cases} cases`);
  assert.ok(tally.fast > 2000, `${tally.fast} on the hand path`);
  assert.ok(tally.refused > 500, `${tally.refused} refused by both`);
});

test('the short-string cache keeps copies: a request buffer written again after decoding decodes to its new text', () => {
  // The cache once kept a view into the request's Buffer (Buffer.slice is a view): once that
  // memory held other text of the same length and cache slot (a pooled buffer reused, say), the
  // next request with that text hit the old entry and decoded to the old string; and the cache
  // kept every cached request's buffer alive. Two values of one length in one slot (the cache is
  // direct-mapped on FNV-1a of the bytes, 4,096 slots) show it.
  const slot = (text: string): number => {
    let hash = 0x811c9dc5;
    for (const byte of Buffer.from(text)) hash = Math.imul(hash ^ byte, 0x01000193);
    return (hash >>> 0) & 4095;
  };
  const before = 'value-0000';
  let after = '';
  for (let i = 1; i < 100_000 && after === ''; i++) {
    const candidate = `value-${String(i).padStart(4, '0')}`;
    if (candidate.length === before.length && slot(candidate) === slot(before)) after = candidate;
  }
  assert.notEqual(after, '', 'no value in the same slot found');
  const encode = (value: string): Buffer =>
    Buffer.from(
      toBinary(
        CheckRequestSchema,
        create(CheckRequestSchema, {
          attributes: { request: { http: { headers: { 'x-cache-probe': value } } } },
        }),
      ),
    );
  const bytes = encode(before);
  // Twice, two requests: the second sighting copies the value into the cache.
  for (let i = 0; i < 2; i++)
    assert.equal(
      decodeCheckRequest(bytes).attributes?.request?.http?.headers['x-cache-probe'],
      before,
    );
  assert.ok(internedStrings().has(before), 'the cache holds it (else this test proves nothing)');
  bytes.write(after, bytes.indexOf(before)); // the same memory now holds the other value
  const again = decodeCheckRequest(encode(after));
  assert.equal(again.attributes?.request?.http?.headers['x-cache-probe'], after);
});

test("the short-string cache takes in values that repeat across requests, not one request's id carried twice", () => {
  // Envoy sends the request id twice (the x-request-id header and the request's id): seen twice
  // in a row at its slot, it once entered the cache on every request, to be old-space garbage at
  // the next one.
  const encode = (id: string): Buffer =>
    Buffer.from(
      toBinary(
        CheckRequestSchema,
        create(CheckRequestSchema, {
          attributes: {
            request: { http: { id, headers: { 'x-request-id': id, 'x-tenant': 'acme' } } },
          },
        }),
      ),
    );
  const id = (i: number) => `0a0b0c0d-1e2f-4a5b-8c9d-${String(i).padStart(12, '0')}`;
  const ids = Array.from({ length: 200 }, (_, i) => id(i));
  for (const value of ids) {
    const got = decodeCheckRequest(encode(value)).attributes?.request?.http;
    assert.equal(got?.id, value);
    assert.equal(got?.headers['x-request-id'], value);
  }
  const held = internedStrings();
  const cached = ids.filter((value) => held.has(value));
  assert.equal(cached.length, 0, `cached ${cached.length} of 200 one-request ids`);
  // Values that do repeat across requests still enter, on their second request.
  assert.ok(held.has('x-tenant') && held.has('acme'), 'the repeating strings are cached');
  const repeated = encode('a-value-that-repeats');
  decodeCheckRequest(repeated);
  assert.ok(!internedStrings().has('a-value-that-repeats'), 'not after one request');
  decodeCheckRequest(repeated);
  assert.ok(internedStrings().has('a-value-that-repeats'), 'taken in on its second request');
});
