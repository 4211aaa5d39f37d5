/**
 * OPA's `time.format(x)` and `time.parse_ns(layout, value)`: Go's reference-time layouts
 * (`Mon Jan 2 15:04:05 MST 2006`) and the named ones OPA accepts (`RFC3339`, `RFC1123`, …).
 *
 * Formatting reads the zone's offset from `Intl`, as the other `time.*` builtins do. The one
 * known difference is the `MST` element for zones other than UTC: Go prints the tz database
 * abbreviation (`JST`), `Intl` knows fewer, so Gatehouse prints `Intl`'s short name where it is
 * alphabetic (`EST`, `CET`) and Go's numeric form (`+09`, `+0530`) otherwise. Parsing follows
 * `time.Parse`: no zone means UTC, and a zone abbreviation (`PST`, even `GMT+3`) keeps the wall
 * clock as UTC; only numeric offsets move the instant.
 */
import { exactInteger } from './raw-json.js';
import { floorDiv, inInt64, offsetMs, WEEKDAYS, zoneOf } from './time.js';

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

/** The layouts OPA accepts by name. */
const NAMED: Record<string, string> = {
  ANSIC: 'Mon Jan _2 15:04:05 2006',
  UnixDate: 'Mon Jan _2 15:04:05 MST 2006',
  RubyDate: 'Mon Jan 02 15:04:05 -0700 2006',
  RFC822: '02 Jan 06 15:04 MST',
  RFC822Z: '02 Jan 06 15:04 -0700',
  RFC850: 'Monday, 02-Jan-06 15:04:05 MST',
  RFC1123: 'Mon, 02 Jan 2006 15:04:05 MST',
  RFC1123Z: 'Mon, 02 Jan 2006 15:04:05 -0700',
  RFC3339: '2006-01-02T15:04:05Z07:00',
  RFC3339Nano: '2006-01-02T15:04:05.999999999Z07:00',
};

type Std =
  | 'LongMonth'
  | 'Month'
  | 'NumMonth'
  | 'ZeroMonth'
  | 'LongWeekDay'
  | 'WeekDay'
  | 'Day'
  | 'UnderDay'
  | 'ZeroDay'
  | 'UnderYearDay'
  | 'ZeroYearDay'
  | 'Hour'
  | 'Hour12'
  | 'ZeroHour12'
  | 'Minute'
  | 'ZeroMinute'
  | 'Second'
  | 'ZeroSecond'
  | 'LongYear'
  | 'Year'
  | 'PM'
  | 'pm'
  | 'TZ'
  | 'ISO8601TZ'
  | 'ISO8601SecondsTZ'
  | 'ISO8601ShortTZ'
  | 'ISO8601ColonTZ'
  | 'ISO8601ColonSecondsTZ'
  | 'NumTZ'
  | 'NumSecondsTz'
  | 'NumShortTZ'
  | 'NumColonTZ'
  | 'NumColonSecondsTZ';

/** One layout element: a literal, a field, or fractional seconds. */
type Chunk =
  | { kind: 'lit'; text: string }
  | { kind: 'std'; std: Std }
  | { kind: 'frac'; digits: number; trim: boolean; sep: string };

const STD0X: Std[] = ['ZeroMonth', 'ZeroDay', 'ZeroHour12', 'ZeroMinute', 'ZeroSecond', 'Year'];
const TZ_FORMS: Array<[string, Std]> = [
  ['Z070000', 'ISO8601SecondsTZ'],
  ['Z07:00:00', 'ISO8601ColonSecondsTZ'],
  ['Z0700', 'ISO8601TZ'],
  ['Z07:00', 'ISO8601ColonTZ'],
  ['Z07', 'ISO8601ShortTZ'],
  ['-070000', 'NumSecondsTz'],
  ['-07:00:00', 'NumColonSecondsTZ'],
  ['-0700', 'NumTZ'],
  ['-07:00', 'NumColonTZ'],
  ['-07', 'NumShortTZ'],
];

