import type { SubjectAltNames } from '../input/device.js';

/**
 * Split node:crypto's `X509Certificate.subjectAltName` (`DNS:a, URI:spiffe://x, email:e,
 * IP Address:10.0.0.1`) into lists by kind. node:crypto writes a value holding a `,`, `"`, `\`
 * or a control character as a JSON string (`DNS:"a, b"`, since the CVE-2021-44532 fix), so
 * a name can never smuggle in an entry of another kind. Kinds other than these four (DirName,
 * othername, Registered ID) are left out.
 *
 * @throws Error when the text does not have that shape (never seen from node:crypto; the
 *   certificate is then refused).
 */
export function parseSubjectAltNames(text: string | undefined): SubjectAltNames {
  const dns: string[] = [];
  const uri: string[] = [];
  const email: string[] = [];
  const ip: string[] = [];
  let at = 0;
  const source = text ?? '';
  while (at < source.length) {
    const colon = source.indexOf(':', at);
    if (colon < 0) throw new Error('subjectAltName: an entry without a kind');
    const kind = source.slice(at, colon);
    let value: string;
    let end: number;
    if (source[colon + 1] === '"') {
      end = closingQuote(source, colon + 2) + 1;
      value = JSON.parse(source.slice(colon + 1, end)) as string;
    } else {
      const comma = source.indexOf(', ', colon + 1);
      end = comma < 0 ? source.length : comma;
      value = source.slice(colon + 1, end);
    }
    if (kind === 'DNS') dns.push(value);
    else if (kind === 'URI') uri.push(value);
    else if (kind === 'email') email.push(value);
    else if (kind === 'IP Address') ip.push(value);
    if (end < source.length) {
      if (source.slice(end, end + 2) !== ', ') throw new Error('subjectAltName: bad separator');
      at = end + 2;
    } else at = end;
  }
  return { dns, uri, email, ip };
}

function closingQuote(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  throw new Error('subjectAltName: unterminated quoted value');
}
