import { createHash, type X509Certificate } from 'node:crypto';
import { trimOldest } from '../cache/trim.js';
import type { CheckRequest } from '../gen/envoy/service/auth/v3/external_auth_pb.js';
import { requestHeader } from '../input/headers.js';
import { describeCertificate, fingerprint } from './describe.js';
import { decodePemCertificates, MalformedCertificate } from './pem.js';
import { MAX_REMEMBERED_CERTIFICATES } from './limits.js';
import type {
  CertificateSource,
  DeviceCertificate,
  CertificateInput,
  DeviceErrorCode,
} from '../input/device.js';
import { checkChain, checkValidity, type DeviceTrust } from './verify.js';
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
  readonly device: CertificateInput;
  /** The refusal's detail (never shown to the client). */
  readonly detail?: string;
}

const NONE: CertificateInput = Object.freeze({ certificate: null, certificate_error: null });

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
    return refused(
      'xfcc',
      'ERR_DEVICE_CERT_INVALID',
      err instanceof Error ? err.message : String(err),
    );
  }
}

function fromEncoded(
  source: CertificateSource,
  encoded: string,
  xfcc: Readonly<Record<string, string>> | undefined,
  options: DeviceOptions,
): ResolvedDevice {
  const examined = remembered(source, encoded, xfcc, options);
  if (!examined.ok) return refused(source, examined.code, examined.detail);
  if (examined.window !== undefined) {
    const expired = checkValidity(examined.window, (options.now ?? Date.now)());
    if (expired !== undefined) return refused(source, expired, expired);
  }
  return { device: { certificate: examined.certificate, certificate_error: null } };
}

/** What a presented certificate is, apart from the clock: refused, or described (and its window). */
type Examined =
  | { readonly ok: false; readonly code: DeviceErrorCode; readonly detail: string }
  | {
      readonly ok: true;
      readonly certificate: DeviceCertificate;
      /** With `trust`: when every certificate on the verified path is valid. */
      readonly window?: { readonly notBefore: number; readonly notAfter: number };
    };

const caches = new WeakMap<DeviceOptions, Map<string, Examined>>();

/**
 * {@link examine}, remembered per options by the SHA-256 of everything it depends on (the least
 * recently used entry goes first; see {@link MAX_REMEMBERED_CERTIFICATES}).
 */
function remembered(
  source: CertificateSource,
  encoded: string,
  xfcc: Readonly<Record<string, string>> | undefined,
  options: DeviceOptions,
): Examined {
  let cache = caches.get(options);
  if (cache === undefined) {
    cache = new Map();
    caches.set(options, cache);
  }
  const hash = createHash('sha256');
  // Length-prefixed, so no two different inputs share a key.
  for (const part of [source, encoded, xfcc?.['Hash'] ?? '', xfcc?.['Chain'] ?? ''])
    hash.update(`${part.length}:`).update(part);
  const key = hash.digest('base64');
  const hit = cache.get(key);
  if (hit !== undefined) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  // Frozen: the same objects go into the input of every request that presents this certificate.
  const examined = deepFreeze(examine(source, encoded, xfcc, options.trust));
  cache.set(key, examined);
  trimOldest(cache, MAX_REMEMBERED_CERTIFICATES);
  return examined;
}

function examine(
  source: CertificateSource,
  encoded: string,
  xfcc: Readonly<Record<string, string>> | undefined,
  trust: DeviceTrust | undefined,
): Examined {
  try {
    const certs = decodePemCertificates(encoded);
    if (certs.length !== 1)
      throw new MalformedCertificate(`${certs.length} certificates where one was expected`);
    const leaf = certs[0] as X509Certificate;
    const hash = xfcc?.['Hash'];
    if (hash !== undefined && hash.toLowerCase() !== fingerprint(leaf))
      throw new MalformedCertificate('x-forwarded-client-cert: Hash is not the Cert’s SHA-256');
    const chain = xfcc?.['Chain'];
    const intermediates =
      chain === undefined || chain === ''
        ? []
        : decodePemCertificates(chain).filter((c) => fingerprint(c) !== fingerprint(leaf));
    if (trust === undefined)
      return { ok: true, certificate: describeCertificate(leaf, source, false) };
    const checked = checkChain(leaf, intermediates, trust);
    if (!checked.ok) return { ok: false, code: checked.code, detail: checked.code };
    return {
      ok: true,
      certificate: describeCertificate(leaf, source, true),
      window: { notBefore: checked.notBefore, notAfter: checked.notAfter },
    };
  } catch (err) {
    return {
      ok: false,
      code: 'ERR_DEVICE_CERT_INVALID',
      detail: err instanceof Error ? err.message : String(err),
    };
  }
}

function refused(source: CertificateSource, code: DeviceErrorCode, detail: string): ResolvedDevice {
  return { device: { certificate: null, certificate_error: { code, source } }, detail };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
