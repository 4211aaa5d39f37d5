/**
 * What makes a header safe to write. Every header Gatehouse emits (to the upstream, to the
 * client, on allow and on deny) passes {@link isSafeHeader} at the one place CheckResponses are
 * built (src/response/check-response.ts): a value from any input (a policy, `:authority`, a
 * claim) can never split a header or smuggle a control character, whatever path produced it.
 */

/** RFC 9110 token: a header field name. */
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Any control character (C0 including HTAB, DEL, C1), and the Unicode line and paragraph separators. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** True when `name` is an RFC 9110 token and `value` holds no control character. */
export function isSafeHeader(name: string, value: string): boolean {
  return FIELD_NAME.test(name) && !CONTROL.test(value);
}

/** True when `value` holds a control character (CR, LF, NUL, HTAB, DEL, C1, U+2028/9). */
export function hasControlCharacter(value: string): boolean {
  return CONTROL.test(value);
}

/**
 * `value` made fit for an RFC 9110 quoted-string (a `realm="…"`): control characters, `"` and
 * `\` are dropped, and anything outside printable ASCII too (a realm is a host name).
 */
export function quotedStringContent(value: string): string {
  return value.replace(/[^\x20-\x7e]|["\\]/g, '');
}
