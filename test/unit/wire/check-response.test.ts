/**
 * The hand-written CheckResponse encoder (src/wire/check-response.ts) against protobuf-es
 * `toBinary`: over random schema-generated responses (every field, unknown enum values, Structs,
 * non-ASCII strings), Gatehouse-shaped allow and deny responses, and values of the wrong type,
 * the two must give the same bytes, or both throw.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { create, toBinary } from '@bufbuild/protobuf';
import { HeaderValueOptionSchema } from '../../../src/gen/envoy/config/core/v3/base_pb.js';
import {
  CheckResponseSchema,
  type CheckResponse,
} from '../../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import type { Decision } from '../../../src/decision/types.js';
import { decisionToCheckResponse, withDecisionId } from '../../../src/response/check-response.js';
import { encodeCheckResponse, encodeCheckResponseFast } from '../../../src/wire/check-response.js';
import { Gen, prng } from '../../support/random-check-request.js';

const tally = { cases: 0, fast: 0 };

function outcome(fn: () => Uint8Array): { bytes: number[] } | { error: string } {
  try {
    return { bytes: [...fn()] };
  } catch (err) {
    return { error: String(err) };
  }
}

function assertSameBytes(response: CheckResponse, label: string): void {
  tally.cases++;
  if (encodeCheckResponseFast(response) !== undefined) tally.fast++;
  assert.deepStrictEqual(
    outcome(() => encodeCheckResponse(response)),
    outcome(() => toBinary(CheckResponseSchema, response)),
    label,
  );
}

const ascii = (g: Gen): string =>
  g.pick([
    '',
    'x-gatehouse-user',
    'user-7',
    'a'.repeat(g.int(300)),
    'reader,writer',
    '0',
    '/p?q=1',
  ]);

/** A response as Gatehouse writes them: ASCII headers, removals, query parameters, a body. */
function gatehouseShaped(g: Gen): CheckResponse {
  const option = () =>
    create(HeaderValueOptionSchema, {
      header: {
        key: ascii(g),
        value: ascii(g),
        rawValue: g.chance(0.1) ? Uint8Array.of(1, 2, 255) : new Uint8Array(0),
      },
      appendAction: g.pick([0, 1, 2, 3]),
      keepEmptyValue: g.chance(0.2),
      ...(g.chance(0.5) ? { append: g.chance(0.5) } : {}),
    });
  const metadata = () =>
    g.chance(0.5) ? { dynamicMetadata: { decision_id: 'd-1', ...asciiJson(g, 0) } } : {};
  const options = () => Array.from({ length: g.int(8) }, option);
  const names = () => Array.from({ length: g.int(4) }, () => ascii(g));
  const code = g.pick([0, 7, 16, 13]);
  if (g.chance(0.6))
    return create(CheckResponseSchema, {
      status: { code, message: g.chance(0.2) ? 'm' : '' },
      httpResponse: {
        case: 'okResponse',
        value: {
          headers: options(),
          headersToRemove: names(),
          responseHeadersToAdd: options(),
          queryParametersToSet: Array.from({ length: g.int(3) }, () => ({
            key: ascii(g),
            value: ascii(g),
          })),
          queryParametersToRemove: names(),
        },
      },
      ...metadata(),
    });
  return create(CheckResponseSchema, {
    ...(g.chance(0.9) ? { status: { code } } : {}),
    httpResponse: {
      case: g.pick(['deniedResponse', 'errorResponse'] as const),
      value: {
        ...(g.chance(0.8) ? { status: { code: g.pick([0, 302, 401, 403, 500]) } } : {}),
        headers: options(),
        body: g.chance(0.5) ? ascii(g) : '',
      },
    },
    ...metadata(),
  });
}

/** JSON the hand path writes: ASCII strings, finite numbers (-0 and 1e21 among them), nesting. */
function asciiJson(g: Gen, depth: number): Record<string, unknown> {
  const value = (d: number): unknown => {
    const k = g.int(d > 2 ? 4 : 6);
    if (k === 0) return null;
    if (k === 1) return g.chance(0.5);
    if (k === 2) return g.pick([0, -0, 1, -1.5, 1e21, 3.14, 2 ** 53 + 2, 5e-324]);
    if (k === 3) return ascii(g);
    if (k === 4) return Array.from({ length: g.int(4) }, () => value(d + 1));
    return asciiJson(g, d + 1);
  };
  const o: Record<string, unknown> = {};
  for (let i = g.int(4); i > 0; i--)
    o[g.pick(['k', '', '10', '2', 'decision_id', 'x-y'])] = value(depth);
  return o;
}

test('encoder gives toBinary’s bytes for 3,000 Gatehouse-shaped responses', () => {
  const g = new Gen(prng(11));
  for (let i = 0; i < 3000; i++) assertSameBytes(gatehouseShaped(g), `shaped ${i}`);
});

test('encoder gives toBinary’s bytes (or its error) for 2,000 random schema-generated responses', () => {
  for (let seed = 1; seed <= 2000; seed++) {
    const g = new Gen(prng(seed));
    const response = create(CheckResponseSchema, g.message(CheckResponseSchema, 0) as never);
    assertSameBytes(response, `seed ${seed}`);
  }
});

