import { GatehouseError } from '../errors/gatehouse-error.js';
import type { StepUp } from './step-up.js';
import type { Decision, DeviceRequirement, HeaderEntry, JsonObject, QueryEntry } from './types.js';

/** RFC 9110 token: the only characters a header name may have. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Header values may not carry CR, LF or NUL: no header injection through a policy. */
const UNSAFE_VALUE = /[\r\n\0]/;

const MAX_REASONS = 32;

/**
 * Validate and normalise the value of the policy's entrypoint into a {@link Decision}.
 * Accepts the OPA-Envoy plugin's forms: `true`/`false`, or an object with a boolean `allowed`
 * and optional `headers`, `response_headers_to_add`, `request_headers_to_remove`,
 * `query_parameters_to_set`, `query_parameters_to_remove`, `http_status`, `body`,
 * `dynamic_metadata`, plus Gatehouse's `reasons` and, on an allow, its step-up fields
 * `max_auth_age_seconds` and `acr_values` (src/decision/step-up.ts). Unknown keys are ignored, as the plugin does,
 * and so are fields that have no effect for the decision's outcome (`body` and `http_status` on an
 * allow; `response_headers_to_add`, `request_headers_to_remove` and the query fields on a deny).
 *
 * Stricter than the plugin where it is unsafe (test/conformance/known-differences.json): header
 * names must be RFC 9110 tokens and header and query values may not carry CR, LF or NUL.
 *
 * `isValidStatus` says which HTTP statuses Envoy accepts in a denied response.
 *
 * @throws GatehouseError `ERR_DECISION_UNDEFINED` when the rule produced no value;
 *   `ERR_DECISION_INVALID` for any other shape (detail in `cause`).
 */
export function normalizeDecision(
  value: unknown,
  isValidStatus: (status: number) => boolean,
): Decision {
  if (value === undefined) throw new GatehouseError('ERR_DECISION_UNDEFINED');
  if (typeof value === 'boolean') return value ? ALLOW : DENY;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid(`decision must be a boolean or an object, got ${kind(value)}`);
  }
  const d = value as Record<string, unknown>;
  if (typeof d['allowed'] !== 'boolean')
    throw invalid(`decision.allowed must be a boolean, got ${kind(d['allowed'])}`);

  // Like the plugin, each field is read (and validated) only where it has an effect: `http_status`
  // and `body` on a deny, the upstream-request and response-header fields on an allow. `headers`
  // and `dynamic_metadata` count on both.
  const allowed = d['allowed'];
  const httpStatus = allowed ? undefined : d['http_status'];
  if (
    httpStatus !== undefined &&
    (typeof httpStatus !== 'number' || !Number.isInteger(httpStatus) || !isValidStatus(httpStatus))
  ) {
    throw invalid(
      `decision.http_status must be an HTTP status Envoy accepts, got ${kind(httpStatus)}`,
    );
  }
  const body = allowed ? undefined : d['body'];
  if (body !== undefined && typeof body !== 'string')
    throw invalid(`decision.body must be a string, got ${kind(body)}`);
  const metadata = d['dynamic_metadata'];
  if (
    metadata !== undefined &&
    (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata))
  ) {
    throw invalid(`decision.dynamic_metadata must be an object, got ${kind(metadata)}`);
  }

  return {
    allowed,
    headers: headerEntries(d['headers'], 'headers'),
    responseHeadersToAdd: allowed
      ? headerEntries(d['response_headers_to_add'], 'response_headers_to_add')
      : [],
    requestHeadersToRemove: allowed
      ? headerNames(d['request_headers_to_remove'], 'request_headers_to_remove')
      : [],
    queryParametersToSet: allowed ? queryEntries(d['query_parameters_to_set']) : [],
    queryParametersToRemove: allowed
      ? stringList(d['query_parameters_to_remove'], 'query_parameters_to_remove')
      : [],
    httpStatus: httpStatus as number | undefined,
    body: body as string | undefined,
    dynamicMetadata: metadata as JsonObject | undefined,
    reasons: reasons(d['reasons']),
    stepUp: allowed ? stepUp(d['max_auth_age_seconds'], d['acr_values']) : undefined,
    requireDevice: allowed
      ? deviceRequirement(d['require_device'], d['require_user_verification'])
      : undefined,
  };
}

const EMPTY: Omit<Decision, 'allowed'> = Object.freeze({
  headers: [],
  responseHeadersToAdd: [],
  requestHeadersToRemove: [],
  queryParametersToSet: [],
  queryParametersToRemove: [],
  httpStatus: undefined,
  body: undefined,
  dynamicMetadata: undefined,
  reasons: [],
  stepUp: undefined,
  requireDevice: undefined,
});
const ALLOW: Decision = Object.freeze({ ...EMPTY, allowed: true });
const DENY: Decision = Object.freeze({ ...EMPTY, allowed: false });

