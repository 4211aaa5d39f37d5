import type { DeviceInput } from './device.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import type { CheckRequest } from '../gen/envoy/service/auth/v3/external_auth_pb.js';
import { attributesToJson } from './attributes.js';
import { requestHeader } from './headers.js';
import { parseBody } from './parse-body.js';
import { parsePath } from './parse-path.js';
import { INPUT_VERSION, type Identity, type PolicyInput } from './types.js';

/**
 * Turn a CheckRequest into the policy input document: the OPA-Envoy plugin's input (`attributes`,
 * `parsed_path`, `parsed_query`, `parsed_body`, `truncated_body`, `version`, and `source_principal`
 * when the source peer has one) plus `identity`, and `device` when one is given.
 *
 * The path is `attributes.request.http.path` (Envoy's `:path`, query included).
 *
 * @example
 *   const input = buildInput(checkRequest, ANONYMOUS);
 *   input.parsed_path; // ['api', 'v1', 'products']
 * @throws {GatehouseError} `ERR_REQUEST_INVALID` when `attributes.request.http` is missing, the
 *   attributes cannot be written as JSON (a non-finite number in metadata), `content-length` is not a number, or `body` and
 *   `raw_body` disagree.
 * @throws {GatehouseError} `ERR_PATH_INVALID` when the path or query cannot be parsed safely.
 * @throws {GatehouseError} `ERR_BODY_INVALID` when the body does not match its content type.
 */
export function buildInput(
  req: CheckRequest,
  identity: Identity,
  device?: DeviceInput,
): PolicyInput {
  const attributes = req.attributes;
  const http = attributes?.request?.http;
  if (attributes === undefined || http === undefined) {
    throw new GatehouseError('ERR_REQUEST_INVALID', {
      cause: new Error('missing attributes.request.http'),
    });
  }
  const { parsedPath, parsedQuery } = parsePath(http.path);
  const { parsedBody, truncated } = parseBody({
    contentType: requestHeader(http, 'content-type'),
    contentLength: requestHeader(http, 'content-length'),
    partialBody: requestHeader(http, 'x-envoy-auth-partial-body'),
    body: http.body,
    rawBody: http.rawBody,
  });
  const input: PolicyInput = {
    attributes: attributesToJson(attributes),
    parsed_path: parsedPath,
    parsed_query: parsedQuery,
    parsed_body: parsedBody,
    truncated_body: truncated,
    version: INPUT_VERSION,
    identity,
    ...(device === undefined ? {} : { device }),
  };
  // As the plugin's RequestToInput: the source peer's principal, only when there is one.
  const principal = attributes.source?.principal ?? '';
  return principal === '' ? input : { ...input, source_principal: principal };
}
