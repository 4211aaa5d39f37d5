import type { X509Certificate } from 'node:crypto';
import { nameFields, rfc4514 } from './names.js';
import { parseSubjectAltNames } from './san.js';
import type { CertificateSource, DeviceCertificate } from '../input/device.js';

/**
 * `input.device.certificate` for a parsed certificate: names as RFC 4514 strings and fields,
 * SANs by kind, serial, SHA-256 fingerprint and validity.
 *
 * @throws Error when node:crypto's SAN text has an unexpected shape (the certificate is refused).
 */
export function describeCertificate(
  cert: X509Certificate,
  source: CertificateSource,
  verified: boolean,
): DeviceCertificate {
  const legacy = cert.toLegacyObject();
  const san = parseSubjectAltNames(cert.subjectAltName);
  const spiffe = san.uri.filter((u) => u.toLowerCase().startsWith('spiffe://'));
  return {
    source,
    verified,
    subject: rfc4514(cert.subject),
    subject_fields: nameFields(legacy.subject),
    issuer: rfc4514(cert.issuer),
    issuer_fields: nameFields(legacy.issuer),
    san,
    // An SVID has exactly one URI SAN; two SPIFFE IDs name no one workload.
    spiffe_id: spiffe.length === 1 ? (spiffe[0] ?? null) : null,
    serial: cert.serialNumber.toUpperCase(),
    fingerprint_sha256: fingerprint(cert),
    not_before: seconds(cert.validFromDate),
    not_after: seconds(cert.validToDate),
  };
}

/** SHA-256 of the DER, lower-case hex without colons. */
export function fingerprint(cert: X509Certificate): string {
  return cert.fingerprint256.replaceAll(':', '').toLowerCase();
}

function seconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}
