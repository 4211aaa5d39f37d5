import type { AttributeContext_HttpRequest } from '../gen/envoy/service/auth/v3/attribute_context_pb.js';

const latin1 = new TextDecoder('latin1');

/**
 * One request header as Envoy sent it: from `headers` (names are lower-case), or, when Envoy is
 * configured with `encode_raw_headers`, from `header_map` (first matching entry; `raw_value`
 * decoded as Latin-1, HTTP's historical header charset).
 */
export function requestHeader(
  http: AttributeContext_HttpRequest,
  name: string,
): string | undefined {
  const value = http.headers[name];
  if (value !== undefined) return value;
  for (const h of http.headerMap?.headers ?? []) {
    if (h.key.toLowerCase() === name)
      return h.rawValue.length > 0 ? latin1.decode(h.rawValue) : h.value;
  }
  return undefined;
}
