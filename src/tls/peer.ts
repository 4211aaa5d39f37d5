/**
 * Which client certificates a listener accepts beyond "chains to the CA": SPIFFE IDs (or any
 * URI SAN) and subject names.
 */
import type { PeerCertificate } from 'node:tls';

/**
 * Whether `cert` carries one of `allowed`. An entry with `://` (e.g.
 * `spiffe://cluster.local/ns/envoy/sa/front-proxy`) must equal one of the certificate's URI SANs;
 * any other entry must equal its subject common name or one of its DNS SANs. Exact matches only:
 * a wildcard would widen trust silently. An empty list accepts any certificate (the CA decides).
 */
export function peerAllowed(
  cert: PeerCertificate | Record<string, never> | undefined,
  allowed: readonly string[],
): boolean {
  if (allowed.length === 0) return true;
  if (cert === undefined || !('subject' in cert)) return false;
  const uris: string[] = [];
  const dns: string[] = [];
  for (const entry of splitAltNames(cert.subjectaltname ?? '')) {
    if (entry.startsWith('URI:')) uris.push(entry.slice(4));
    else if (entry.startsWith('DNS:')) dns.push(entry.slice(4));
  }
  const cn = cert.subject?.CN;
  const names = typeof cn === 'string' ? [cn, ...dns] : Array.isArray(cn) ? [...cn, ...dns] : dns;
  return allowed.some((id) => (id.includes('://') ? uris.includes(id) : names.includes(id)));
}

/**
 * Node renders SANs as `DNS:a, URI:spiffe://b, IP Address:1.2.3.4`, quoting (JSON-style) any
 * value that holds a comma or quote, so a crafted SAN cannot smuggle a second entry.
 */
function splitAltNames(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    while (text[i] === ' ') i++;
    const colon = text.indexOf(':', i);
    if (colon < 0) break;
    const kind = text.slice(i, colon + 1);
    let value: string;
    if (text[colon + 1] === '"') {
      let j = colon + 2;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      try {
        value = JSON.parse(text.slice(colon + 1, j + 1)) as string;
      } catch {
        value = '';
      }
      i = text.indexOf(',', j + 1);
    } else {
      const end = text.indexOf(',', colon + 1);
      value = text.slice(colon + 1, end < 0 ? undefined : end);
      i = end;
    }
    out.push(kind + value);
    if (i < 0) break;
    i++;
  }
  return out;
}
