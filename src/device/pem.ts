import { X509Certificate } from 'node:crypto';
import { MAX_CHAIN_CERTIFICATES, MAX_ENCODED_CERTIFICATE_CHARS } from './limits.js';

/** A presented certificate that cannot be read; the reason stays in `message` for the log. */
export class MalformedCertificate extends Error {
  override readonly name = 'MalformedCertificate';
}

const BLOCK = /-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END CERTIFICATE-----/g;

/**
 * Decode a URL-encoded PEM certificate or chain, as Envoy writes it into
 * `attributes.source.certificate` and the XFCC `Cert`/`Chain` fields.
 *
 * Strict: the text must be only `CERTIFICATE` blocks (and whitespace between them), at most
 * {@link MAX_CHAIN_CERTIFICATES}, each one a certificate node:crypto can parse.
 *
 * @throws MalformedCertificate on a bad escape, anything but certificate blocks, too many or too
 *   large, or a block that is not a certificate.
 */
export function decodePemCertificates(encoded: string): X509Certificate[] {
  if (encoded.length > MAX_ENCODED_CERTIFICATE_CHARS)
    throw new MalformedCertificate(
      `${encoded.length} characters (limit ${MAX_ENCODED_CERTIFICATE_CHARS})`,
    );
  let pem: string;
  try {
    pem = decodeURIComponent(encoded);
  } catch {
    throw new MalformedCertificate('malformed URL encoding');
  }
  return parsePemCertificates(pem, MAX_CHAIN_CERTIFICATES);
}

/**
 * Parse PEM text that must be only `CERTIFICATE` blocks (and whitespace between them), at most
 * `max` of them.
 *
 * @throws MalformedCertificate on anything else.
 */
export function parsePemCertificates(pem: string, max: number): X509Certificate[] {
  const certificates: X509Certificate[] = [];
  let rest = pem;
  for (const match of pem.matchAll(BLOCK)) {
    if (certificates.length === max)
      throw new MalformedCertificate(`more than ${max} certificates`);
    try {
      certificates.push(new X509Certificate(match[0]));
    } catch (err) {
      throw new MalformedCertificate(
        `not a certificate: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    rest = rest.replace(match[0], '');
  }
  // Text outside the blocks (another PEM type, a truncated block, garbage) is refused, not skipped.
  if (rest.trim() !== '') throw new MalformedCertificate('text outside CERTIFICATE blocks');
  if (certificates.length === 0) throw new MalformedCertificate('no certificate');
  return certificates;
}