test('encoder leaves what it does not write to toBinary, which encodes or refuses it', () => {
  const g = new Gen(prng(5));
  const base = () => gatehouseShaped(g);
  const cases: [string, (r: CheckResponse) => void][] = [
    ['non-ASCII header value', (r) => setFirstHeader(r, 'ünïcødé ✓')],
    ['lone surrogate', (r) => setFirstHeader(r, '\uD800')],
    ['negative status code', (r) => setCode(r, -1)],
    ['fractional status code', (r) => setCode(r, 1.5)],
    ['status code beyond int32', (r) => setCode(r, 2 ** 31)],
    ['non-ASCII metadata key', (r) => (r.dynamicMetadata = { ä: 1 })],
    ['non-ASCII metadata value', (r) => (r.dynamicMetadata = { a: ['ok', 'ü'] })],
    ['NaN in metadata', (r) => (r.dynamicMetadata = { a: { b: Number.NaN } })],
    ['Infinity in metadata', (r) => (r.dynamicMetadata = { a: Number.POSITIVE_INFINITY })],
    ['undefined in metadata', (r) => (r.dynamicMetadata = { a: [undefined] } as never)],
    ['a hole in a metadata list', (r) => (r.dynamicMetadata = { a: holey() } as never)],
    ['a bigint in metadata', (r) => (r.dynamicMetadata = { a: 1n } as never)],
    ['a Date in metadata', (r) => (r.dynamicMetadata = { a: new Date(0) } as never)],
    ['a list as metadata', (r) => (r.dynamicMetadata = [1, 2] as never)],
    ['metadata deeper than 64', (r) => (r.dynamicMetadata = deep(80) as never)],
    ['a __proto__ metadata key', (r) => (r.dynamicMetadata = JSON.parse('{"__proto__":{"a":1}}'))],
    ['append that is not a boolean', (r) => setFirstAppend(r, 1 as unknown as boolean)],
    ['a proxy as metadata', (r) => (r.dynamicMetadata = new Proxy({ a: 1 }, {}) as never)],
    ['unknown field', (r) => (r.$unknown = [{ no: 99, wireType: 0, data: Uint8Array.of(1) }])],
    ['a string that is a number', (r) => setFirstHeader(r, 7 as unknown as string)],
    ['a foreign message', (r) => ((r as { $typeName: string }).$typeName = 'x.Y')],
  ];
  for (let i = 0; i < 300; i++) {
    const [name, change] = cases[i % cases.length] as (typeof cases)[number];
    const r = base();
    change(r);
    assertSameBytes(r, `${name} ${i}`);
  }
});

test('encoder leaves metadata with an accessor to protobuf-es: the two passes would read it twice', () => {
  const g = new Gen(prng(7));
  for (const metadata of [counting(), { nested: counting() }, { list: [counting()] }]) {
    const r = gatehouseShaped(g);
    r.dynamicMetadata = metadata as never;
    assert.equal(encodeCheckResponseFast(r), undefined);
  }
});

function setCode(r: CheckResponse, code: number): void {
  if (r.status !== undefined) r.status.code = code;
}

function setFirstAppend(r: CheckResponse, append: boolean): void {
  const option = r.httpResponse.value?.headers[0];
  if (option !== undefined) option.append = append;
}

/** An object whose one property reads 1, then 2, …: the two passes must not both read it. */
function counting(): object {
  let n = 0;
  return {
    get a() {
      n++;
      return n;
    },
  };
}

/** `[1, <hole>, 2]`. */
function holey(): unknown[] {
  const list: unknown[] = [1];
  list[2] = 2;
  return list;
}

function deep(n: number): Record<string, unknown> {
  let o: Record<string, unknown> = { leaf: true };
  for (let i = 0; i < n; i++) o = { n: i % 2 === 0 ? o : [o] };
  return o;
}

function setFirstHeader(r: CheckResponse, value: string): void {
  const h = r.httpResponse.value?.headers[0]?.header;
  if (h !== undefined) h.value = value;
}

const decision = (allowed: boolean): Decision => ({
  allowed,
  headers: [
    { name: 'x-user', value: 'alice' },
    { name: 'x-role', value: 'reader' },
    { name: 'x-role', value: 'writer' },
  ],
  responseHeadersToAdd: [{ name: 'x-decided', value: 'yes' }],
  requestHeadersToRemove: ['x-internal'],
  queryParametersToSet: [{ key: 'page', value: '1' }],
  queryParametersToRemove: ['debug'],
  httpStatus: allowed ? undefined : 401,
  body: allowed ? undefined : 'no',
  dynamicMetadata: { policy: { rule: 'allow', score: 0.5, tags: ['a', null, false] } },
  reasons: [],
  stepUp: undefined,
  requireDevice: undefined,
});

test('the responses Gatehouse writes — upstream headers (the `append` wrapper), decision id — take the hand path', () => {
  for (const allowed of [true, false]) {
    const response = withDecisionId(
      decisionToCheckResponse(decision(allowed), {
        requestHeaders: [{ name: 'x-gatehouse-jwt-assertion', value: 'e30.e30.sig' }],
        removeRequestHeaders: ['cookie'],
        responseHeaders: [{ name: 'set-cookie', value: 'a=b' }],
      }),
      '0b5a9e4e-5f4e-4d7e-9b1e-2f1c3d4e5f60',
    );
    const fast = encodeCheckResponseFast(response);
    assert.ok(fast !== undefined, `allowed=${allowed}: left to protobuf-es`);
    assert.deepStrictEqual([...fast], [...toBinary(CheckResponseSchema, response)]);
  }
});

test('encoder cases tallied', () => {
  assert.ok(tally.cases > 5000, `${tally.cases} cases`);
  assert.ok(tally.fast > 3000, `${tally.fast} on the hand path`);
});
