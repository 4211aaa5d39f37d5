import { GatehouseError } from '../errors/gatehouse-error.js';

/** A parsed `Content-Type` or `Content-Disposition` value. */
export interface MediaType {
  /** Lower-cased `type/subtype` (or a bare disposition token such as `form-data`). */
  readonly type: string;
  /** Parameters, names lower-cased. Null-prototype object. */
  readonly params: Readonly<Record<string, string>>;
}

const TSPECIALS = '()<>@,;:\\"/[]?=';

function isTokenChar(c: string): boolean {
  const code = c.charCodeAt(0);
  return code > 0x20 && code < 0x7f && !TSPECIALS.includes(c);
}

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n';
}

function invalid(reason: string): GatehouseError {
  return new GatehouseError('ERR_BODY_INVALID', { cause: new Error(`media type: ${reason}`) });
}

/** The bare, lower-cased type of a header value (the part before `;`), without validating it. */
export function bareMediaType(value: string): string {
  const semi = value.indexOf(';');
  return (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase();
}

/** True for `application/json` and any `+json` structured-syntax suffix type (RFC 6839). */
export function isJsonMediaType(type: string): boolean {
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

const RFC2231 = /^([^']*)'[^']*'(.*)$/;

function decodeExtended(value: string): string {
  const m = RFC2231.exec(value);
  const charset = m?.[1]?.toLowerCase();
  if (m === null || (charset !== 'utf-8' && charset !== 'us-ascii'))
    throw invalid('unsupported RFC 2231 value');
  try {
    return decodeURIComponent(m[2] ?? '');
  } catch (err: unknown) {
    throw new GatehouseError('ERR_BODY_INVALID', { cause: err });
  }
}

/**
 * Parse a media type with parameters, after Go's `mime.ParseMediaType` (which the plugin uses):
 * `type/subtype` or a bare token, `;`-separated `name=token` or `name="quoted"` parameters, names
 * case-insensitive, a trailing `;` tolerated, duplicate names an error. RFC 2231 `name*=utf-8''…`
 * values are decoded; RFC 2231 continuations (`name*0`) are rejected.
 *
 * @throws {GatehouseError} `ERR_BODY_INVALID` on any syntax error.
 */
export function parseMediaType(value: string): MediaType {
  const semi = value.indexOf(';');
  const type = (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase();
  const slash = type.indexOf('/');
  const parts = slash < 0 ? [type] : [type.slice(0, slash), type.slice(slash + 1)];
  if (parts.some((p) => p === '' || ![...p].every(isTokenChar))) throw invalid('bad type');

  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  const extended: Record<string, string> = Object.create(null) as Record<string, string>;
  let i = semi < 0 ? value.length : semi;
  const n = value.length;
  while (i < n) {
    // At a ';' (or trailing whitespace).
    while (isSpace(value[i])) i++;
    if (i >= n) break;
    if (value[i] !== ';') throw invalid('expected ;');
    i++;
    while (isSpace(value[i])) i++;
    if (i >= n) break; // trailing ';'
    let name = '';
    while (i < n && isTokenChar(value[i] as string)) name += value[i++];
    if (name === '') throw invalid('empty parameter name');
    while (isSpace(value[i])) i++;
    if (value[i] !== '=') throw invalid('expected =');
    i++;
    while (isSpace(value[i])) i++;
    let val = '';
    if (value[i] === '"') {
      i++;
      let closed = false;
      while (i < n) {
        const c = value[i] as string;
        if (c === '"') {
          closed = true;
          i++;
          break;
        }
        if (c === '\\' && i + 1 < n && TSPECIALS.includes(value[i + 1] as string)) {
          val += value[i + 1];
          i += 2;
          continue;
        }
        if (c === '\r' || c === '\n') throw invalid('newline in quoted string');
        val += c;
        i++;
      }
      if (!closed) throw invalid('unterminated quoted string');
    } else {
      while (i < n && isTokenChar(value[i] as string)) val += value[i++];
      if (val === '') throw invalid('empty parameter value');
    }
    name = name.toLowerCase();
    const star = name.indexOf('*');
    if (star >= 0) {
      if (star !== name.length - 1) throw invalid('RFC 2231 continuation');
      const base = name.slice(0, -1);
      if (base in extended) throw invalid('duplicate parameter');
      extended[base] = decodeExtended(val);
    } else {
      if (name in params) throw invalid('duplicate parameter');
      params[name] = val;
    }
  }
  // RFC 6266 §4.3: the extended form wins over the plain one.
  for (const [k, v] of Object.entries(extended)) params[k] = v;
  return { type, params };
}
