/**
 * `x-gatehouse-groups` as an RFC 8941 structured-field List of Strings (§3.1, §3.3.3): every
 * group name is a quoted sf-string, `"` and `\` escaped with `\`, items separated by `, `. No
 * group name can break it: `staff,admins` is one item, `"staff,admins"`, never two.
 *
 * An sf-string holds printable ASCII only. A group name with anything else (non-ASCII letters,
 * control characters) is left out of the header, never mangled into another name; the signed
 * assertion JWT (`groups` claim) carries every group exactly and stays the source of truth.
 */

/** Printable ASCII (%x20-7E): what an RFC 8941 sf-string may contain. */
const SF_STRING_CHARS = /^[\x20-\x7e]*$/;

/** One group as an sf-string, or `undefined` when it cannot be one. */
export function sfString(value: string): string | undefined {
  if (!SF_STRING_CHARS.test(value)) return undefined;
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * Serialise `items` as an RFC 8941 List of sf-strings; items that cannot be sf-strings are
 * skipped. An empty list serialises to `''` (RFC 8941 §4.1: the field is then not sent).
 *
 * @example structuredStringList(['staff,admins', 'say "hi"']) // '"staff,admins", "say \"hi\""'
 */
export function structuredStringList(items: readonly string[]): string {
  const out: string[] = [];
  for (const item of items) {
    const encoded = sfString(item);
    if (encoded !== undefined) out.push(encoded);
  }
  return out.join(', ');
}
