/**
 * What the conformance test compares: a CheckResponse (or a gRPC error) reduced to what it means
 * for Envoy, and what a real Envoy then did with it.
 */
import { toJson } from '@bufbuild/protobuf';
import { isDeepStrictEqual } from 'node:util';
import {
  CheckResponseSchema,
  type CheckResponse,
} from '../../src/gen/envoy/service/auth/v3/external_auth_pb.js';

/** A CheckResponse, reduced. Header lists are sorted `name: value` lines (names lower-cased). */
export type Decided =
  | { readonly kind: 'error' }
  | {
      readonly kind: 'allow';
      readonly headers: readonly string[];
      readonly headersToRemove: readonly string[];
      readonly responseHeadersToAdd: readonly string[];
      readonly queryParametersToSet: readonly string[];
      readonly queryParametersToRemove: readonly string[];
      readonly dynamicMetadata: unknown;
    }
  | {
      readonly kind: 'deny';
      readonly status: number;
      readonly headers: readonly string[];
      readonly body: string;
      readonly dynamicMetadata: unknown;
    };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * Gatehouse's own additions to every allow (docs/reference/input.md, "Additions"): client-sent
 * `x-gatehouse-*` identity headers are removed. Listed as an addition in known-differences.json.
 */
export function isGatehouseOwnHeader(name: string): boolean {
  return name.toLowerCase().startsWith('x-gatehouse-');
}

function lines(
  options: readonly { header?: { key: string; value: string } | undefined }[],
): string[] {
  return options
    .map((o) => `${(o.header?.key ?? '').toLowerCase()}: ${o.header?.value ?? ''}`)
    .sort();
}

/**
 * Reduce a Check answer. `decision_id` must be in the dynamic metadata as a UUID (the plugin's
 * format); it is then dropped, being random.
 *
 * @throws Error when `decision_id` is missing or malformed on a non-error answer.
 */
export function decided(response: CheckResponse | Error, system: 'plugin' | 'gatehouse'): Decided {
  if (response instanceof Error) return { kind: 'error' };
  const r = response.httpResponse;
  // The plugin answers a request it cannot parse with a 400 whose status carries the error text;
  // Gatehouse marks its own error answers with x-gatehouse-error.
  if (system === 'plugin' && (response.status?.message ?? '') !== '') return { kind: 'error' };
  if (
    r.case === 'deniedResponse' &&
    r.value.headers.some((h) => h.header?.key === 'x-gatehouse-error')
  )
    return { kind: 'error' };
  const metadata = {
    ...((toJson(CheckResponseSchema, response) as { dynamicMetadata?: Record<string, unknown> })
      .dynamicMetadata ?? {}),
  };
  const id = metadata['decision_id'];
  if (typeof id !== 'string' || !UUID.test(id))
    throw new Error(
      `${system}: decision_id missing or not a UUID v4 in ${JSON.stringify(metadata)}`,
    );
  delete metadata['decision_id'];
  if ((response.status?.code ?? 0) === 0) {
    const ok = r.case === 'okResponse' ? r.value : undefined;
    const own = (line: string): boolean =>
      system === 'gatehouse' && isGatehouseOwnHeader(line.split(':')[0] ?? '');
    return {
      kind: 'allow',
      headers: lines(ok?.headers ?? []).filter((l) => !own(l)),
      headersToRemove: (ok?.headersToRemove ?? [])
        .map((n) => n.toLowerCase())
        .filter((n) => !own(n))
        .sort(),
      responseHeadersToAdd: lines(ok?.responseHeadersToAdd ?? []),
      queryParametersToSet: (ok?.queryParametersToSet ?? [])
        .map((q) => `${q.key}=${q.value}`)
        .sort(),
      queryParametersToRemove: [...(ok?.queryParametersToRemove ?? [])].sort(),
      dynamicMetadata: metadata,
    };
  }
  const denied = r.case === 'deniedResponse' ? r.value : undefined;
  return {
    kind: 'deny',
    // No denied_response (a boolean false from the plugin): Envoy sends 403.
    status: denied?.status?.code ?? 403,
    headers: lines(denied?.headers ?? []),
    body: denied?.body ?? '',
    dynamicMetadata: metadata,
  };
}

/** What the client and the upstream saw, through a real Envoy. */
export interface Observed {
  readonly status: number;
  /** Response headers as `name: value` lines, sorted, without per-request ones (date, timings). */
  readonly headers: readonly string[];
  /** The body on a deny; on an allow, what reached the upstream instead. */
  readonly body: string;
  readonly upstream: { readonly url: string; readonly headers: readonly string[] } | undefined;
}

/** The first difference between two values as a path and both sides, or undefined when equal. */
export function firstDifference(a: unknown, b: unknown, path = ''): string | undefined {
  if (isDeepStrictEqual(a, b)) return undefined;
  if (
    typeof a === 'object' &&
    a !== null &&
    typeof b === 'object' &&
    b !== null &&
    Array.isArray(a) === Array.isArray(b)
  ) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const key of [...keys].sort()) {
      const d = firstDifference(
        (a as Record<string, unknown>)[key],
        (b as Record<string, unknown>)[key],
        `${path}.${key}`,
      );
      if (d !== undefined) return d;
    }
  }
  return `${path || '.'}: plugin ${JSON.stringify(a)} vs gatehouse ${JSON.stringify(b)}`;
}
