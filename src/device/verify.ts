import type { X509Certificate } from 'node:crypto';
import { fingerprint } from './describe.js';
import { MAX_CHAIN_CERTIFICATES } from './limits.js';
import type { DeviceErrorCode } from './types.js';

/** TLS Web Client Authentication (RFC 5280 §4.2.1.12). */
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/** The device CAs a client certificate must chain to (`device.certificate.*`). */
export interface DeviceTrust {
  /** Every certificate of `ca_file`: each one is a trust anchor (a root or an issuing CA). */
  readonly anchors: readonly X509Certificate[];
  /** The leaf must list clientAuth in its extended key usage. */
  readonly requireClientAuth: boolean;
}

/**
 * Verify a client certificate against the device CAs, as defence in depth behind the proxy's own
 * TLS verification (a proxy misconfigured to accept any certificate must not make one trusted):
 *
 * 1. a path from `leaf` through `intermediates` (the presented chain; at most
 *    {@link MAX_CHAIN_CERTIFICATES} links) to an anchor, each link checked with node:crypto's
 *    `checkIssued` (names, key identifiers, the issuer's keyCertSign) and `verify` (the
 *    signature with the issuer's public key), each intermediate a CA;
 * 2. every certificate on the path valid at `nowMs`, the anchor included;
 * 3. with `requireClientAuth`, clientAuth in the leaf's extended key usage.
 *
 * Returns `undefined` when all hold, else the code of the first that fails (fail closed: any
 * exception is a failure).
 */
export function verifyDeviceCertificate(
  leaf: X509Certificate,
  intermediates: readonly X509Certificate[],
  trust: DeviceTrust,
  nowMs: number,
): DeviceErrorCode | undefined {
  const path = chainToAnchor(leaf, intermediates, trust.anchors);
  if (path === undefined) return 'ERR_DEVICE_CERT_UNTRUSTED';
  for (const cert of path) {
    if (nowMs < cert.validFromDate.getTime()) return 'ERR_DEVICE_CERT_NOT_YET_VALID';
    if (nowMs > cert.validToDate.getTime()) return 'ERR_DEVICE_CERT_EXPIRED';
  }
  if (trust.requireClientAuth) {
    const usages = leaf.toLegacyObject().ext_key_usage ?? [];
    if (!usages.includes(CLIENT_AUTH)) return 'ERR_DEVICE_CERT_USAGE';
  }
  return undefined;
}

/** The certificates from `leaf` up to and including an anchor, or `undefined` when there is no such path. */
function chainToAnchor(
  leaf: X509Certificate,
  intermediates: readonly X509Certificate[],
  anchors: readonly X509Certificate[],
): X509Certificate[] | undefined {
  const path = [leaf];
  const used = new Set([fingerprint(leaf)]);
  let current = leaf;
  while (path.length <= MAX_CHAIN_CERTIFICATES) {
    const anchor = anchors.find((a) => issuedBy(current, a));
    if (anchor !== undefined) return [...path, anchor];
    const next = intermediates.find(
      (c) => c.ca && !used.has(fingerprint(c)) && issuedBy(current, c),
    );
    if (next === undefined) return undefined;
    path.push(next);
    used.add(fingerprint(next));
    current = next;
  }
  return undefined;
}

function issuedBy(child: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return child.checkIssued(issuer) && child.verify(issuer.publicKey);
  } catch {
    return false;
  }
}
