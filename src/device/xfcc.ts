import { MAX_ENCODED_CERTIFICATE_CHARS, MAX_XFCC_ELEMENTS } from './limits.js';
import { MalformedCertificate } from './pem.js';

/** The fields of one `x-forwarded-client-cert` element (keys as Envoy writes them). */
export type XfccElement = Readonly<Record<string, string>>;

/**
 * Parse an `x-forwarded-client-cert` header as Envoy writes it: elements (one per proxy hop)
 * separated by `,`, `key=value` pairs separated by `;`, a value double-quoted when it holds
 * `,` `;` or `=` (a `"` inside quotes escaped as `\"`). Keys are matched case-insensitively and
 * returned as Envoy spells them (`By`, `Hash`, `Cert`, `Chain`, `Subject`, `URI`, `DNS`).
 *
 * @throws MalformedCertificate on a syntax error, a key given twice in one element, or more than
 *   {@link MAX_XFCC_ELEMENTS} elements or {@link MAX_ENCODED_CERTIFICATE_CHARS} characters.
 */
export function parseXfcc(header: string): XfccElement[] {
  // Cert and Chain are the large fields: both at their limit, plus the rest.
  if (header.length > 2 * MAX_ENCODED_CERTIFICATE_CHARS + 4096)
    throw new MalformedCertificate(`x-forwarded-client-cert: ${header.length} characters`);
  const elements: XfccElement[] = [];
  let element: Record<string, string> = {};
  let at = 0;
  while (at <= header.length) {
    const eq = header.indexOf('=', at);
    if (eq < 0) throw new MalformedCertificate('x-forwarded-client-cert: a pair without =');
    const key = canonicalKey(header.slice(at, eq).trim());
    let value: string;
    let end: number;
    if (header[eq + 1] === '"') {
      const close = closingQuote(header, eq + 2);
      value = header.slice(eq + 2, close).replaceAll('\\"', '"');
      end = close + 1;
    } else {
      end = nextDelimiter(header, eq + 1);
      value = header.slice(eq + 1, end);
    }
    if (Object.hasOwn(element, key))
      throw new MalformedCertificate(`x-forwarded-client-cert: ${key} given twice`);
    element[key] = value;
    const delimiter = header[end];
    if (delimiter === undefined || delimiter === ',') {
      elements.push(element);
      if (elements.length > MAX_XFCC_ELEMENTS)
        throw new MalformedCertificate(
          `x-forwarded-client-cert: more than ${MAX_XFCC_ELEMENTS} elements`,
        );
      element = {};
      if (delimiter === undefined) break;
    } else if (delimiter !== ';') {
      throw new MalformedCertificate('x-forwarded-client-cert: text after a quoted value');
    }
    at = end + 1;
  }
  return elements;
}

const KEYS = ['By', 'Hash', 'Cert', 'Chain', 'Subject', 'URI', 'DNS'];

function canonicalKey(key: string): string {
  const known = KEYS.find((k) => k.toLowerCase() === key.toLowerCase());
  if (known === undefined)
    throw new MalformedCertificate(
      `x-forwarded-client-cert: unknown key ${JSON.stringify(key.slice(0, 20))}`,
    );
  return known;
}

function nextDelimiter(text: string, from: number): number {
  for (let i = from; i < text.length; i++) if (text[i] === ';' || text[i] === ',') return i;
  return text.length;
}

function closingQuote(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    if (text[i] === '\\' && text[i + 1] === '"') i++;
    else if (text[i] === '"') return i;
  }
  throw new MalformedCertificate('x-forwarded-client-cert: unterminated quoted value');
}
