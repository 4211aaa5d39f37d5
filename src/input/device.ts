/**
 * `input.device`: what Gatehouse knows about the device a request comes from. Today that is the
 * client certificate the proxy terminated mutual TLS with; `docs/reference/input.md` documents
 * every field and `docs/devices.md` the trust model.
 */

/** Where a certificate came from: Envoy's `attributes.source.certificate`, or a trusted XFCC header. */
export type CertificateSource = 'peer' | 'xfcc';

/** Attribute name → every value it has in a distinguished name, in certificate order. */
export type NameFields = Readonly<Record<string, readonly string[]>>;

/** Subject alternative names by kind (RFC 5280 §4.2.1.6), in certificate order. */
export interface SubjectAltNames {
  readonly dns: readonly string[];
  /** URIs, SPIFFE IDs included. */
  readonly uri: readonly string[];
  readonly email: readonly string[];
  /** IPv4 dotted, IPv6 as Node prints it (eight groups, no `::` compression). */
  readonly ip: readonly string[];
}

/** `input.device.certificate`: a client certificate, parsed with node:crypto's X509Certificate. */
export interface DeviceCertificate {
  readonly source: CertificateSource;
  /**
   * True only when Gatehouse itself verified the chain to `device.certificate.ca_file` (a
   * certificate that fails is never presented); false when no `ca_file` is configured and the
   * proxy's TLS verification is all there is.
   */
  readonly verified: boolean;
  /** The subject as an RFC 4514 string (`CN=alice,O=Example`), as `openssl -nameopt RFC2253` prints it. */
  readonly subject: string;
  /** The subject's attributes by short name (`CN`, `O`, `OU`, …), values unescaped. */
  readonly subject_fields: NameFields;
  readonly issuer: string;
  readonly issuer_fields: NameFields;
  readonly san: SubjectAltNames;
  /** The one `spiffe://` URI SAN (a SPIFFE X.509-SVID has exactly one), else `null`. */
  readonly spiffe_id: string | null;
  /** Serial number, upper-case hex. */
  readonly serial: string;
  /** SHA-256 of the DER, lower-case hex without colons (the same as Envoy's XFCC `Hash`). */
  readonly fingerprint_sha256: string;
  /** Validity, seconds since the epoch. */
  readonly not_before: number;
  readonly not_after: number;
}

/** Why a presented certificate was not accepted (it then does not appear as `certificate`). */
export interface CertificateRefusal {
  readonly code: DeviceErrorCode;
  readonly source: CertificateSource;
}

/** The stable codes a refused device certificate carries (rows of src/errors/codes.ts). */
export type DeviceErrorCode =
  | 'ERR_DEVICE_CERT_INVALID'
  | 'ERR_DEVICE_CERT_UNTRUSTED'
  | 'ERR_DEVICE_CERT_EXPIRED'
  | 'ERR_DEVICE_CERT_NOT_YET_VALID'
  | 'ERR_DEVICE_CERT_USAGE';

/** `input.device`: present only when the `device` config section is. */
export interface DeviceInput {
  /** The accepted client certificate, or `null` when none was presented or it was refused. */
  readonly certificate: DeviceCertificate | null;
  /** Why a presented certificate was refused; `null` when none was refused. */
  readonly certificate_error: CertificateRefusal | null;
  /**
   * True when the caller is signed in with a session bound to this certificate
   * (`device.certificate.bind_sessions`); false otherwise.
   */
  readonly session_bound: boolean;
  /**
   * With `device.webauthn`: the enrolled device this session last proved possession of, or
   * `null` when it has proved none (or the caller is not a session). Absent without WebAuthn.
   */
  readonly enrolled?: EnrolledDeviceInput | null;
}

/** `input.device.enrolled`: an enrolled WebAuthn device and this session's proof of it. */
export interface EnrolledDeviceInput {
  /** The credential id (base64url). */
  readonly id: string;
  readonly kind: 'platform' | 'cross-platform';
  /** Seconds since the epoch. */
  readonly registered_at: number;
  readonly approval: 'pending' | 'approved' | 'revoked';
  /** When this session proved possession of it (seconds since the epoch). */
  readonly proved_at: number;
  /** Whether that proof verified the user (PIN, biometrics). */
  readonly user_verified: boolean;
  /** The proof is younger than `device.webauthn.proof_interval_seconds` and the device approved. */
  readonly proof_fresh: boolean;
}

/** `input.device` as the certificate alone decides it (before the caller is known). */
export type CertificateInput = Omit<DeviceInput, 'session_bound'>;
