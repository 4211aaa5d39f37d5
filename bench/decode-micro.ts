/**
 * Micro-benchmark of the protobuf work of one Check, as ratios measured in the same run (a busy
 * machine shifts both sides alike): decoding the CheckRequest with protobuf-es `fromBinary`
 * against the hand-written decoder (src/wire/check-request.ts), for the traffic stage's request
 * (bench/traffic.ts: ~20 browser headers, an RS256 bearer token, a 1 KB JSON body) and for the
 * small request of the check-level scenarios (bench/systems.ts), and protobuf-es `toBinary` of a
 * typical allow CheckResponse (six upstream headers, two removals).
 *
 * CPU µs per operation (process.cpuUsage over a batch), rounds interleaved A, B, A, B…; prints
 * every round and the median of each side and of the per-round ratios.
 *
 * Usage: taskset -c 1 node dist/bench/decode-micro.js [--rounds 7] [--ms 400]
 */
import { parseArgs } from 'node:util';
import { generateKeyPair } from 'jose';
import { create, fromBinary, fromJson, toBinary, type JsonValue } from '@bufbuild/protobuf';
import { HeaderValueOptionSchema } from '../src/gen/envoy/config/core/v3/base_pb.js';
import {
  CheckRequestSchema,
  CheckResponseSchema,
  OkHttpResponseSchema,
} from '../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import { StatusSchema } from '../src/gen/google/rpc/status_pb.js';
import { decodeCheckRequest } from '../src/wire/check-request.js';
import { encodeCheckResponse } from '../src/wire/check-response.js';
import { checkRequestJson, type Idp } from './systems.js';
import { mintTokens, trafficRequestJson } from './traffic.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    ms: { type: 'string', default: '400' },
  },
});
const rounds = Number(values.rounds);
const budgetMs = Number(values.ms);

/** CPU µs per call of `fn`, over batches for about `budgetMs` of CPU. */
function cpuMicros(fn: () => unknown): number {
  let calls = 0;
  const start = process.cpuUsage();
  let used = 0;
  while (used < budgetMs * 1000) {
    for (let i = 0; i < 200; i++) fn();
    calls += 200;
    const d = process.cpuUsage(start);
    used = d.user + d.system;
  }
  return used / calls;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

function compare(label: string, a: [string, () => unknown], b: [string, () => unknown]): void {
  // Warm up both.
  for (let i = 0; i < 3000; i++) {
    a[1]();
    b[1]();
  }
  const as: number[] = [];
  const bs: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const x = cpuMicros(a[1]);
    const y = cpuMicros(b[1]);
    as.push(x);
    bs.push(y);
    ratios.push(x / y);
  }
  const f = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(' ');
  console.log(`${label}`);
  console.log(`  ${a[0]}: median ${median(as).toFixed(2)} µs/op  rounds ${f(as)}`);
  console.log(`  ${b[0]}: median ${median(bs).toFixed(2)} µs/op  rounds ${f(bs)}`);
  console.log(`  ${a[0]} ÷ ${b[0]}: median ${median(ratios).toFixed(2)}×  rounds ${f(ratios)}`);
}

const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const idp = {
  issuer: 'https://idp.bench.example',
  privateKeys: { RS256: privateKey, ES256: privateKey },
} as unknown as Idp;
const [token] = mintTokens(idp, 'RS256', 1) as [string];

const encode = (json: JsonValue): Uint8Array =>
  toBinary(CheckRequestSchema, fromJson(CheckRequestSchema, json));
// As the traffic stage sends them: request ids, trace ids and forwarded-for differ per request
// (so the decoder's cache of short strings misses on those, as it would in production).
const trafficRequests = Array.from({ length: 1000 }, (_, i) =>
  encode(trafficRequestJson(token, i)),
);
const traffic = trafficRequests[0] as Uint8Array;
const small = encode(checkRequestJson('rbac', token));
console.log(`traffic CheckRequest ${traffic.length} bytes, check-level ${small.length} bytes`);

/** `decode` over `requests` round-robin, one per call. */
function roundRobin(requests: readonly Uint8Array[], decode: (b: Uint8Array) => unknown) {
  let i = 0;
  return () => decode(requests[i++ % requests.length] as Uint8Array);
}

for (const [name, requests] of [
  ['traffic (1,000 distinct, round-robin)', trafficRequests],
  ['check-level (rbac)', [small]],
] as const) {
  compare(
    `decode ${name} CheckRequest`,
    ['protobuf-es fromBinary', roundRobin(requests, (b) => fromBinary(CheckRequestSchema, b))],
    ['decodeCheckRequest', roundRobin(requests, decodeCheckRequest)],
  );
}

const header = (key: string, value: string) =>
  create(HeaderValueOptionSchema, { header: { key, value }, appendAction: 2 });
const allow = create(CheckResponseSchema, {
  status: create(StatusSchema, { code: 0 }),
  httpResponse: {
    case: 'okResponse',
    value: create(OkHttpResponseSchema, {
      headers: [
        header('x-gatehouse-user', 'user-7'),
        header('x-gatehouse-email', 'user-7@example.com'),
        header('x-gatehouse-groups', 'reader,writer'),
        header('x-gatehouse-auth', 'bearer'),
        header('x-gatehouse-identity', 'eyJhbGciOiJFUzI1NiJ9.'.padEnd(400, 'x')),
        header('x-role', 'writer'),
      ],
      headersToRemove: ['authorization', 'cookie'],
    }),
  },
});
console.log(`allow CheckResponse ${toBinary(CheckResponseSchema, allow).length} bytes`);
compare(
  'encode allow CheckResponse',
  ['protobuf-es toBinary', () => toBinary(CheckResponseSchema, allow)],
  ['encodeCheckResponse', () => encodeCheckResponse(allow)],
);
compare(
  'encode allow CheckResponse (toBinary) against decode of the traffic request (fromBinary)',
  ['toBinary response', () => toBinary(CheckResponseSchema, allow)],
  ['fromBinary traffic', () => fromBinary(CheckRequestSchema, traffic)],
);
