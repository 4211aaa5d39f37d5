import type { CheckRequest } from '../gen/envoy/service/auth/v3/external_auth_pb.js';

/** What the identity and reserved-path stages read from a CheckRequest. */
export interface RequestView {
  readonly method: string;
  /** `:authority` as Envoy saw it (host[:port]). */
  readonly host: string;
  readonly scheme: string;
  /** The raw path with its query, exactly as sent. */
  readonly path: string;
  /** The path without the query. */
  readonly pathname: string;
  /** Request headers, lowercase names (as Envoy sends them). */
  readonly headers: Readonly<Record<string, string>>;
  readonly requestId: string;
  /** The body Envoy sent (`with_request_body`), bytes as received; empty when none. */
  readonly body?: Uint8Array;
  /**
   * SHA-256 (lower-case hex) of the client certificate accepted into `input.device` (set by the
   * Check handler when the `device` section is configured); absent when there is none.
   */
  readonly deviceFingerprint?: string;
}

const EMPTY: Readonly<Record<string, string>> = Object.freeze({});

/** Read the request view; fields Envoy did not send are empty strings. */
export function requestView(request: CheckRequest): RequestView {
  const http = request.attributes?.request?.http;
  const headers = http?.headers ?? EMPTY;
  const path = http?.path || headers[':path'] || '';
  const q = path.indexOf('?');
  return {
    method: http?.method || headers[':method'] || '',
    host: (http?.host || headers[':authority'] || '').toLowerCase(),
    scheme: http?.scheme || headers[':scheme'] || 'https',
    path,
    pathname: q < 0 ? path : path.slice(0, q),
    headers,
    requestId: headers['x-request-id'] ?? http?.id ?? '',
    body:
      http === undefined || http.rawBody.length > 0
        ? (http?.rawBody ?? new Uint8Array(0))
        : Buffer.from(http.body, 'utf8'),
  };
}
