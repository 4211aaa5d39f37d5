/**
 * OPA's `opa.runtime()` and `trace(note)`.
 *
 * `opa.runtime()` gives what `opa eval` gives, minus the OPA version: the process environment
 * (`env`, as OPA exposes it — policies are operator code), `commit: ""`,
 * `authorization_enabled: false`, `skip_known_schema_check: false`. There is no OPA config.
 * `trace` is true; Gatehouse keeps no evaluation trace (OPA's is empty unless tracing is on).
 */

/** `opa.runtime()`. */
export function runtime(): Record<string, unknown> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env))
    if (value !== undefined) env[name] = value;
  return { authorization_enabled: false, commit: '', env, skip_known_schema_check: false };
}

/** `trace(note)`. */
export function trace(note: unknown): boolean | undefined {
  return typeof note === 'string' ? true : undefined;
}
