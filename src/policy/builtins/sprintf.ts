/**
 * `sprintf(format, values)` with Go `fmt` semantics, as OPA implements it.
 *
 * OPA hands Go's `fmt.Sprintf` numbers as `int64` (integers), `*big.Int` (larger integers) or
 * `float64`, strings as strings, and every other value as its Rego text (`[1, "a"]`,
 * `{"a": 1}`, `true`, `null`). This module reproduces that, including Go's error notation
 * (`%!d(string=a)`, `%!v(MISSING)`, `%!(EXTRA int64=3)`). The SDK's own `sprintf` (sprintf-js)
 * differs for `%v` of objects, `%q`, `%f` and more, so Gatehouse installs this one instead.
 *
 * Known differences: a set reaches the host as a JSON array, so it prints as `[…]` not `{…}`;
 * number literals written with an exponent (`1e3`) print as integers; `%x` of a float
 * (hex float) is not supported and prints Go's bad-verb notation.
 */

type Arg =
  | { readonly kind: 'int64'; readonly value: bigint }
  | { readonly kind: 'big.Int'; readonly value: bigint }
  | { readonly kind: 'float64'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string };

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** The Rego text of a JSON value: objects with sorted keys, `", "` and `": "` separators. */
export function regoText(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return numberText(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (Array.isArray(value)) return `[${value.map(regoText).join(', ')}]`;
  if (typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}: ${regoText((value as Record<string, unknown>)[k])}`).join(', ')}}`;
  }
  return String(value);
}

function numberText(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return BigInt(n).toString();
  return String(n);
}

function toArg(value: unknown): Arg {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && Math.abs(value) < 1e21) {
      const big = BigInt(value);
      return big >= INT64_MIN && big <= INT64_MAX
        ? { kind: 'int64', value: big }
        : { kind: 'big.Int', value: big };
    }
    return { kind: 'float64', value };
  }
  if (typeof value === 'string') return { kind: 'string', value };
  return { kind: 'string', value: regoText(value) };
}

interface Spec {
  minus: boolean;
  plus: boolean;
  space: boolean;
  zero: boolean;
  sharp: boolean;
  width: number | undefined;
  precision: number | undefined;
}

/** Go's `%v` of an argument, used inside error notations. */
function plain(arg: Arg): string {
  return arg.kind === 'float64'
    ? formatG(arg.value, undefined, false)
    : arg.kind === 'string'
      ? arg.value
      : arg.value.toString();
}

/** Go's `%T` of an argument. */
function typeName(arg: Arg): string {
  return arg.kind === 'big.Int' ? '*big.Int' : arg.kind;
}

function bad(verb: string, arg: Arg): string {
  return `%!${verb}(${typeName(arg)}=${plain(arg)})`;
}

function pad(text: string, spec: Spec, numeric: boolean): string {
  const width = spec.width ?? 0;
  const length = [...text].length;
  if (length >= width) return text;
  const fill = width - length;
  if (spec.minus) return text + ' '.repeat(fill);
  if (spec.zero && numeric) {
    const sign = /^[+\- ]/.test(text) ? text[0] : '';
    const rest = sign === '' ? text : text.slice(1);
    const prefix = /^0[xXbo]/.test(rest) ? rest.slice(0, 2) : '';
    return sign + prefix + '0'.repeat(fill) + rest.slice(prefix.length);
  }
  return ' '.repeat(fill) + text;
}

function signed(digits: string, negative: boolean, spec: Spec): string {
  if (negative) return `-${digits}`;
  if (spec.plus) return `+${digits}`;
  if (spec.space) return ` ${digits}`;
  return digits;
}

/** Go's `%e` mantissa/exponent with at least two exponent digits. */
function formatE(value: number, precision: number, upper: boolean): string {
  const text = Math.abs(value).toExponential(precision);
  const [mantissa = '', exp = '0'] = text.split('e');
  const sign = exp.startsWith('-') ? '-' : '+';
  const digits = exp.replace(/^[+-]/, '').padStart(2, '0');
  const out = `${mantissa}e${sign}${digits}`;
  return upper ? out.toUpperCase() : out;
}

