/**
 * JSON text as Go's `encoding/json.Marshal` writes it, which is how OPA serialises values for
 * builtins such as `io.jwt.encode_sign`: object keys sorted (by UTF-8 bytes, as Go sorts map
 * keys), no spaces, `<`, `>`, `&`, U+2028 and U+2029 escaped as `\u003c`… (Go's HTML-safe
 * default), and integers written without an exponent.
 */

/** Go's `json.Marshal` of a JSON value (`escapeHtml` false gives `SetEscapeHTML(false)`). */
export function goJsonMarshal(value: unknown, escapeHtml = true): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return goNumber(value);
  if (typeof value === 'string') return goString(value, escapeHtml);
  if (Array.isArray(value)) return `[${value.map((v) => goJsonMarshal(v, escapeHtml)).join(',')}]`;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort(compareUtf8);
  return `{${keys.map((k) => `${goString(k, escapeHtml)}:${goJsonMarshal(record[k], escapeHtml)}`).join(',')}}`;
}

/** Compares two strings by their UTF-8 bytes (Go's string order). */
export function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** OPA hands numbers to Go's encoder as `json.Number`: the literal text, integers exact. */
function goNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return BigInt(n).toString();
  return String(n);
}

const HTML_SAFE: Record<string, string> = { '<': '\\u003c', '>': '\\u003e', '&': '\\u0026' };

function goString(s: string, escapeHtml: boolean): string {
  // JSON.stringify escapes like Go (short forms for \b \f \n \r \t, else lower-case \u00xx);
  // Go also escapes U+2028 and U+2029, and by default the HTML characters.
  const out = JSON.stringify(s).replace(
    /[\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16)}`,
  );
  return escapeHtml ? out.replace(/[<>&]/g, (c) => HTML_SAFE[c] ?? c) : out;
}