/** `{name: value | [values]}` or a list of such objects, as the plugin accepts. */
function headerEntries(value: unknown, field: string): HeaderEntry[] {
  if (value === undefined) return [];
  const maps = Array.isArray(value) ? value : [value];
  const out: HeaderEntry[] = [];
  for (const map of maps) {
    if (map === null || typeof map !== 'object' || Array.isArray(map))
      throw invalid(`decision.${field} must be an object or a list of objects`);
    for (const [name, v] of Object.entries(map as Record<string, unknown>)) {
      checkHeaderName(name, field);
      const values = Array.isArray(v) ? v : [v];
      for (const item of values) {
        if (typeof item !== 'string')
          throw invalid(`decision.${field}.${name} must be a string or a list of strings`);
        if (UNSAFE_VALUE.test(item))
          throw invalid(`decision.${field}.${name} contains CR, LF or NUL`);
        out.push({ name: name.toLowerCase(), value: item });
      }
    }
  }
  // Rego objects have no key order; sorting by name (stable, so a name's values keep their
  // order) makes the response the same for the same decision.
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function headerNames(value: unknown, field: string): string[] {
  const names = stringList(value, field);
  for (const name of names) checkHeaderName(name, field);
  return names.map((n) => n.toLowerCase());
}

function checkHeaderName(name: string, field: string): void {
  if (!TOKEN.test(name))
    throw invalid(`decision.${field}: ${JSON.stringify(name)} is not a valid header name`);
}

function queryEntries(value: unknown): QueryEntry[] {
  if (value === undefined) return [];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid('decision.query_parameters_to_set must be an object');
  }
  const out: QueryEntry[] = [];
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const values = Array.isArray(v) ? v : [v];
    for (const item of values) {
      if (typeof item !== 'string')
        throw invalid(
          `decision.query_parameters_to_set.${key} must be a string or a list of strings`,
        );
      if (UNSAFE_VALUE.test(item) || UNSAFE_VALUE.test(key))
        throw invalid('decision.query_parameters_to_set contains CR, LF or NUL');
      out.push({ key, value: item });
    }
  }
  return out;
}

function stringList(value: unknown, field: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) {
    throw invalid(`decision.${field} must be a list of strings`);
  }
  return value;
}

/** Longest `max_auth_age_seconds` accepted: one year. */
const MAX_AUTH_AGE_SECONDS = 31_536_000;
const MAX_ACR_VALUES = 16;
/** An `acr` value: printable ASCII without space, `"` or `\\` (it goes into a quoted-string). */
const ACR_VALUE = /^[\x21\x23-\x5B\x5D-\x7E]{1,256}$/;

function stepUp(maxAge: unknown, acrValues: unknown): StepUp | undefined {
  if (maxAge === undefined && acrValues === undefined) return undefined;
  if (
    maxAge !== undefined &&
    (typeof maxAge !== 'number' ||
      !Number.isInteger(maxAge) ||
      maxAge < 0 ||
      maxAge > MAX_AUTH_AGE_SECONDS)
  ) {
    throw invalid(
      `decision.max_auth_age_seconds must be an integer from 0 to ${MAX_AUTH_AGE_SECONDS}, got ${kind(maxAge)}`,
    );
  }
  if (
    acrValues !== undefined &&
    (!Array.isArray(acrValues) ||
      acrValues.length === 0 ||
      acrValues.length > MAX_ACR_VALUES ||
      !acrValues.every((v): v is string => typeof v === 'string' && ACR_VALUE.test(v)))
  ) {
    throw invalid(
      `decision.acr_values must be a list of 1 to ${MAX_ACR_VALUES} acr values (printable ASCII, no space, quote or backslash)`,
    );
  }
  return Object.freeze({
    maxAuthAgeSeconds: maxAge as number | undefined,
    acrValues: acrValues === undefined ? undefined : Object.freeze([...(acrValues as string[])]),
  });
}

/** `require_user_verification: true` implies a device: the verification is the device's. */
function deviceRequirement(device: unknown, uv: unknown): DeviceRequirement | undefined {
  for (const [field, value] of [
    ['require_device', device],
    ['require_user_verification', uv],
  ] as const)
    if (value !== undefined && typeof value !== 'boolean')
      throw invalid(`decision.${field} must be a boolean, got ${kind(value)}`);
  if (device !== true && uv !== true) return undefined;
  return Object.freeze({ userVerification: uv === true });
}

function reasons(value: unknown): string[] {
  if (value === undefined) return [];
  // A single string, a list of strings, or a Rego set (a JSON array once it leaves WASM).
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || !list.every((v): v is string => typeof v === 'string')) {
    throw invalid('decision.reasons must be a string or a list of strings');
  }
  return list.slice(0, MAX_REASONS);
}

function invalid(detail: string): GatehouseError {
  return new GatehouseError('ERR_DECISION_INVALID', { cause: new Error(detail) });
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
