/**
 * OPA's `time.*` builtins, for policies compiled to wasm (which leaves them to the host).
 *
 * Semantics follow OPA (Go's `time` package): instants are int64 nanoseconds since the Unix
 * epoch; a time argument is either a number (UTC) or `[ns, zone]` with an IANA zone name,
 * `"UTC"`, `""` (UTC) or `"Local"`. Invalid arguments make the expression undefined, as OPA
 * does by default (non-strict builtin errors).
 *
 * Arguments arrive as JS numbers, so instants beyond 2^53 ns (after 1970-04-15) lose
 * sub-microsecond digits on the way in; results are returned exactly.
 */
import type { EvalContext } from './context.js';
import { exactInteger } from './raw-json.js';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const NS_PER_MS = 1_000_000n;
/** Go's weekday names, Sunday first. */
export const WEEKDAYS = [
  'Sunday',
  'Monday',
  'Tuesday',
  'Wednesday',
  'Thursday',
  'Friday',
  'Saturday',
] as const;

/** Integer division rounding toward negative infinity. */
export function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** True when `ns` fits Go's int64. */
export function inInt64(ns: bigint): boolean {
  return ns >= INT64_MIN && ns <= INT64_MAX;
}

function toInteger(value: unknown): bigint | undefined {
  return typeof value === 'number' && Number.isInteger(value) ? BigInt(value) : undefined;
}