const isLower = (c: string | undefined): boolean => c !== undefined && c >= 'a' && c <= 'z';
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/** Go's `nextStdChunk`, applied to the whole layout. */
function chunks(layout: string): Chunk[] {
  const out: Chunk[] = [];
  let lit = '';
  const push = (c: Chunk, skip: number): number => {
    if (lit !== '') out.push({ kind: 'lit', text: lit });
    lit = '';
    out.push(c);
    return skip;
  };
  for (let i = 0; i < layout.length; ) {
    const c = layout[i] as string;
    const at = (s: string): boolean => layout.startsWith(s, i);
    let n = 0;
    switch (c) {
      case 'J':
        if (at('January')) n = push({ kind: 'std', std: 'LongMonth' }, 7);
        else if (at('Jan') && !isLower(layout[i + 3])) n = push({ kind: 'std', std: 'Month' }, 3);
        break;
      case 'M':
        if (at('Monday')) n = push({ kind: 'std', std: 'LongWeekDay' }, 6);
        else if (at('Mon') && !isLower(layout[i + 3])) n = push({ kind: 'std', std: 'WeekDay' }, 3);
        else if (at('MST')) n = push({ kind: 'std', std: 'TZ' }, 3);
        break;
      case '0': {
        const d = layout[i + 1];
        if (d !== undefined && d >= '1' && d <= '6')
          n = push({ kind: 'std', std: STD0X[Number(d) - 1] as Std }, 2);
        else if (at('002')) n = push({ kind: 'std', std: 'ZeroYearDay' }, 3);
        break;
      }
      case '1':
        n = at('15')
          ? push({ kind: 'std', std: 'Hour' }, 2)
          : push({ kind: 'std', std: 'NumMonth' }, 1);
        break;
      case '2':
        n = at('2006')
          ? push({ kind: 'std', std: 'LongYear' }, 4)
          : push({ kind: 'std', std: 'Day' }, 1);
        break;
      case '_':
        if (at('_2006')) {
          lit += '_';
          n = push({ kind: 'std', std: 'LongYear' }, 5);
        } else if (at('_2')) n = push({ kind: 'std', std: 'UnderDay' }, 2);
        else if (at('__2')) n = push({ kind: 'std', std: 'UnderYearDay' }, 3);
        break;
      case '3':
        n = push({ kind: 'std', std: 'Hour12' }, 1);
        break;
      case '4':
        n = push({ kind: 'std', std: 'Minute' }, 1);
        break;
      case '5':
        n = push({ kind: 'std', std: 'Second' }, 1);
        break;
      case 'P':
        if (at('PM')) n = push({ kind: 'std', std: 'PM' }, 2);
        break;
      case 'p':
        if (at('pm')) n = push({ kind: 'std', std: 'pm' }, 2);
        break;
      case '-':
      case 'Z':
        for (const [form, std] of TZ_FORMS) {
          if (form[0] === c || (c === 'Z' && form[0] === 'Z')) {
            if (at(c === 'Z' ? form : form)) {
              n = push({ kind: 'std', std }, form.length);
              break;
            }
          }
        }
        break;
      case '.':
      case ',': {
        const ch = layout[i + 1];
        if (ch === '0' || ch === '9') {
          let j = i + 1;
          while (layout[j] === ch) j++;
          if (!isDigit(layout[j]))
            n = push({ kind: 'frac', digits: j - i - 1, trim: ch === '9', sep: c }, j - i);
        }
        break;
      }
    }
    if (n === 0) {
      lit += c;
      n = 1;
    }
    i += n;
  }
  if (lit !== '') out.push({ kind: 'lit', text: lit });
  return out;
}

const pad = (n: number, width: number): string => {
  const s = String(Math.abs(n)).padStart(width, '0');
  return n < 0 ? `-${s}` : s;
};

/** A zone's abbreviation at an instant, as close to Go's as `Intl` allows. */
function zoneName(ms: number, zone: string | undefined, offsetSeconds: number): string {
  if (zone === undefined) return 'UTC';
  let name: string | undefined;
  // en-US knows the North American abbreviations, en-GB the European ones.
  for (const locale of ['en-US', 'en-GB']) {
    try {
      name = new Intl.DateTimeFormat(locale, { timeZone: zone, timeZoneName: 'short' })
        .formatToParts(new Date(ms))
        .find((p) => p.type === 'timeZoneName')?.value;
    } catch {
      name = undefined;
    }
    if (name !== undefined && /^[A-Z]{3,5}$/.test(name) && name !== 'GMT') return name;
  }
  if (offsetSeconds === 0) return 'GMT';
  const sign = offsetSeconds < 0 ? '-' : '+';
  const abs = Math.abs(offsetSeconds);
  const hh = pad(Math.floor(abs / 3600), 2);
  const mm = Math.floor(abs / 60) % 60;
  return mm === 0 ? `${sign}${hh}` : `${sign}${hh}${pad(mm, 2)}`;
}

