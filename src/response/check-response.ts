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
import type { Decision, HeaderEntry, JsonObject } from '../decision/types.js';
import { GrpcCode } from '../errors/codes.js';
import type { GatehouseError } from '../errors/gatehouse-error.js';
import type { LocalReply } from '../pages/reply.js';
import { isSafeHeader } from './header-safety.js';

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

const NO_EXTRAS: ResponseExtras = Object.freeze({
  requestHeaders: [],
  removeRequestHeaders: [],
  responseHeaders: [],
});

/**
 * Map a decision onto the CheckResponse Envoy expects.
 *
 * Allow: `status` OK and an `OkHttpResponse` with the policy's upstream headers, removals,
 * response headers and query changes. Deny: `status` PERMISSION_DENIED and a
 * `DeniedHttpResponse` with the policy's status (403 by default), headers and body.
 * `dynamic_metadata` is set on both.
 *
 * Every value of a multi-valued header reaches its target (see {@link headerOptions}): the first
 * value of an upstream header replaces what the request carried (so a client cannot pre-seed a
 * header the policy sets); further values are added.
 */
export function decisionToCheckResponse(
  decision: Decision,
  extra: ResponseExtras = NO_EXTRAS,
): CheckResponse {
  const dynamicMetadata = decision.dynamicMetadata;
  if (decision.allowed) {
    // Gatehouse's own request headers (identity, cookie) win over the policy's and over the
    // client's: the policy's copies of those names are dropped.
    const own = new Set([
      ...extra.requestHeaders.map((h) => h.name),
      ...extra.removeRequestHeaders,
    ]);
    const upstream = [...decision.headers.filter((h) => !own.has(h.name)), ...extra.requestHeaders];
    // A header that cannot be written (a control character) must not leave the client's copy of
    // that name in place: every value of it is dropped and the name removed (a spoofed identity
    // header or the original cookie header would otherwise pass through).
    const unwritable = new Set(
      upstream.filter(({ name, value }) => !isSafeHeader(name, value)).map((h) => h.name),
    );
    const removals = [
      ...decision.requestHeadersToRemove.filter((n) => !own.has(n)),
      ...extra.removeRequestHeaders,
      ...[...unwritable].filter((n) => isSafeHeader(n, '')),
    ];
    return create(CheckResponseSchema, {
      status: create(StatusSchema, { code: GrpcCode.OK }),
      httpResponse: {
        case: 'okResponse',
        value: create(OkHttpResponseSchema, {
          headers: headerOptions(
            upstream.filter((h) => !unwritable.has(h.name)),
            'upstream',
          ),
          headersToRemove: [...new Set(removals)],
          responseHeadersToAdd: headerOptions(
            [...decision.responseHeadersToAdd, ...extra.responseHeaders],
            'add',
          ),
          queryParametersToSet: decision.queryParametersToSet.map((q) =>
            create(QueryParameterSchema, q),
          ),
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
    status: create(StatusSchema, {
      code: spec.grpc === GrpcCode.OK ? GrpcCode.INTERNAL : spec.grpc,
      message: error.code,
    }),
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
    status: create(StatusSchema, {
      code: reply.status === 401 ? GrpcCode.UNAUTHENTICATED : GrpcCode.PERMISSION_DENIED,
    }),
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
 * How a list of header entries is written, so that every value of a name arrives (each measured
 * through Envoy 1.40 by the conformance test, test/conformance/plugin.test.ts):
 *
 * - `upstream` (request headers on an allow): the first value of a name replaces what the request
 *   carried (`append: false`: a client cannot pre-seed a header the policy sets); later values are
 *   appended (`append: true`: Envoy joins them, `a,b`). The plugin sends no `append`, and Envoy
 *   then keeps only the last value.
 * - `local-reply` (the client's headers on a deny): the first value replaces (a policy's
 *   `content-type` replaces Envoy's); later values are added as their own lines with the default
 *   `append_action` (APPEND_IF_EXISTS_OR_ADD), as the plugin sends them. `append: true` would lose
 *   them: Envoy applies it with appendCopy, which adds nothing to a local reply.
 * - `add` (`response_headers_to_add`): every value with the default action, as the plugin: each is
 *   its own line at the client (`append: true` would keep only the first).
 *
 * A `set-cookie` is always added as its own line.
 *
 * It is also the one place every header Gatehouse writes passes through (issue 12 point 7): a
 * header whose name is not a token or whose value holds a control character (CR, LF, NUL, …) is
 * never written, whoever produced it (the policy, a page, a claim, the request's `:authority`).
 * Dropping it is the safe answer (a header cannot be split, a response cannot be smuggled) and
 * the rest of the decision stands.
 */
function headerOptions(
  entries: readonly HeaderEntry[],
  mode: 'upstream' | 'local-reply' | 'add' = 'local-reply',
): HeaderValueOption[] {
  const seen = new Set<string>();
  return entries
    .filter(({ name, value }) => isSafeHeader(name, value))
    .map(({ name, value }) => {
      const first = !seen.has(name);
      seen.add(name);
      const header = { key: name, value };
      if (name === 'set-cookie' || mode === 'add' || (mode === 'local-reply' && !first)) {
        return create(HeaderValueOptionSchema, {
          header,
          appendAction: HeaderValueOption_HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD,
        });
      }
      // A wrapper field: `false` is sent on the wire, not left unset.
      return create(HeaderValueOptionSchema, { header, append: !first });
    });
}

/**
 * `response` with `decision_id` set in its dynamic metadata, as the OPA-Envoy plugin sets it on
 * every response (a top-level key, replacing one the policy may have set). Envoy's access log
 * reads it as `%DYNAMIC_METADATA(envoy.filters.http.ext_authz:decision_id)%`.
 */
export function withDecisionId(response: CheckResponse, decisionId: string): CheckResponse {
  const metadata: JsonObject = {
    ...(response.dynamicMetadata as JsonObject | undefined),
    decision_id: decisionId,
  };
  response.dynamicMetadata = metadata;
  return response;
}
