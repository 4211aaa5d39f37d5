/**
 * The hand-written attributes converter (src/input/attributes-json.ts) against the reflective
 * `protomap` (src/input/protomap.ts, the plugin's mapping): over every request fixture and
 * hundreds of random CheckRequests generated from the schema (every field of every message, random
 * presence, unknown enum values, `__proto__` map keys, Structs with NaN, typed `Any`s of any type,
 * out-of-range timestamps, 64-bit integers beyond 2^53), the two must agree exactly — the same
 * JSON, or both refuse. (The conformance test compares both with the real plugin.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { create, fromBinary, fromJson, toBinary, type JsonValue } from '@bufbuild/protobuf';
import { TimestampSchema } from '@bufbuild/protobuf/wkt';
import { GatehouseError } from '../../../src/errors/gatehouse-error.js';
import {
  CheckRequestSchema,
  type CheckRequest,
} from '../../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import { AttributeContextSchema } from '../../../src/gen/envoy/service/auth/v3/attribute_context_pb.js';
import { attributesToJson, attributesToJsonReflective } from '../../../src/input/attributes.js';
import { Gen, prng, randomCheckRequest } from '../../support/random-check-request.js';
import { fixture, FIXTURE_REGISTRY } from './support.js';

type Outcome = { json: unknown } | { error: string };

function outcome(fn: () => unknown): Outcome {
  try {
    return { json: fn() };
  } catch (err) {
    assert.ok(err instanceof GatehouseError, `expected a GatehouseError, got ${String(err)}`);
    return { error: err.code };
  }
}

function assertSame(req: CheckRequest, label: string): void {
  const attributes = req.attributes;
  if (attributes === undefined) return; // buildInput refuses it before converting
  const fast = outcome(() => attributesToJson(attributes));
  const reference = outcome(() => attributesToJsonReflective(attributes));
  assert.deepStrictEqual(fast, reference, label);
}

for (const c of fixture<{ name: string; request: JsonValue }[]>('check-requests.json')) {
  test(`attributes → JSON agrees with protomap: ${c.name}`, () => {
    const req = fromJson(CheckRequestSchema, c.request, { registry: FIXTURE_REGISTRY });
    assertSame(req, c.name);
    // And as the server sees it: decoded from the wire.
    assertSame(
      fromBinary(CheckRequestSchema, toBinary(CheckRequestSchema, req)),
      `${c.name} (binary)`,
    );
  });
}

test('attributes → JSON agrees with protomap over 600 random CheckRequests (all fields, from the wire)', () => {
  let errors = 0;
  let withHeaders = 0;
  let withSockets = 0;
  let withTime = 0;
  for (let seed = 1; seed <= 600; seed++) {
    const req = randomCheckRequest(seed);
    const label = `seed ${seed}`;
    assertSame(req, label);
    let wire: CheckRequest;
    try {
      wire = fromBinary(CheckRequestSchema, toBinary(CheckRequestSchema, req));
    } catch {
      continue; // a random value the wire cannot carry (e.g. an invalid Any): nothing to compare
    }
    assertSame(wire, `${label} (binary)`);
    const result = outcome(() =>
      attributesToJsonReflective(wire.attributes ?? create(AttributeContextSchema)),
    );
    if ('error' in result) errors++;
    else {
      const json = JSON.stringify(result.json);
      if (json.includes('"headers":{')) withHeaders++;
      if (json.includes('"socketAddress":{')) withSockets++;
      if (json.includes('"time":{')) withTime++;
    }
  }
  assert.ok(
    withHeaders > 50 && withSockets > 50 && withTime > 50,
    `coverage: headers ${withHeaders}, sockets ${withSockets}, time ${withTime}`,
  );
  // The generator exercises both the agreeing-JSON and the both-refuse paths.
  assert.ok(errors > 0 && errors < 600, `refusals: ${errors}`);
});

test('attributes → JSON: Envoy-shaped requests take the fast path and agree', () => {
  const g = new Gen(prng(42));
  for (let i = 0; i < 200; i++) {
    const headers: Record<string, string> = {
      ':authority': 'app.example.com',
      ':method': 'GET',
      ':path': `/api/items?page=${i}`,
    };
    for (let j = g.int(10); j > 0; j--) headers[g.key()] = g.string();
    const req = create(CheckRequestSchema, {
      attributes: {
        source: {
          address: {
            address: {
              case: 'socketAddress',
              value: {
                address: '10.0.0.1',
                portSpecifier: { case: 'portValue', value: g.int(65536) },
              },
            },
          },
          principal: g.chance(0.5) ? 'spiffe://x' : '',
        },
        destination: {
          address: {
            address: {
              case: 'socketAddress',
              value: {
                address: '10.0.0.2',
                protocol: g.int(2),
                portSpecifier: { case: 'portValue', value: 0 },
              },
            },
          },
        },
        request: {
          time: create(TimestampSchema, {
            seconds: BigInt(1_700_000_000 + i),
            nanos: g.pick([0, 5_000_000, 5_000, 5]),
          }),
          http: {
            id: String(i),
            method: 'GET',
            headers,
            path: `/api/items?page=${i}`,
            host: 'app.example.com',
            scheme: 'http',
            protocol: 'HTTP/2',
            size: BigInt(g.int(3) - 1),
            rawBody: g.chance(0.3) ? new TextEncoder().encode('body') : new Uint8Array(0),
          },
        },
        contextExtensions: g.chance(0.5) ? { route: 'r' } : {},
        metadataContext: {},
        tlsSession: g.chance(0.5) ? { sni: 'app.example.com' } : undefined,
      },
    });
    assertSame(req, `envoy-shaped ${i}`);
  }
});
