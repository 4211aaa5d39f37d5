/**
 * The decision log: exactly one pino line per Check, with the fields an operator searches on.
 * docs/operations.md documents every field.
 */
import type { DestinationStream, Logger } from 'pino';
import { loggerBindingsJson, loggerDestination } from '../deps/pino.js';
import { redactQueryValues } from './logger.js';

/**
 * The `result` field (and the `result` label of `gatehouse_decisions_total`); src/check/result.ts
 * classifies a Check's outcome into one.
 */
export type DecisionResult = 'allowed' | 'denied' | 'error' | 'reserved';

/** One Check, as the decision log records it. */
export interface DecisionRecord {
  /** Envoy's `x-request-id` (or the CheckRequest's id). */
  readonly request_id: string;
  /** The decision's id, also in the response's dynamic metadata (`decision_id`), as the plugin. */
  readonly decision_id: string;
  /** From W3C `traceparent` (or Gatehouse's own span when tracing started a new trace). */
  readonly trace_id: string | undefined;
  /** Gatehouse's Check span when tracing is on, else the caller's span from `traceparent`. */
  readonly span_id: string | undefined;
  readonly host: string;
  readonly method: string;
  /** The path; its query is dropped unless `log.include_query` (see {@link loggablePath}). */
  readonly path: string;
  /** `context_extensions.route`, when Envoy's route sets one. */
  readonly route: string | undefined;
  readonly sub: string | undefined;
  readonly email: string | null | undefined;
  /** How the caller was identified. */
  readonly auth: 'session' | 'bearer' | 'anonymous';
  /** Whether the request went to the upstream. */
  readonly allowed: boolean;
  /**
   * `allowed`, `denied`, `error`, or `reserved`: a Gatehouse path (who am I, sign-in, callback,
   * sign-out, signed out, JWKS) answered by Gatehouse itself, which is not a denial.
   */
  readonly result: DecisionResult;
  /** The HTTP status Envoy returns to the client (200 when allowed). */
  readonly status: number;
  readonly reasons: readonly string[] | undefined;
  readonly policy_revision: string | undefined;
  readonly latency_us: number;
  /** The error code when the Check failed (the deny then carries it). */
  readonly code: string | undefined;
  /** Why a presented session or bearer token was refused (the caller was then anonymous). */
  readonly identity_error: string | undefined;
  readonly handled_by: 'policy' | 'reserved' | 'sign-in' | 'error';
  /** The policy input; only at debug level, redacted by the logger's declared paths. */
  readonly input?: unknown;
}

/** Settings that may change while running (SIGHUP). */
export interface DecisionLogSettings {
  /** Fraction of allowed decisions written, 0 to 1. Denies and errors are always written. */
  readonly sampleAllowed: number;
  /** Keep the query string in `path` (credential-like values still masked). */
  readonly includeQuery: boolean;
}

/**
 * Writes decision lines. The logger's destination is asynchronous, so writing never waits on
 * stdout; sampling drops only allowed, error-free decisions.
 *
 * A plain decision line (no `input`, no error) carries no secret by construction: its fields are
 * identifiers, the host, the method, a path without its query (or with credential-like values
 * masked, see {@link loggablePath}), the caller's sub and email, reasons and codes — never
 * headers, tokens or the input. It is therefore written without redaction, and serialised here
 * in one `JSON.stringify` of the flat record between the logger's own prefix (level, time,
 * bindings) and `msg`, straight to the logger's destination: the same line pino writes, at a
 * fraction of its per-key cost. Lines with `input` (debug level) and failure lines (they carry
 * an error object) still go through the redacting logger.
 *
 * @example
 *   const decisions = new DecisionLog(log, { sampleAllowed: 0.1, includeQuery: false });
 *   if (decisions.wants(allowed, failed)) decisions.write(record, cause);
 */
export class DecisionLog {
  readonly #log: Logger;
  /** Where `#log` writes: plain lines go there directly. */
  readonly #destination: DestinationStream;
  /** `#log`'s bindings as JSON members (`"service":"gatehouse",…`), written after the time. */
  readonly #bindings: string;
  readonly #random: () => number;
  #settings: DecisionLogSettings;

  /** @param random replaces Math.random (tests). */
  constructor(log: Logger, settings: DecisionLogSettings, random: () => number = Math.random) {
    this.#log = log;
    this.#destination = loggerDestination(log);
    // pino's serialised bindings (`,"service":"gatehouse","pid":…`), as it writes them itself.
    const chindings = loggerBindingsJson(log);
    this.#bindings = chindings === '' ? '' : `${chindings.slice(1)},`;
    this.#settings = settings;
    this.#random = random;
  }

  get settings(): DecisionLogSettings {
    return this.#settings;
  }

  /** Apply new settings (SIGHUP). */
  configure(settings: DecisionLogSettings): void {
    this.#settings = settings;
  }

  /** True when lines should carry the policy input (debug level). */
  get withInput(): boolean {
    return this.#log.isLevelEnabled('debug');
  }

  /**
   * Whether a decision with this outcome is written at all (level and sampling), so the caller
   * can skip building its record. Sampling draws here: call once per decision, then
   * {@link write} with `sampled: true`.
   */
  wants(allowed: boolean, failed: boolean): boolean {
    if (failed) return this.#log.isLevelEnabled('warn');
    if (!this.#log.isLevelEnabled('info')) return false;
    const rate = this.#settings.sampleAllowed;
    return !(allowed && rate < 1 && (rate <= 0 || this.#random() >= rate));
  }

  /**
   * Write one decision line: `warn` with `err` (the detail, for operators only) on failure,
   * else `info`. Returns whether a line was written (false when sampled out). `sampled`: the
   * caller already asked {@link wants}, which said yes.
   */
  write(record: DecisionRecord, cause?: unknown, sampled = false): boolean {
    if (record.code !== undefined) {
      this.#log.warn({ ...record, err: cause }, 'check failed');
      return true;
    }
    if (!sampled) {
      const rate = this.#settings.sampleAllowed;
      if (record.allowed && rate < 1 && (rate <= 0 || this.#random() >= rate)) return false;
    }
    if (record.input !== undefined) {
      this.#log.info(record, 'check');
      return true;
    }
    if (!this.#log.isLevelEnabled('info')) return false;
    // pino's line for `log.info(record, 'check')` with the service logger's formatters: level
    // label, ISO time, bindings, the record's defined fields, msg. JSON.stringify drops
    // undefined members exactly as pino does.
    const fields = JSON.stringify(record);
    this.#destination.write(
      `{"level":"info","time":"${new Date().toISOString()}",${this.#bindings}${fields.length > 2 ? `${fields.slice(1, -1)},` : ''}"msg":"check"}\n`,
    );
    return true;
  }
}

/**
 * The path as the decision log writes it: without its query (query values may carry codes and
 * tokens), or, with `includeQuery`, with the values of credential-like parameters masked.
 */
export function loggablePath(path: string, includeQuery: boolean): string {
  if (!includeQuery) {
    const q = path.indexOf('?');
    return q < 0 ? path : path.slice(0, q);
  }
  return redactQueryValues(path, true);
}