interface Fields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  nanos: number;
  weekday: number;
  yday: number;
  offset: number;
  zone: string;
}

function formatTz(std: Std, offset: number): string {
  if (offset === 0 && std.startsWith('ISO8601')) return 'Z';
  let zone = Math.trunc(offset / 60);
  let abs = offset;
  let out = '+';
  if (zone < 0) {
    out = '-';
    zone = -zone;
    abs = -abs;
  }
  out += pad(Math.floor(zone / 60), 2);
  if (std.includes('Colon')) out += ':';
  if (!std.includes('Short')) out += pad(zone % 60, 2);
  if (std.includes('Seconds')) out += (std.includes('Colon') ? ':' : '') + pad(abs % 60, 2);
  return out;
}

function format(f: Fields, layout: string): string {
  let out = '';
  for (const c of chunks(layout)) {
    if (c.kind === 'lit') {
      out += c.text;
      continue;
    }
    if (c.kind === 'frac') {
      let digits = String(f.nanos).padStart(9, '0').slice(0, c.digits);
      if (c.trim) digits = digits.replace(/0+$/, '');
      if (digits !== '') out += c.sep + digits;
      continue;
    }
    const h12 = f.hour % 12 === 0 ? 12 : f.hour % 12;
    switch (c.std) {
      case 'LongMonth':
        out += MONTHS[f.month - 1];
        break;
      case 'Month':
        out += (MONTHS[f.month - 1] as string).slice(0, 3);
        break;
      case 'NumMonth':
        out += f.month;
        break;
      case 'ZeroMonth':
        out += pad(f.month, 2);
        break;
      case 'LongWeekDay':
        out += WEEKDAYS[f.weekday];
        break;
      case 'WeekDay':
        out += (WEEKDAYS[f.weekday] as string).slice(0, 3);
        break;
      case 'Day':
        out += f.day;
        break;
      case 'UnderDay':
        out += String(f.day).padStart(2, ' ');
        break;
      case 'ZeroDay':
        out += pad(f.day, 2);
        break;
      case 'UnderYearDay':
        out += String(f.yday).padStart(3, ' ');
        break;
      case 'ZeroYearDay':
        out += pad(f.yday, 3);
        break;
      case 'Hour':
        out += pad(f.hour, 2);
        break;
      case 'Hour12':
        out += h12;
        break;
      case 'ZeroHour12':
        out += pad(h12, 2);
        break;
      case 'Minute':
        out += f.minute;
        break;
      case 'ZeroMinute':
        out += pad(f.minute, 2);
        break;
      case 'Second':
        out += f.second;
        break;
      case 'ZeroSecond':
        out += pad(f.second, 2);
        break;
      case 'LongYear':
        out += pad(f.year, 4);
        break;
      case 'Year':
        out += pad(((f.year % 100) + 100) % 100, 2);
        break;
      case 'PM':
        out += f.hour >= 12 ? 'PM' : 'AM';
        break;
      case 'pm':
        out += f.hour >= 12 ? 'pm' : 'am';
        break;
      case 'TZ':
        out += f.zone;
        break;
      default:
        out += formatTz(c.std, f.offset);
    }
  }
  return out;
}

