import type { NameFields } from '../input/device.js';

/**
 * A distinguished name as node:crypto prints it (`X509Certificate.subject` / `.issuer`: one RDN
 * per line, most significant first, values escaped as RFC 2253 asks, control characters as
 * `\XX`, attributes of a multi-valued RDN joined by ` + `) turned into an RFC 4514 string: least
 * significant RDN first, RDNs joined by `,`, multi-valued ones by `+` — byte for byte what
 * `openssl x509 -nameopt RFC2253` prints (a differential test holds this).
 */
export function rfc4514(multiline: string): string {
  if (multiline === '') return '';
  // A `+` inside a value is escaped (`\+`), so an unescaped ` + ` separates attributes.
  return multiline
    .split('\n')
    .reverse()
    .map((rdn) => rdn.replace(/(?<!\\) \+ /g, '+'))
    .join(',');
}

/**
 * The attributes of a distinguished name from node:crypto's legacy object (`subject` / `issuer`
 * of `toLegacyObject()`: short names, values unescaped, a repeated attribute as an array), every
 * value as a list so a policy reads `subject_fields.OU` the same way whether there is one or many.
 */
export function nameFields(legacy: unknown): NameFields {
  const fields: Record<string, readonly string[]> = {};
  if (legacy === null || typeof legacy !== 'object') return fields;
  for (const [key, value] of Object.entries(legacy)) {
    if (typeof value === 'string') fields[key] = [value];
    else if (Array.isArray(value))
      fields[key] = value.filter((v): v is string => typeof v === 'string');
  }
  return fields;
}
