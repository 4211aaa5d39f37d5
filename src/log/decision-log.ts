/**
 * The decision log: exactly one pino line per Check, with the fields an operator searches on.
 * docs/operations.md documents every field.
 */
import type { Logger } from 'pino';
import { redactQueryValues } from './logger.js';

/** One Check, as the decision log records it. */
export interface DecisionRecord {
  /** Envoy's `x-request-id` (or the CheckRequest's id). */
  readonly request_id: string;
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
  readonly allowed: boolean;
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
 * headers, tokens or the input. It is therefore written through a child of the logger without
 * redaction, which is most of the cost of a pino line with wildcard redaction paths. Lines with
 * `input` (debug level) and failure lines (they carry an error object) still go through the
 * redacting logger.
 *
 * @example
 *   const decisions = new DecisionLog(log, { sampleAllowed: 0.1, includeQuery: false });
 *   if (decisions.wants(allowed, failed)) decisions.write(record, cause);
 */
export class DecisionLog {
  readonly #log: Logger;
  /** Same destination, bindings and formatters as `#log`, without redaction (plain lines only). */
  readonly #plain: Logger;
  readonly #random: () => number;
  #settings: DecisionLogSettings;

  /** @param random replaces Math.random (tests). */
  constructor(log: Logger, settings: DecisionLogSettings, random: () => number = Math.random) {
    this.#log = log;
    this.#plain = log.child({}, { redact: { paths: [] } });
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
    const plain = this.#plain;
    // A child keeps the level it was created with; follow the service logger's (SIGHUP).
    if (plain.level !== this.#log.level) plain.level = this.#log.level;
    plain.info(record, 'check');
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