/** Go's `%g`: shortest digits when `precision` is undefined (switching to `%e` at exponent ≥ 6 or < -4). */
function formatG(value: number, precision: number | undefined, upper: boolean): string {
  if (!Number.isFinite(value)) return Number.isNaN(value) ? 'NaN' : value > 0 ? '+Inf' : '-Inf';
  const abs = Math.abs(value);
  const neg = value < 0 || Object.is(value, -0) ? '-' : '';
  if (abs === 0) return `${neg}0`;
  // Decimal digits and exponent of the (shortest or rounded) representation.
  const expText =
    precision === undefined ? abs.toExponential() : abs.toExponential(Math.max(precision, 1) - 1);
  const [mant = '', expPart = '0'] = expText.split('e');
  const exp = Number(expPart);
  const digits = mant.replace('.', '').replace(/0+$/, '') || '0';
  let eprec = precision === undefined ? 6 : Math.max(precision, 1);
  if (precision !== undefined && eprec > digits.length && digits.length >= exp + 1)
    eprec = digits.length;
  if (exp < -4 || exp >= eprec) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const out = `${neg}${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
    return upper ? out.toUpperCase() : out;
  }
  // Fixed notation with exactly the significant digits.
  let fixed: string;
  if (exp >= digits.length - 1) fixed = digits + '0'.repeat(exp - digits.length + 1);
  else if (exp >= 0) fixed = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  else fixed = `0.${'0'.repeat(-exp - 1)}${digits}`;
  return neg + fixed;
}

/** Go's `strconv.Quote`. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case '\\':
        out += '\\\\';
        continue;
      case '\x07':
        out += '\\a';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\v':
        out += '\\v';
        continue;
      default:
        break;
    }
    if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (cp >= 0xd800 && cp <= 0xdfff) out += '\\ufffd';
    else if (ch !== ' ' && /[\p{C}\p{Z}]/u.test(ch))
      out +=
        cp > 0xffff
          ? `\\U${cp.toString(16).padStart(8, '0')}`
          : `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

function hexBytes(s: string, spec: Spec, upper: boolean): string {
  const bytes = new TextEncoder().encode(s);
  const parts = [...bytes].map((b) => b.toString(16).padStart(2, '0'));
  let out: string;
  if (spec.space) out = parts.map((p) => (spec.sharp ? `0x${p}` : p)).join(' ');
  else out = (spec.sharp && parts.length > 0 ? '0x' : '') + parts.join('');
  return upper ? out.toUpperCase().replace(/0X/g, '0X') : out;
}

function formatInt(
  value: bigint,
  verb: string,
  spec: Spec,
  kind: 'int64' | 'big.Int',
): string | undefined {
  const negative = value < 0n;
  const abs = negative ? -value : value;
  let digits: string;
  switch (verb) {
    case 'v':
    case 'd':
      digits = abs.toString(10);
      break;
    case 's':
      if (kind === 'int64') return undefined;
      digits = abs.toString(10);
      break;
    case 'b':
      digits = (spec.sharp ? '0b' : '') + abs.toString(2);
      break;
    case 'o':
      digits = (spec.sharp ? '0' : '') + abs.toString(8);
      break;
    case 'O':
      digits = `0o${abs.toString(8)}`;
      break;
    case 'x':
      digits = (spec.sharp ? '0x' : '') + abs.toString(16);
      break;
    case 'X':
      digits = (spec.sharp ? '0X' : '') + abs.toString(16).toUpperCase();
      break;
    case 'c':
      if (kind !== 'int64') return undefined;
      return pad(
        abs <= 0x10ffffn && !negative ? String.fromCodePoint(Number(abs)) : '\ufffd',
        spec,
        false,
      );
    case 'q':
      if (kind !== 'int64') return undefined;
      return pad(
        `'${abs <= 0x10ffffn && !negative ? String.fromCodePoint(Number(abs)) : '\ufffd'}'`,
        spec,
        false,
      );
    case 'U':
      if (kind !== 'int64') return undefined;
      digits = `U+${abs.toString(16).toUpperCase().padStart(4, '0')}`;
      break;
    default:
      return undefined;
  }
  if (spec.precision !== undefined && /^\d+$/.test(digits))
    digits = digits.padStart(spec.precision, '0');
  return pad(signed(digits, negative, spec), spec, spec.precision === undefined);
}

function formatFloat(value: number, verb: string, spec: Spec): string | undefined {
  const negative = value < 0 || Object.is(value, -0);
  const abs = Math.abs(value);
  let digits: string;
  switch (verb) {
    case 'v':
    case 'g':
    case 'G':
      digits = formatG(abs, spec.precision, verb === 'G');
      break;
    case 'e':
    case 'E':
      digits = formatE(abs, spec.precision ?? 6, verb === 'E');
      break;
    case 'f':
    case 'F':
      digits = abs.toFixed(Math.min(spec.precision ?? 6, 100));
      break;
    default:
      return undefined;
  }
  return pad(signed(digits, negative, spec), spec, true);
}

function formatString(value: string, verb: string, spec: Spec): string | undefined {
  switch (verb) {
    case 'v':
    case 's': {
      const text =
        spec.precision === undefined ? value : [...value].slice(0, spec.precision).join('');
      return pad(text, spec, false);
    }
    case 'q':
      return pad(
        goQuote(
          spec.precision === undefined ? value : [...value].slice(0, spec.precision).join(''),
        ),
        spec,
        false,
      );
    case 'x':
    case 'X':
      return pad(hexBytes(value, spec, verb === 'X'), spec, false);
    default:
      return undefined;
  }
}

function formatArg(arg: Arg, verb: string, spec: Spec): string {
  let out: string | undefined;
  if (arg.kind === 'int64' || arg.kind === 'big.Int')
    out = formatInt(arg.value, verb, spec, arg.kind);
  else if (arg.kind === 'float64') out = formatFloat(arg.value, verb, spec);
  else out = formatString(arg.value, verb, spec);
  return out ?? bad(verb, arg);
}

/**
 * Formats like OPA's `sprintf`. Returns `undefined` (the Rego expression is undefined) when
 * the arguments have the wrong types.
 *
 * @example
 *   sprintf('%v may %s %q', [['admin'], 'GET', '/a']) // => '["admin"] may GET "/a"'
 */
export function sprintf(format: unknown, values: unknown): string | undefined {
  if (typeof format !== 'string' || !Array.isArray(values)) return undefined;
  const args = values.map(toArg);
  let out = '';
  let next = 0;
  let i = 0;
  while (i < format.length) {
    const ch = format[i] as string;
    if (ch !== '%') {
      out += ch;
      i++;
      continue;
    }
    i++;
    const spec: Spec = {
      minus: false,
      plus: false,
      space: false,
      zero: false,
      sharp: false,
      width: undefined,
      precision: undefined,
    };
    flags: while (i < format.length) {
      switch (format[i]) {
        case '-':
          spec.minus = true;
          spec.zero = false;
          break;
        case '+':
          spec.plus = true;
          break;
        case ' ':
          spec.space = true;
          break;
        case '0':
          spec.zero = !spec.minus;
          break;
        case '#':
          spec.sharp = true;
          break;
        default:
          break flags;
      }
      i++;
    }
    const width = /^\d+/.exec(format.slice(i));
    if (width !== null) {
      spec.width = Math.min(Number(width[0]), 10_000);
      i += width[0].length;
    }
    if (format[i] === '.') {
      i++;
      const precision = /^\d+/.exec(format.slice(i));
      spec.precision = precision === null ? 0 : Math.min(Number(precision[0]), 10_000);
      if (precision !== null) i += precision[0].length;
    }
    if (i >= format.length) {
      out += '%!(NOVERB)';
      break;
    }
    const verb = String.fromCodePoint(format.codePointAt(i) ?? 0x25);
    i += verb.length;
    if (verb === '%') {
      out += '%';
      continue;
    }
    const arg = args[next];
    if (arg === undefined) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    next++;
    out += formatArg(arg, verb, spec);
  }
  if (next < args.length) {
    out += `%!(EXTRA ${args
      .slice(next)
      .map((a) => `${typeName(a)}=${plain(a)}`)
      .join(', ')})`;
  }
  return out;
}