/** `time.format(x)`: `ns`, `[ns]`, `[ns, zone]` or `[ns, zone, layout]`; RFC3339Nano by default. */
export function formatTime(x: unknown): string | undefined {
  let nsArg: unknown = x;
  let zoneArg = '';
  let layout = '';
  if (Array.isArray(x)) {
    if (x.length === 0 || x.length > 3) return undefined;
    nsArg = x[0];
    if (x.length > 1) {
      if (typeof x[1] !== 'string') return undefined;
      zoneArg = x[1];
    }
    if (x.length > 2) {
      if (typeof x[2] !== 'string') return undefined;
      layout = x[2];
    }
  }
  if (typeof nsArg !== 'number' || !Number.isInteger(nsArg)) return undefined;
  const zone = zoneOf(zoneArg);
  if (zone === null) return undefined;
  const ns = BigInt(nsArg);
  const msBig = floorDiv(ns, 1_000_000n);
  const ms = Number(msBig);
  const offset = Math.round(offsetMs(ms, zone) / 1000);
  const local = new Date(ms + offset * 1000);
  if (Number.isNaN(local.getTime())) return undefined;
  const startOfYear = Date.UTC(local.getUTCFullYear(), 0, 1);
  const fields: Fields = {
    year: local.getUTCFullYear(),
    month: local.getUTCMonth() + 1,
    day: local.getUTCDate(),
    hour: local.getUTCHours(),
    minute: local.getUTCMinutes(),
    second: local.getUTCSeconds(),
    nanos: Number(ns - floorDiv(ns, 1_000_000_000n) * 1_000_000_000n),
    weekday: local.getUTCDay(),
    yday:
      Math.floor(
        (Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate()) - startOfYear) /
          86_400_000,
      ) + 1,
    offset,
    zone: zoneName(ms, zone, offset),
  };
  const named = Object.hasOwn(NAMED, layout) ? NAMED[layout] : undefined;
  return format(fields, layout === '' ? (NAMED['RFC3339Nano'] as string) : (named ?? layout));
}

// ---- parsing -------------------------------------------------------------

/** Go's `getnum`: one or two digits, exactly two when `fixed`. */
function getnum(s: string, fixed: boolean): [number, string] | undefined {
  if (!isDigit(s[0])) return undefined;
  if (!isDigit(s[1])) return fixed ? undefined : [Number(s[0]), s.slice(1)];
  return [Number(s.slice(0, 2)), s.slice(2)];
}

function getnum3(s: string, fixed: boolean): [number, string] | undefined {
  let i = 0;
  while (i < 3 && isDigit(s[i])) i++;
  if (i === 0 || (fixed && i !== 3)) return undefined;
  return [Number(s.slice(0, i)), s.slice(i)];
}

function lookup(names: readonly string[], s: string): [number, string] | undefined {
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    if (s.length >= name.length && s.slice(0, name.length).toLowerCase() === name.toLowerCase())
      return [i, s.slice(name.length)];
  }
  return undefined;
}

/** Go's `skip`: the literal must match, a run of spaces matching any run of spaces. */
function skip(value: string, prefix: string): string | undefined {
  let v = value;
  let p = prefix;
  while (p.length > 0) {
    if (p[0] === ' ') {
      if (v.length > 0 && v[0] !== ' ') return undefined;
      p = p.replace(/^ +/, '');
      v = v.replace(/^ +/, '');
      continue;
    }
    if (v.length === 0 || v[0] !== p[0]) return undefined;
    p = p.slice(1);
    v = v.slice(1);
  }
  return v;
}

/** Go's `parseTimeZone`: the length of a zone abbreviation at the start of `s`, or 0. */
function zoneAbbreviationLength(s: string): number {
  if (s.length < 3) return 0;
  if (s.startsWith('ChST') || s.startsWith('MeST')) return 4;
  if (s.startsWith('GMT')) {
    const m = /^GMT([+-]\d{1,2})?/.exec(s);
    if (m?.[1] !== undefined && (Number(m[1]) < -23 || Number(m[1]) > 23)) return 3;
    return m === null ? 3 : m[0].length;
  }
  if (s[0] === '+' || s[0] === '-') {
    const m = /^[+-]\d{1,2}/.exec(s);
    return m === null || Number(m[0]) < -23 || Number(m[0]) > 23 ? 0 : m[0].length;
  }
  let upper = 0;
  while (
    upper < 6 &&
    upper < s.length &&
    (s[upper] as string) >= 'A' &&
    (s[upper] as string) <= 'Z'
  )
    upper++;
  if (upper === 3) return 3;
  if (upper === 4 && (s[3] === 'T' || s.startsWith('WITA'))) return 4;
  if (upper === 5 && s[4] === 'T') return 5;
  return 0;
}

