import type { X509Certificate } from 'node:crypto';
import type { CheckRequest } from '../gen/envoy/service/auth/v3/external_auth_pb.js';
import { requestHeader } from '../input/headers.js';
import { describeCertificate, fingerprint } from './describe.js';
import { decodePemCertificates, MalformedCertificate } from './pem.js';
import type { CertificateSource, DeviceErrorCode, DeviceInput } from './types.js';
import { verifyDeviceCertificate, type DeviceTrust } from './verify.js';
import { parseXfcc } from './xfcc.js';

/** How client certificates become `input.device` (from the `device` config section). */
export interface DeviceOptions {
  /** `device.certificate.ca_file` loaded: Gatehouse verifies the chain itself. Unset: it does not. */
  readonly trust?: DeviceTrust;
  /** `device.xfcc.trusted`: read the `x-forwarded-client-cert` header when Envoy sent no peer certificate. */
  readonly xfccTrusted: boolean;
  /** The clock, in milliseconds since the epoch (tests freeze it). */
  readonly now?: () => number;
}

/** `input.device`, and for the log why a presented certificate was refused. */
export interface ResolvedDevice {
  readonly device: DeviceInput;
  /** The refusal's detail (never shown to the client). */
  readonly detail?: string;
}

const NONE: DeviceInput = Object.freeze({ certificate: null, certificate_error: null });

/**
 * The client certificate of a request, as `input.device`:
 *
 * - `attributes.source.certificate` first: Envoy sets it from the TLS connection it terminated
 *   (`include_peer_certificate: true`); a client cannot write it.
 * - else, only with `xfccTrusted`, the `x-forwarded-client-cert` header, and only when it holds
 *   exactly one element — what `forward_client_cert_details: SANITIZE_SET` at the proxy that
 *   calls Gatehouse produces. A client can send this header itself: more than one element means
 *   a hop forwarded someone else's (`APPEND_FORWARD`), and is refused. The element's `Hash`,
 *   when present, must be the certificate's SHA-256.
 *
 * A certificate that cannot be parsed, or (with `trust`) fails verification, is refused: it is
 * not in `certificate`, and `certificate_error` carries the code (fail closed: a policy that
 * requires a certificate denies).
 */
export function resolveDevice(request: CheckRequest, options: DeviceOptions): ResolvedDevice {
  const peer = request.attributes?.source?.certificate ?? '';
  if (peer !== '') return fromEncoded('peer', peer, undefined, options);
  const http = request.attributes?.request?.http;
  const header = http === undefined ? undefined : requestHeader(http, 'x-forwarded-client-cert');
  if (header === undefined || header === '' || !options.xfccTrusted) return { device: NONE };
  try {
    const elements = parseXfcc(header);
    if (elements.length !== 1)
      throw new MalformedCertificate(
        `x-forwarded-client-cert: ${elements.length} elements; only one (SANITIZE_SET) is trusted`,
      );
    const element = elements[0] ?? {};
    const cert = element['Cert'];
    if (cert === undefined || cert === '')
      throw new MalformedCertificate(
        'x-forwarded-client-cert: no Cert (set_current_client_cert_details.cert)',
      );
    return fromEncoded('xfcc', cert, element, options);
  } catch (err) {
    return refused('xfcc', 'ERR_DEVICE_CERT_INVALID', err);
  }
}

function fromEncoded(
  source: CertificateSource,
  encoded: string,
  xfcc: Readonly<Record<string, string>> | undefined,
  options: DeviceOptions,
): ResolvedDevice {
  let leaf: X509Certificate;
  let intermediates: X509Certificate[] = [];
  try {
    const certs = decodePemCertificates(encoded);
    if (certs.length !== 1)
      throw new MalformedCertificate(`${certs.length} certificates where one was expected`);
    leaf = certs[0] as X509Certificate;
    const hash = xfcc?.['Hash'];
    if (hash !== undefined && hash.toLowerCase() !== fingerprint(leaf))
      throw new MalformedCertificate('x-forwarded-client-cert: Hash is not the Cert’s SHA-256');
    const chain = xfcc?.['Chain'];
    if (chain !== undefined && chain !== '') {
      const decoded = decodePemCertificates(chain);
      intermediates = decoded.filter((c) => fingerprint(c) !== fingerprint(leaf));
    }
  } catch (err) {
    return refused(source, 'ERR_DEVICE_CERT_INVALID', err);
  }
  const trust = options.trust;
  if (trust !== undefined) {
    const failed = verifyDeviceCertificate(leaf, intermediates, trust, (options.now ?? Date.now)());
    if (failed !== undefined) return refused(source, failed, undefined);
  }
  try {
    return {
      device: {
        certificate: describeCertificate(leaf, source, trust !== undefined),
        certificate_error: null,
      },
    };
  } catch (err) {
    return refused(source, 'ERR_DEVICE_CERT_INVALID', err);
  }
}

function refused(source: CertificateSource, code: DeviceErrorCode, err: unknown): ResolvedDevice {
  const detail = err === undefined ? code : err instanceof Error ? err.message : String(err);
  return { device: { certificate: null, certificate_error: { code, source } }, detail };
}
