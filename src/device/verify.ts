import type { X509Certificate } from 'node:crypto';
import { fingerprint } from './describe.js';
import { MAX_CHAIN_CERTIFICATES } from './limits.js';
import type { DeviceErrorCode } from '../input/device.js';

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
 * What verifying a certificate found, apart from the clock: a failure, or the window (ms since
 * the epoch) in which every certificate on its path is valid — `checkValidity` applies the clock,
 * so a verified chain can be remembered and still expire on time.
 */
export type ChainCheck =
  | { readonly ok: false; readonly code: DeviceErrorCode }
  | { readonly ok: true; readonly notBefore: number; readonly notAfter: number };

/**
 * Verify a client certificate against the device CAs, as defence in depth behind the proxy's own
 * TLS verification (a proxy misconfigured to accept any certificate must not make one trusted):
 *
 * 1. a path from `leaf` through `intermediates` (the presented chain; at most
 *    {@link MAX_CHAIN_CERTIFICATES} links) to an anchor, each link checked with node:crypto's
 *    `checkIssued` (names, key identifiers, the issuer's keyCertSign) and `verify` (the
 *    signature with the issuer's public key), each intermediate a CA;
 * 2. with `requireClientAuth`, clientAuth in the leaf's extended key usage;
 * 3. the window in which every certificate on the path, the anchor included, is valid (for
 *    {@link checkValidity}).
 *
 * Fail closed: any exception is a failure.
 */
export function checkChain(
  leaf: X509Certificate,
  intermediates: readonly X509Certificate[],
  trust: DeviceTrust,
): ChainCheck {
  const path = chainToAnchor(leaf, intermediates, trust.anchors);
  if (path === undefined) return { ok: false, code: 'ERR_DEVICE_CERT_UNTRUSTED' };
  if (trust.requireClientAuth) {
    const usages = leaf.toLegacyObject().ext_key_usage ?? [];
    if (!usages.includes(CLIENT_AUTH)) return { ok: false, code: 'ERR_DEVICE_CERT_USAGE' };
  }
  return {
    ok: true,
    notBefore: Math.max(...path.map((c) => c.validFromDate.getTime())),
    notAfter: Math.min(...path.map((c) => c.validToDate.getTime())),
  };
}

/** Whether `nowMs` is inside a verified path's window; the code when it is not. */
export function checkValidity(
  window: { readonly notBefore: number; readonly notAfter: number },
  nowMs: number,
): DeviceErrorCode | undefined {
  if (!(nowMs >= window.notBefore)) return 'ERR_DEVICE_CERT_NOT_YET_VALID';
  if (!(nowMs <= window.notAfter)) return 'ERR_DEVICE_CERT_EXPIRED';
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
