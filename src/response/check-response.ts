import { create } from '@bufbuild/protobuf';
import {
  HeaderValueOption_HeaderAppendAction,
  HeaderValueOptionSchema,
  QueryParameterSchema,
  type HeaderValueOption,
} from '../gen/envoy/config/core/v3/base_pb.js';
import {
  CheckResponseSchema,
  DeniedHttpResponseSchema,
  OkHttpResponseSchema,
  type CheckResponse,
} from '../gen/envoy/service/auth/v3/external_auth_pb.js';
import { HttpStatusSchema, StatusCodeSchema } from '../gen/envoy/type/v3/http_status_pb.js';
import { StatusSchema } from '../gen/google/rpc/status_pb.js';
import type { Decision, HeaderEntry } from '../decision/types.js';
import { GrpcCode } from '../errors/codes.js';
import type { GatehouseError } from '../errors/gatehouse-error.js';
import type { LocalReply } from '../reserved/reply.js';
import { isSafeHeader } from '../http/header-safety.js';

/** HTTP statuses Envoy's `HttpStatus.code` accepts (its enum's defined values, never 0). */
const ENVOY_STATUSES: ReadonlySet<number> = new Set(
  StatusCodeSchema.values.map((v) => v.number).filter((n) => n !== 0),
);

/** Whether Envoy accepts `status` in a denied response. */
export function isEnvoyHttpStatus(status: number): boolean {
  return ENVOY_STATUSES.has(status);
}

/** Headers Gatehouse adds to a decision's response: identity headers, cookies. */
export interface ResponseExtras {
  /** Allow: set on the upstream request (replacing the policy's and the client's copies). */
  readonly requestHeaders: readonly HeaderEntry[];
  /** Allow: removed from the upstream request. */
  readonly removeRequestHeaders: readonly string[];
  /** Allow: added to the upstream's response; deny: added to the deny response (`set-cookie`). */
  readonly responseHeaders: readonly HeaderEntry[];
}

const NO_EXTRAS: ResponseExtras = Object.freeze({ requestHeaders: [], removeRequestHeaders: [], responseHeaders: [] });

/**
 * Map a decision onto the CheckResponse Envoy expects.
 *
 * Allow: `status` OK and an `OkHttpResponse` with the policy's upstream headers, removals,
 * response headers and query changes. Deny: `status` PERMISSION_DENIED and a
 * `DeniedHttpResponse` with the policy's status (403 by default), headers and body.
 * `dynamic_metadata` is set on both.
 *
 * Every header's `append` is set explicitly, because Envoy versions disagree on its default:
 * the first value of a name replaces what the request carried (so a client cannot pre-seed a
 * header the policy sets); further values of the same name are appended.
 */
export function decisionToCheckResponse(decision: Decision, extra: ResponseExtras = NO_EXTRAS): CheckResponse {
  const dynamicMetadata = decision.dynamicMetadata;
  if (decision.allowed) {
    // Gatehouse's own request headers (identity, cookie) win over the policy's and over the
    // client's: the policy's copies of those names are dropped.
    const own = new Set([...extra.requestHeaders.map((h) => h.name), ...extra.removeRequestHeaders]);
    const removals = [...decision.requestHeadersToRemove.filter((n) => !own.has(n)), ...extra.removeRequestHeaders];
    return create(CheckResponseSchema, {
      status: create(StatusSchema, { code: GrpcCode.OK }),
      httpResponse: {
        case: 'okResponse',
        value: create(OkHttpResponseSchema, {
          headers: headerOptions([...decision.headers.filter((h) => !own.has(h.name)), ...extra.requestHeaders]),
          headersToRemove: [...new Set(removals)],
          responseHeadersToAdd: headerOptions([...decision.responseHeadersToAdd, ...extra.responseHeaders]),
          queryParametersToSet: decision.queryParametersToSet.map((q) => create(QueryParameterSchema, q)),
          queryParametersToRemove: [...decision.queryParametersToRemove],
        }),
      },
      ...(dynamicMetadata === undefined ? {} : { dynamicMetadata }),
    });
  }
  return create(CheckResponseSchema, {
    status: create(StatusSchema, { code: GrpcCode.PERMISSION_DENIED }),
    httpResponse: {
      case: 'deniedResponse',
      value: create(DeniedHttpResponseSchema, {
        status: create(HttpStatusSchema, { code: decision.httpStatus ?? 403 }),
        headers: headerOptions([...decision.headers, ...extra.responseHeaders]),
        body: decision.body ?? '',
      }),
    },
    ...(dynamicMetadata === undefined ? {} : { dynamicMetadata }),
  });
}

/**
 * The deny Envoy sends when Gatehouse itself failed: the error's gRPC code in `status`, its
 * HTTP status and a small JSON body with the stable code and the request id. The detail in
 * `cause` never leaves the process.
 */
export function errorToCheckResponse(error: GatehouseError, requestId: string): CheckResponse {
  const spec = error.spec;
  const body = JSON.stringify({ error: error.code, message: spec.message, request_id: requestId });
  return create(CheckResponseSchema, {
    status: create(StatusSchema, { code: spec.grpc === GrpcCode.OK ? GrpcCode.INTERNAL : spec.grpc, message: error.code }),
    httpResponse: {
      case: 'deniedResponse',
      value: create(DeniedHttpResponseSchema, {
        status: create(HttpStatusSchema, { code: spec.http }),
        headers: headerOptions([
          { name: 'content-type', value: 'application/json' },
          { name: 'cache-control', value: 'no-store' },
          { name: 'x-gatehouse-error', value: error.code },
        ]),
        body,
      }),
    },
  });
}

/**
 * A response Gatehouse answers itself (reserved paths, sign-in redirects, its pages) as the
 * DeniedHttpResponse Envoy sends to the client unchanged, whatever its status.
 */
export function localReplyToCheckResponse(reply: LocalReply): CheckResponse {
  return create(CheckResponseSchema, {
    status: create(StatusSchema, { code: reply.status === 401 ? GrpcCode.UNAUTHENTICATED : GrpcCode.PERMISSION_DENIED }),
    httpResponse: {
      case: 'deniedResponse',
      value: create(DeniedHttpResponseSchema, {
        status: create(HttpStatusSchema, { code: reply.status }),
        headers: headerOptions(reply.headers.map(([name, value]) => ({ name, value }))),
        body: reply.body,
      }),
    },
  });
}

/**
 * The one place every header Gatehouse writes passes through. A header whose name is not a token
 * or whose value holds a control character (CR, LF, NUL, …) is never written, whoever produced
 * it (the policy, a page, a claim, the request's `:authority`): dropping it is the safe answer
 * (a header cannot be split into two, a response cannot be smuggled), and the rest of the
 * decision stands.
 */
function headerOptions(entries: readonly HeaderEntry[]): HeaderValueOption[] {
  const seen = new Set<string>();
  return entries.filter(({ name, value }) => isSafeHeader(name, value)).map(({ name, value }) => {
    if (name === 'set-cookie') {
      // Each cookie must be its own header line, added to whatever is there. The deprecated
      // `append: true` makes Envoy (1.40) use appendCopy, which on a local reply without the
      // header adds nothing: the cookie would be lost. append_action ADD does the right thing.
      return create(HeaderValueOptionSchema, {
        header: { key: name, value },
        appendAction: HeaderValueOption_HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD,
      });
    }
    const append = seen.has(name);
    seen.add(name);
    return create(HeaderValueOptionSchema, {
      header: { key: name, value },
      // A wrapper field: `false` is sent on the wire, not left unset.
      append,
    });
  });
}
