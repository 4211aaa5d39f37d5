import { create, fromJson, type JsonValue } from '@bufbuild/protobuf';
import {
  CheckRequestSchema,
  type CheckRequest,
} from '../gen/envoy/service/auth/v3/external_auth_pb.js';

/**
 * Turn a recorded request into a CheckRequest. Two forms are accepted:
 * - a CheckRequest in protobuf JSON (`{"attributes": {...}}`), as Envoy sends it;
 * - a simple form: `{"method": "GET", "url": "https://app.example.com/x?y=1",
 *   "headers": {"accept": "text/html"}, "body": "...", "context_extensions": {"route": "app"}}`.
 *
 * @throws Error naming what is wrong with the file.
 */
export function parseRecordedRequest(json: unknown): CheckRequest {
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw new Error('the request must be a JSON object');
  const doc = json as Record<string, unknown>;
  if ('attributes' in doc) return fromJson(CheckRequestSchema, json as JsonValue);
  if (typeof doc['url'] !== 'string')
    throw new Error(
      'the simple form needs "url" (an absolute URL) or use a CheckRequest with "attributes"',
    );
  const url = new URL(doc['url']);
  const method = typeof doc['method'] === 'string' ? doc['method'].toUpperCase() : 'GET';
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(
    (doc['headers'] as Record<string, unknown> | undefined) ?? {},
  )) {
    if (typeof v !== 'string') throw new Error(`header ${k} must be a string`);
    headers[k.toLowerCase()] = v;
  }
  // Take the path exactly as written after the authority: new URL() would normalise it.
  const path = doc['url'].replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '').replace(/#.*$/, '') || '/';
  headers[':authority'] ??= url.host;
  headers[':method'] ??= method;
  headers[':path'] ??= path;
  headers[':scheme'] ??= url.protocol.replace(':', '');
  const body = typeof doc['body'] === 'string' ? doc['body'] : '';
  const ext = (doc['context_extensions'] as Record<string, string> | undefined) ?? {};
  return create(CheckRequestSchema, {
    attributes: {
      request: {
        http: {
          method,
          headers,
          path,
          host: url.host,
          scheme: url.protocol.replace(':', ''),
          protocol: 'HTTP/1.1',
          body,
          size: BigInt(Buffer.byteLength(body)),
        },
      },
      contextExtensions: ext,
    },
  });
}
