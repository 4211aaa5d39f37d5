/**
 * The requests of the OPA docs' Envoy and Istio tutorials, as Envoy sends them for each `curl`
 * the tutorials run (the tokens are read from the tutorial itself).
 */
import { create } from '@bufbuild/protobuf';
import { TimestampSchema } from '@bufbuild/protobuf/wkt';
import { CheckRequestSchema } from '../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import type { RequestCase } from './sources.js';

/** The CheckRequest Envoy sends for `curl [-X method] [-H authorization] [-d body] http://host/path`. */
export function curlRequest(
  id: string,
  options: { method?: string; host: string; path: string; authorization?: string; json?: string },
): RequestCase {
  const method = options.method ?? 'GET';
  const body = options.json ?? '';
  const headers: Record<string, string> = {
    ':authority': options.host,
    ':method': method,
    ':path': options.path,
    ':scheme': 'http',
    accept: '*/*',
    'user-agent': 'curl/8.1.2',
    'x-forwarded-proto': 'http',
    'x-request-id': '5b1e0c33-2f55-4b6a-9d4e-6f1a1c2b3d4e',
  };
  if (options.authorization !== undefined) headers['authorization'] = options.authorization;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  return {
    id,
    request: create(CheckRequestSchema, {
      attributes: {
        source: {
          address: {
            address: {
              case: 'socketAddress',
              value: { address: '10.244.0.7', portSpecifier: { case: 'portValue', value: 51234 } },
            },
          },
        },
        destination: {
          address: {
            address: {
              case: 'socketAddress',
              value: { address: '10.244.0.12', portSpecifier: { case: 'portValue', value: 8000 } },
            },
          },
        },
        request: {
          time: create(TimestampSchema, { seconds: 1_700_000_000n, nanos: 250_000_000 }),
          http: {
            id: '14608471396412341414',
            method,
            headers,
            path: options.path,
            host: options.host,
            scheme: 'http',
            protocol: 'HTTP/1.1',
            size: BigInt(Buffer.byteLength(body)),
            body,
          },
        },
      },
    }),
  };
}

/** Each curl of the standalone Envoy tutorial ("See the Policy in Action"). */
export function envoyTutorialRequests(tokens: { alice: string; bob: string }): RequestCase[] {
  const host = 'example-app';
  const bearer = (t: string): string => `Bearer ${t}`;
  return [
    curlRequest('envoy tutorial: alice lists people', {
      host,
      path: '/people',
      authorization: bearer(tokens.alice),
    }),
    curlRequest('envoy tutorial: bob lists people', {
      host,
      path: '/people',
      authorization: bearer(tokens.bob),
    }),
    curlRequest('envoy tutorial: alice creates Foo', {
      method: 'POST',
      host,
      path: '/people',
      authorization: bearer(tokens.alice),
      json: '{"firstname":"Foo", "lastname":"Bar"}',
    }),
    curlRequest('envoy tutorial: bob creates Foo', {
      method: 'POST',
      host,
      path: '/people',
      authorization: bearer(tokens.bob),
      json: '{"firstname":"Foo", "lastname":"Bar"}',
    }),
    curlRequest('envoy tutorial: bob creates Bob (conflict)', {
      method: 'POST',
      host,
      path: '/people',
      authorization: bearer(tokens.bob),
      json: '{"firstname":"Bob", "lastname":"Bar"}',
    }),
    curlRequest('envoy tutorial: no token', { host, path: '/people' }),
  ];
}

/** Each curl of the Istio tutorial ("Exercise the OPA policy"), plus its health path. */
export function istioTutorialRequests(): RequestCase[] {
  const host = '127.0.0.1';
  const basic = (user: string): string =>
    `Basic ${Buffer.from(`${user}:password`).toString('base64')}`;
  return [
    curlRequest('istio tutorial: alice /productpage', {
      host,
      path: '/productpage',
      authorization: basic('alice'),
    }),
    curlRequest('istio tutorial: alice /api/v1/products', {
      host,
      path: '/api/v1/products',
      authorization: basic('alice'),
    }),
    curlRequest('istio tutorial: bob /productpage', {
      host,
      path: '/productpage',
      authorization: basic('bob'),
    }),
    curlRequest('istio tutorial: bob /api/v1/products', {
      host,
      path: '/api/v1/products',
      authorization: basic('bob'),
    }),
    curlRequest('istio tutorial: /health', { host, path: '/health' }),
  ];
}