interface ZonedInstant {
  readonly ns: bigint;
  /** `undefined` for UTC, else an IANA zone name. */
  readonly zone: string | undefined;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** A formatter for `zone`, or `undefined` when the zone is unknown. */
function formatterFor(zone: string): Intl.DateTimeFormat | undefined {
  let formatter = formatters.get(zone);
  if (formatter === undefined) {
    try {
      formatter = new Intl.DateTimeFormat('en-US', {
        timeZone: zone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch {
      return undefined; // RangeError: unknown zone. Not cached, so the map only holds real zones.
    }
    formatters.set(zone, formatter);
  }
  return formatter;
}

/** A zone argument: `undefined` for UTC, an IANA name, or `null` when unknown. */
export function zoneOf(name: string): string | undefined | null {
  if (name === '' || name === 'UTC') return undefined;
  const zone = name === 'Local' ? Intl.DateTimeFormat().resolvedOptions().timeZone : name;
  if (zone === 'UTC' || zone === 'Etc/UTC') return undefined;
  return formatterFor(zone) === undefined ? null : zone;
}

/** Parses a time argument: `ns` or `[ns, zone]`. */
function zonedArg(value: unknown): ZonedInstant | undefined {
  if (Array.isArray(value)) {
    if (value.length !== 2 || typeof value[1] !== 'string') return undefined;
    const ns = toInteger(value[0]);
    const zone = zoneOf(value[1]);
    if (ns === undefined || zone === null) return undefined;
    return { ns, zone };
  }
  const ns = toInteger(value);
  return ns === undefined ? undefined : { ns, zone: undefined };
}

/** The zone's UTC offset, in milliseconds, at instant `ms`. */
export function offsetMs(ms: number, zone: string | undefined): number {
  if (zone === undefined) return 0;
  const formatter = formatterFor(zone);
  if (formatter === undefined) return 0;
  const parts: Record<string, number> = {};
  for (const part of formatter.formatToParts(new Date(ms))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  const local = new Date(0);
  local.setUTCFullYear(parts['year'] ?? 1970, (parts['month'] ?? 1) - 1, parts['day'] ?? 1);
  local.setUTCHours(parts['hour'] ?? 0, parts['minute'] ?? 0, parts['second'] ?? 0, 0);
  return local.getTime() - (ms - (((ms % 1000) + 1000) % 1000));
}

/** Calendar fields of an instant in its zone (a Date whose UTC fields are the local ones). */
function calendar(instant: ZonedInstant): Date {
  const ms = Number(floorDiv(instant.ns, NS_PER_MS));
  return new Date(ms + offsetMs(ms, instant.zone));
}

/** `time.now_ns()`: "now", fixed for the whole evaluation. */
export function nowNs(ctx: EvalContext): () => number | ArrayBuffer {
  return () => exactInteger(ctx.nowNs());
}

/** `time.date(x)`: `[year, month, day]`. */
export function date(x: unknown): [number, number, number] | undefined {
  const instant = zonedArg(x);
  if (instant === undefined) return undefined;
  const d = calendar(instant);
  return [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()];
}

/** `time.clock(x)`: `[hour, minute, second]`. */
export function clock(x: unknown): [number, number, number] | undefined {
  const instant = zonedArg(x);
  if (instant === undefined) return undefined;
  const d = calendar(instant);
  return [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()];
}

/** `time.weekday(x)`: `"Monday"` … `"Sunday"`. */
export function weekday(x: unknown): string | undefined {
  const instant = zonedArg(x);
  if (instant === undefined) return undefined;
  return WEEKDAYS[calendar(instant).getUTCDay()];
}

/** `time.add_date(ns, years, months, days)`: normalised like Go's `AddDate` (Oct 31 + 1 month = Dec 1), in UTC. */
export function addDate(
  ns: unknown,
  years: unknown,
  months: unknown,
  days: unknown,
): number | ArrayBuffer | undefined {
  const t = toInteger(ns);
  const y = toInteger(years);
  const m = toInteger(months);
  const d = toInteger(days);
  if (t === undefined || y === undefined || m === undefined || d === undefined) return undefined;
  const ms = floorDiv(t, NS_PER_MS);
  const subMs = t - ms * NS_PER_MS;
  const when = new Date(Number(ms));
  const year = when.getUTCFullYear() + Number(y);
  const month = when.getUTCMonth() + Number(m);
  const day = when.getUTCDate() + Number(d);
  when.setUTCFullYear(year, month, day);
  if (Number.isNaN(when.getTime())) return undefined;
  const result = BigInt(when.getTime()) * NS_PER_MS + subMs;
  return inInt64(result) ? exactInteger(result) : undefined;
}

/**
 * `time.diff(a, b)`: `[years, months, days, hours, minutes, seconds]` between two instants,
 * in the first one's zone, always non-negative (Go algorithm used by OPA).
 */
export function diff(a: unknown, b: unknown): number[] | undefined {
  const first = zonedArg(a);
  const second = zonedArg(b);
  if (first === undefined || second === undefined) return undefined;
  let t1: ZonedInstant = first;
  let t2: ZonedInstant = { ns: second.ns, zone: first.zone };
  if (t1.ns > t2.ns) [t1, t2] = [t2, t1];
  const d1 = calendar(t1);
  const d2 = calendar(t2);
  let year = d2.getUTCFullYear() - d1.getUTCFullYear();
  let month = d2.getUTCMonth() - d1.getUTCMonth();
  let day = d2.getUTCDate() - d1.getUTCDate();
  let hour = d2.getUTCHours() - d1.getUTCHours();
  let minute = d2.getUTCMinutes() - d1.getUTCMinutes();
  let second_ = d2.getUTCSeconds() - d1.getUTCSeconds();
  if (second_ < 0) {
    second_ += 60;
    minute--;
  }
  if (minute < 0) {
    minute += 60;
    hour--;
  }
  if (hour < 0) {
    hour += 24;
    day--;
  }
  if (day < 0) {
    // Days in t1's month: day 32 of it rolls over by (32 - days in month).
    const probe = new Date(0);
    probe.setUTCFullYear(d1.getUTCFullYear(), d1.getUTCMonth(), 32);
    day += 32 - probe.getUTCDate();
    month--;
  }
  if (month < 0) {
    month += 12;
    year--;
  }
  return [year, month, day, hour, minute, second_];
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?(Z|[+-]\d{2}:\d{2})$/;

/** `time.parse_rfc3339_ns(value)`: RFC 3339 text to nanoseconds (Go's `time.RFC3339` layout, fraction optional). */
export function parseRfc3339Ns(value: unknown): number | ArrayBuffer | undefined {
  if (typeof value !== 'string') return undefined;
  const m = RFC3339.exec(value);
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59)
    return undefined;
  const probe = new Date(0);
  probe.setUTCFullYear(year, month - 1, day);
  if (probe.getUTCMonth() !== month - 1) return undefined; // e.g. February 30
  probe.setUTCHours(hour, minute, second, 0);
  let offsetMinutes = 0;
  const zone = m[8] as string;
  if (zone !== 'Z') {
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(4, 6));
    if (oh > 23 || om > 59) return undefined;
    offsetMinutes = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const fraction = (m[7] ?? '').slice(0, 9).padEnd(9, '0');
  const ns = BigInt(probe.getTime() - offsetMinutes * 60_000) * NS_PER_MS + BigInt(fraction);
  return inInt64(ns) ? exactInteger(ns) : undefined;
}

const DURATION_UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n, // U+00B5 micro sign
  μs: 1_000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
  // OPA's extensions to Go's units.
  d: 86_400_000_000_000n,
  w: 604_800_000_000_000n,
  y: 31_536_000_000_000_000n,
};

/**
 * `time.parse_duration_ns`: Go's `time.ParseDuration` (`[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, e.g.
 * `1h30m`, `-1.5µs`) plus OPA's `d` (24h), `w` (7d) and `y` (365d) units.
 */
export function parseDurationNs(value: unknown): number | ArrayBuffer | undefined {
  if (typeof value !== 'string') return undefined;
  let s = value;
  let negative = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    negative = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return undefined;
  const LIMIT = 1n << 63n;
  let total = 0n;
  while (s !== '') {
    const lead = /^(\d*)(?:\.(\d*))?/.exec(s);
    if (lead === null || !/^[.\d]/.test(s)) return undefined;
    const intText = lead[1] ?? '';
    const fracText = lead[2];
    if (intText === '' && (fracText === undefined || fracText === '')) return undefined;
    s = s.slice(lead[0].length);
    let unitEnd = 0;
    while (unitEnd < s.length && !/[.\d]/.test(s[unitEnd] as string)) unitEnd++;
    if (unitEnd === 0) return undefined; // missing unit
    const unit = DURATION_UNITS[s.slice(0, unitEnd)];
    if (unit === undefined) return undefined; // unknown unit
    s = s.slice(unitEnd);
    let v = intText === '' ? 0n : BigInt(intText);
    if (v > LIMIT / unit) return undefined;
    v *= unit;
    if (fracText !== undefined && fracText !== '') {
      // Go keeps fraction digits while they fit an int64 and scales in float64.
      let f = 0n;
      let scale = 1;
      for (const digit of fracText) {
        if (f > (LIMIT - 1n) / 10n) break;
        const next = f * 10n + BigInt(digit);
        if (next > LIMIT) break;
        f = next;
        scale *= 10;
      }
      v += BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
      if (v > LIMIT) return undefined;
    }
    total += v;
    if (total > LIMIT) return undefined;
  }
  if (negative) total = -total;
  return inInt64(total) ? exactInteger(total) : undefined;
}
