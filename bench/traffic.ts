/**
 * Traffic shaped like production for the benchmark's `traffic` stage: many users, each with its
 * own access token, and requests as a browser-fronted API sees them.
 *
 * - Tokens: `count` distinct RS256 or ES256 access tokens (one user each: `sub` user-<i>,
 *   groups reader + writer), minted with node:crypto from the bench IdP's keys (jose's SignJWT
 *   would take minutes for RS256 at these counts on a busy machine; the JWS is the same).
 * - Requests: `POST /api/orders` with ~20 headers (~1.5 KB: a browser's accept-*, user agent,
 *   client hints, a cookie header with analytics and CSRF cookies, tracing and forwarding
 *   headers) and a 1 KB JSON body (`http.body`, as Envoy's `with_request_body` sends it).
 * - ghz sends the messages of its data file round-robin (`-D` with a JSON array), so the token
 *   changes on every request. With more distinct tokens than Gatehouse's 10,000-entry verified
 *   token cache, the round-robin order makes every Check a cache miss (least recently used is
 *   always the next one needed): "a new token on every request" for Gatehouse. The plugin
 *   verifies in Rego on every request whatever the count.
 */
import { KeyObject, randomUUID, sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromJson, toBinary, type JsonValue } from '@bufbuild/protobuf';
import { CheckRequestSchema } from '../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import { DEFAULT_SESSION_COOKIE } from '../src/identity/session/cookie.js';
import { derToRaw } from '../src/keys/ecdsa-signature.js';
import { API_AUDIENCE, type Idp } from './systems.js';

export type TokenAlg = 'RS256' | 'ES256';

/** `count` distinct access tokens signed by the IdP's `alg` key, valid for a day. */
export function mintTokens(idp: Idp, alg: TokenAlg, count: number): string[] {
  const key = KeyObject.from(idp.privateKeys[alg]);
  const kid = alg === 'RS256' ? 'bench-1' : 'bench-es-1';
  const header = Buffer.from(JSON.stringify({ alg, kid, typ: 'at+jwt' })).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) {
    const claims = {
      iss: idp.issuer,
      aud: API_AUDIENCE,
      sub: `user-${i}`,
      email: `user-${i}@example.com`,
      email_verified: true,
      name: `User ${i}`,
      groups: ['reader', 'writer'],
      client_id: 'bench-client',
      scope: 'openid profile email orders:write',
      iat: now,
      exp: now + 86_400,
      jti: randomUUID(),
    };
    const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    const der = sign('sha256', Buffer.from(input), key);
    const signature = alg === 'ES256' ? derToRaw(der, 32) : der;
    tokens.push(`${input}.${signature.toString('base64url')}`);
  }
  return tokens;
}

const ORDER = {
  customer: 'c-4711',
  currency: 'EUR',
  items: Array.from({ length: 10 }, (_, i) => ({
    sku: `SKU-${1000 + i}`,
    quantity: (i % 3) + 1,
    price: 9.99 + i,
    note: 'gift wrap, deliver to the side door',
  })),
  comment: '',
};
/**
 * The request body: a valid JSON order of exactly 1,024 bytes (its `comment` pads it). It must
 * parse: a body cut short is `ERR_BODY_INVALID` for Gatehouse, and the stage would measure the
 * error path (it did, until the probe in bench/run.ts caught it).
 */
const BODY = JSON.stringify({
  ...ORDER,
  comment: 'x'.repeat(Math.max(0, 1024 - Buffer.byteLength(JSON.stringify(ORDER)))),
});
if (Buffer.byteLength(BODY) !== 1024) throw new Error(`traffic body is ${BODY.length} bytes`);

/**
 * How a request carries its caller: an `Authorization: Bearer` access token (an API client), or
 * the session cookie `__Host-gatehouse` among the site's other cookies (a browser signed in).
 */
export type Credential = 'bearer' | 'session';

/** Gatehouse's session cookie (src/identity/session/cookie.ts). */
export const SESSION_COOKIE = DEFAULT_SESSION_COOKIE;

const SITE_COOKIES =
  '_ga=GA1.1.1498351716.1732012345; _ga_X1Y2Z3=GS1.1.1732012345.4.1.1732013456.0.0.0; ' +
  'csrftoken=Jm3qT5vV9xR2kL8pN4wZ7cY1bH6dF0sA; theme=dark; locale=en-GB; ' +
  `consent=necessary%2Canalytics; cart=${'a1b2c3d4'.repeat(6)}`;