const DAYS_BEFORE = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];
const isLeap = (y: number): boolean => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
const daysIn = (month: number, year: number): number =>
  month === 2 && isLeap(year)
    ? 29
    : (DAYS_BEFORE[month] as number) - (DAYS_BEFORE[month - 1] as number);

/** Go's `time.Parse(layout, value)` as Unix nanoseconds. */
function parse(layout: string, input: string): bigint | undefined {
  let value = input;
  let year = 0,
    month = -1,
    day = -1,
    yday = -1,
    hour = 0,
    min = 0,
    sec = 0,
    nsec = 0;
  let pmSet = false,
    amSet = false;
  let offset: number | undefined;
  const list = chunks(layout);
  for (let idx = 0; idx < list.length; idx++) {
    const c = list[idx] as Chunk;
    if (c.kind === 'lit') {
      const rest = skip(value, c.text);
      if (rest === undefined) return undefined;
      value = rest;
      continue;
    }
    if (c.kind === 'frac') {
      // Go: the separator and exactly `digits` digits (trimmed layouts also accept none).
      if (c.trim) {
        if (value[0] !== '.' && value[0] !== ',') continue;
        let i = 1;
        while (isDigit(value[i])) i++;
        nsec = Number(value.slice(1, i).padEnd(9, '0').slice(0, 9));
        value = value.slice(i);
      } else {
        if (value.length < c.digits + 1 || (value[0] !== '.' && value[0] !== ',')) return undefined;
        const digits = value.slice(1, c.digits + 1);
        if (!/^\d+$/.test(digits)) return undefined;
        nsec = Number(digits.padEnd(9, '0').slice(0, 9));
        value = value.slice(c.digits + 1);
      }
      continue;
    }
    let r: [number, string] | undefined;
    switch (c.std) {
      case 'Year':
        if (!/^\d\d/.test(value)) return undefined;
        year = Number(value.slice(0, 2));
        year += year >= 69 ? 1900 : 2000;
        value = value.slice(2);
        continue;
      case 'LongYear':
        if (!/^\d{4}/.test(value)) return undefined;
        year = Number(value.slice(0, 4));
        value = value.slice(4);
        continue;
      case 'Month':
        r = lookup(
          MONTHS.map((m) => m.slice(0, 3)),
          value,
        );
        if (r === undefined) return undefined;
        month = r[0] + 1;
        break;
      case 'LongMonth':
        r = lookup(MONTHS, value);
        if (r === undefined) return undefined;
        month = r[0] + 1;
        break;
      case 'NumMonth':
      case 'ZeroMonth':
        r = getnum(value, c.std === 'ZeroMonth');
        if (r === undefined || r[0] < 1 || r[0] > 12) return undefined;
        month = r[0];
        break;
      case 'WeekDay':
        r = lookup(
          WEEKDAYS.map((d) => d.slice(0, 3)),
          value,
        );
        if (r === undefined) return undefined;
        break;
      case 'LongWeekDay':
        r = lookup(WEEKDAYS, value);
        if (r === undefined) return undefined;
        break;
      case 'Day':
      case 'UnderDay':
      case 'ZeroDay':
        if (c.std === 'UnderDay' && value[0] === ' ') value = value.slice(1);
        r = getnum(value, c.std === 'ZeroDay');
        if (r === undefined) return undefined;
        day = r[0];
        break;
      case 'UnderYearDay':
      case 'ZeroYearDay':
        if (c.std === 'UnderYearDay') value = value.replace(/^ {1,2}/, '');
        r = getnum3(value, c.std === 'ZeroYearDay');
        if (r === undefined) return undefined;
        yday = r[0];
        break;
      case 'Hour':
        r = getnum(value, false);
        if (r === undefined || r[0] > 23) return undefined;
        hour = r[0];
        break;
      case 'Hour12':
      case 'ZeroHour12':
        r = getnum(value, c.std === 'ZeroHour12');
        if (r === undefined || r[0] > 12) return undefined;
        hour = r[0];
        break;
      case 'Minute':
      case 'ZeroMinute':
        r = getnum(value, c.std === 'ZeroMinute');
        if (r === undefined || r[0] > 59) return undefined;
        min = r[0];
        break;
      case 'Second':
      case 'ZeroSecond': {
        r = getnum(value, c.std === 'ZeroSecond');
        if (r === undefined || r[0] > 59) return undefined;
        sec = r[0];
        value = r[1];
        // Go: a fraction after the seconds is accepted when the layout has none next.
        const next = list[idx + 1];
        if ((value[0] === '.' || value[0] === ',') && isDigit(value[1]) && next?.kind !== 'frac') {
          let i = 1;
          while (isDigit(value[i])) i++;
          nsec = Number(value.slice(1, i).padEnd(9, '0').slice(0, 9));
          value = value.slice(i);
        }
        continue;
      }
      case 'PM':
      case 'pm': {
        const p = value.slice(0, 2);
        const upper = c.std === 'PM' ? p : p.toUpperCase();
        if (upper === 'PM') pmSet = true;
        else if (upper === 'AM') amSet = true;
        else return undefined;
        value = value.slice(2);
        continue;
      }
      case 'TZ': {
        if (value.startsWith('UTC')) {
          value = value.slice(3);
          continue;
        }
        const n = zoneAbbreviationLength(value);
        if (n === 0) return undefined;
        value = value.slice(n);
        continue;
      }
      default: {
        // Numeric and ISO 8601 offsets.
        if (c.std.startsWith('ISO8601') && value[0] === 'Z') {
          value = value.slice(1);
          offset = 0;
          continue;
        }
        const colon = c.std.includes('Colon');
        const short = c.std.includes('Short');
        const secs = c.std.includes('Seconds');
        const re = new RegExp(
          `^([+-])(\\d\\d)${short ? '' : colon ? ':(\\d\\d)' : '(\\d\\d)'}${secs ? (colon ? ':(\\d\\d)' : '(\\d\\d)') : ''}`,
        );
        const m = re.exec(value);
        if (m === null) return undefined;
        const hh = Number(m[2]);
        const mm = short ? 0 : Number(m[3]);
        const ss = secs ? Number(m[short ? 3 : 4]) : 0;
        if (hh > 24 || mm > 60 || ss > 60) return undefined;
        offset = (m[1] === '-' ? -1 : 1) * (hh * 3600 + mm * 60 + ss);
        value = value.slice(m[0].length);
        continue;
      }
    }
    value = r[1];
  }
  if (value.length > 0) return undefined; // extra text
  if (pmSet && hour < 12) hour += 12;
  else if (amSet && hour === 12) hour = 0;
  if (yday >= 0) {
    let d = 0;
    let m = 0;
    if (isLeap(year)) {
      if (yday === 31 + 29) {
        m = 2;
        d = 29;
      } else if (yday > 31 + 29) yday--;
    }
    if (yday < 1 || yday > 365) return undefined;
    if (m === 0) {
      m = Math.floor((yday - 1) / 31) + 1;
      if ((DAYS_BEFORE[m] as number) < yday) m++;
      d = yday - (DAYS_BEFORE[m - 1] as number);
    }
    if (month >= 0 && month !== m) return undefined;
    month = m;
    if (day >= 0 && day !== d) return undefined;
    day = d;
  } else {
    if (month < 0) month = 1;
    if (day < 0) day = 1;
  }
  if (day < 1 || day > daysIn(month, year)) return undefined;
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, min, sec, 0);
  // A zone abbreviation (even `GMT+3`) only names the location: Go keeps the wall clock as UTC.
  return (BigInt(d.getTime()) / 1000n - BigInt(offset ?? 0)) * 1_000_000_000n + BigInt(nsec);
}

/** `time.parse_ns(layout, value)`: Unix nanoseconds; undefined outside int64. */
export function parseNs(layout: unknown, value: unknown): number | ArrayBuffer | undefined {
  if (typeof layout !== 'string' || typeof value !== 'string') return undefined;
  const named = Object.hasOwn(NAMED, layout) ? NAMED[layout] : undefined;
  const ns = parse(named ?? layout, value);
  return ns === undefined || !inInt64(ns) ? undefined : exactInteger(ns);
}
