/**
 * What a configuration reload (SIGHUP) may change in a running Gatehouse.
 *
 * Only the `log` and `policy` sections are applied live: they are read per request or swap
 * atomically (a new policy is loaded off to the side and replaces the old one only when it
 * loaded). Everything else — listeners and ports, identity provider, keys, session secret,
 * header names, tracing — is wired into objects built at start, so a change there is refused
 * (logged as an error naming the keys) and needs a restart.
 */
import type { Config } from './types.js';

/** Sections whose every key can be applied to a running Gatehouse. */
export const LIVE_SECTIONS: readonly string[] = Object.freeze(['log', 'policy']);

/** The keys whose values differ between two configurations, split by whether they apply live. */
export interface ConfigDiff {
  /** Changed keys that apply live (`log.level`, `policy.entrypoint`, …). */
  readonly live: readonly string[];
  /** Changed keys that need a restart (`grpc.port`, `identity.issuer`, `keys.signing`, …). */
  readonly restart: readonly string[];
}

/**
 * Compare two validated configurations key by key (leaf values; lists compare whole).
 *
 * @example
 *   diffConfig(running, next) // → { live: ['log.level'], restart: ['grpc.port'] }
 */
export function diffConfig(before: Config, after: Config): ConfigDiff {
  const a = flatten(before);
  const b = flatten(after);
  const live: string[] = [];
  const restart: string[] = [];
  for (const key of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    if (a.get(key) === b.get(key)) continue;
    (LIVE_SECTIONS.includes(key.split('.', 1)[0] ?? '') ? live : restart).push(key);
  }
  return { live, restart };
}

/** Leaf key → JSON of its value (secrets compare by value but only key names leave here). */
function flatten(
  value: unknown,
  prefix = '',
  out = new Map<string, string>(),
): Map<string, string> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value))
      flatten(v, prefix === '' ? k : `${prefix}.${k}`, out);
  } else if (prefix !== '') {
    out.set(prefix, JSON.stringify(value));
  }
  return out;
}
