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
    });
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
  });
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
    ['dynamic metadata', (r) => (r.dynamicMetadata = { a: 1 })],
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

function setCode(r: CheckResponse, code: number): void {
  if (r.status !== undefined) r.status.code = code;
}

function setFirstHeader(r: CheckResponse, value: string): void {
  const h = r.httpResponse.value?.headers[0]?.header;
  if (h !== undefined) h.value = value;
}

test('encoder cases tallied', () => {
  assert.ok(tally.cases > 5000, `${tally.cases} cases`);
  assert.ok(tally.fast > 3000, `${tally.fast} on the hand path`);
});