/**
 * One production-shaped CheckRequest carrying `token` (protobuf-JSON, as ghz takes it): as a
 * bearer token, or (`session`) as the value of the session cookie, sent as a browser sends it
 * (between the analytics and the CSRF cookies, no `authorization` header).
 */
export function trafficRequestJson(
  token: string,
  i: number,
  credential: Credential = 'bearer',
): JsonValue {
  const id = `6f1c1f2e-8a43-4a39-9d2b-${String(i).padStart(12, '0')}`;
  const headers: Record<string, string> = {
    ':authority': 'app.example.com',
    ':method': 'POST',
    ':path': '/api/orders?source=web&ref=cart',
    ':scheme': 'https',
    accept: 'application/json, text/plain, */*',
    'accept-encoding': 'gzip, deflate, br, zstd',
    'accept-language': 'en-GB,en;q=0.9,de;q=0.8,fr;q=0.7',
    ...(credential === 'bearer' ? { authorization: `Bearer ${token}` } : {}),
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(BODY)),
    cookie:
      credential === 'bearer'
        ? SITE_COOKIES
        : SITE_COOKIES.replace('; csrftoken=', `; ${SESSION_COOKIE}=${token}; csrftoken=`),
    origin: 'https://app.example.com',
    referer: 'https://app.example.com/cart?step=review',
    'sec-ch-ua': '"Chromium";v="131", "Not_A Brand";v="24", "Google Chrome";v="131"',
    'sec-ch-ua-mobile': '?0',
    'sec-ch-ua-platform': '"Linux"',
    'sec-fetch-dest': 'empty',
    'sec-fetch-mode': 'cors',
    'sec-fetch-site': 'same-origin',
    'user-agent':
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    traceparent: `00-${id.replaceAll('-', '').padEnd(32, '0')}-00f067aa0ba902b7-01`,
    'x-forwarded-for': `203.0.113.${i % 250}, 10.0.0.1`,
    'x-forwarded-proto': 'https',
    'x-request-id': id,
    'x-envoy-expected-rq-timeout-ms': '15000',
  };
  return {
    attributes: {
      source: { address: { socketAddress: { address: '10.0.0.1', portValue: 50000 } } },
      destination: { address: { socketAddress: { address: '10.0.0.2', portValue: 8080 } } },
      request: {
        time: '2026-11-23T12:00:00Z',
        http: {
          id,
          method: 'POST',
          headers,
          path: '/api/orders?source=web&ref=cart',
          host: 'app.example.com',
          scheme: 'https',
          protocol: 'HTTP/2',
          size: String(Buffer.byteLength(BODY)),
          body: BODY,
        },
      },
      contextExtensions: { route: 'app' },
    },
  };
}

/** Header bytes of one request as sent (names + values), for the report. */
export function headerBytes(request: JsonValue): number {
  const headers = (request as { attributes: { request: { http: { headers: object } } } }).attributes
    .request.http.headers as Record<string, string>;
  return Object.entries(headers).reduce((n, [k, v]) => n + k.length + v.length + 4, 0);
}

/** One traffic CheckRequest as a gRPC unary request body (5-byte length prefix + protobuf). */
export function trafficGrpcBody(token: string, credential: Credential = 'bearer'): Buffer {
  return grpcFrame(trafficRequestJson(token, 0, credential));
}

/**
 * Write the load generator's frames file (bench/loadgen.ts): one CheckRequest per token as a gRPC
 * frame, back to back, sent round-robin.
 */
export function writeTrafficFrames(
  dir: string,
  name: string,
  tokens: readonly string[],
  credential: Credential = 'bearer',
): string {
  const file = join(dir, `traffic-${name}.grpc`);
  writeFileSync(
    file,
    Buffer.concat(tokens.map((t, i) => grpcFrame(trafficRequestJson(t, i, credential)))),
  );
  return file;
}

function grpcFrame(json: JsonValue): Buffer {
  const message = toBinary(CheckRequestSchema, fromJson(CheckRequestSchema, json));
  const body = Buffer.alloc(5 + message.length);
  body.writeUInt32BE(message.length, 1);
  body.set(message, 5);
  return body;
}

/** Write the ghz data file: one CheckRequest per token, sent round-robin. */
export function writeTrafficRequests(dir: string, name: string, tokens: readonly string[]): string {
  const file = join(dir, `traffic-${name}.json`);
  const requests = tokens.map((t, i) => trafficRequestJson(t, i));
  fromJson(CheckRequestSchema, requests[0] as JsonValue); // valid protobuf-JSON, as ghz needs
  writeFileSync(file, JSON.stringify(requests));
  return file;
}
