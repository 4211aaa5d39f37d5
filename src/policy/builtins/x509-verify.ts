/**
 * OPA's `crypto.x509.parse_and_verify_certificates(certs)` and
 * `crypto.x509.parse_and_verify_certificates_with_options(certs, options)`, on Node's
 * `X509Certificate` (`checkIssued`, `verify`, `checkHost`, `checkIP`): no ASN.1 and no signature
 * code here.
 *
 * As in OPA: the first certificate is the root, the last the leaf, the ones between are
 * intermediates; fewer than two, or anything unparsable, gives `[false, []]`. The leaf must be
 * valid at the evaluation's "now" (or `CurrentTime`), match `DNSName` when given (Go's rules:
 * SANs only, no Subject CN, one leading `*` label), and chain to the root through the
 * intermediates, each parent a CA (`basicConstraints CA:TRUE`), valid at that time, naming the
 * child's issuer, with `keyCertSign` when it has a key usage, and its key verifying the child's
 * signature. Signatures Go refuses (MD5, SHA-1, DSA, …) fail. The chain must then allow one of
 * `KeyUsages` (default `KeyUsageServerAuth`) under Go's extended-key-usage rules. The result is
 * `[true, chain]`, leaf first, each certificate as `crypto.x509.parse_certificates` describes it
 * (with `URIStrings` only without options, as in OPA).
 *
 * What Node cannot tell fails closed: a certificate carrying name constraints, policy
 * constraints, policy mappings or inhibitAnyPolicy (OPA evaluates them; Node does not expose
 * them) fails the chain, and so does a CA with a certificate below it other than the leaf
 * unless its basicConstraints carry no path length. Both are found by comparing fixed DER byte
 * strings (an extension's OID; the whole encoding of `CA:TRUE` without a length), never by
 * parsing. Invalid options make the result undefined, as OPA's errors do in `opa eval`.
 */
import type { X509Certificate } from 'node:crypto';
import type { EvalContext } from './context.js';
import { isIP } from 'node:net';
import { certificates, describe, EXT_KEY_USAGES } from './x509.js';

/** Go's `x509.ExtKeyUsage` numbers of OPA's `KeyUsages` names. */
const KEY_USAGES: Record<string, number> = {
  KeyUsageAny: 0,
  KeyUsageServerAuth: 1,
  KeyUsageClientAuth: 2,
  KeyUsageCodeSigning: 3,
  KeyUsageEmailProtection: 4,
  KeyUsageIPSECEndSystem: 5,
  KeyUsageIPSECTunnel: 6,
  KeyUsageIPSECUser: 7,
  KeyUsageTimeStamping: 8,
  KeyUsageOCSPSigning: 9,
  KeyUsageMicrosoftServerGatedCrypto: 10,
  KeyUsageNetscapeServerGatedCrypto: 11,
  KeyUsageMicrosoftCommercialCodeSigning: 12,
  KeyUsageMicrosoftKernelCodeSigning: 13,
};
const ANY = 0;
const SERVER_AUTH = 1;
const SERVER_GATED_CRYPTO = [10, 11];

/** Signature algorithms Go's `CheckSignatureFrom` accepts (SHA-2 RSA, RSA-PSS, ECDSA, Ed25519). */
const SECURE_SIGNATURES: ReadonlySet<string> = new Set([
  '1.2.840.113549.1.1.11',
  '1.2.840.113549.1.1.12',
  '1.2.840.113549.1.1.13',
  '1.2.840.113549.1.1.10',
  '1.2.840.10045.4.3.2',
  '1.2.840.10045.4.3.3',
  '1.2.840.10045.4.3.4',
  '1.3.101.112',
]);

/** DER of the OIDs of extensions Go evaluates and Node does not expose (2.5.29.30/36/33/54). */
const OPAQUE_EXTENSIONS: readonly Buffer[] = [0x1e, 0x24, 0x21, 0x36].map((last) =>
  Buffer.from([0x06, 0x03, 0x55, 0x1d, last]),
);

/** basicConstraints' OID followed by `CA:TRUE` without a path length, non-critical or critical. */
const CA_WITHOUT_PATH_LENGTH: readonly Buffer[] = [
  Buffer.from('0603551d13040530030101ff', 'hex'),
  Buffer.from('0603551d130101ff040530030101ff', 'hex'),
];

/** Bound on signature checks while building chains, as Go's `maxChainSignatureChecks`. */
const MAX_SIGNATURE_CHECKS = 100;

interface Options {
  readonly dnsName: string;
  readonly nowNs: bigint;
  readonly usages: readonly number[];
}

const FAIL: [false, never[]] = [false, []];

function validAt(cert: X509Certificate, nowNs: bigint): boolean {
  const ns = (d: Date): bigint => BigInt(d.getTime()) * 1_000_000n;
  return nowNs >= ns(cert.validFromDate) && nowNs <= ns(cert.validToDate);
}

/** Go's `VerifyHostname`: an IP matches IP SANs; a name matches DNS SANs, case and final dot aside. */
function matchesHost(cert: X509Certificate, host: string): boolean {
  const ip =
    host.length >= 3 && host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (isIP(ip) !== 0) return cert.checkIP(ip) !== undefined;
  const name = host.toLowerCase().replace(/\.$/, '');
  if (name === '') return false;
  return (
    cert.checkHost(name, {
      subject: 'never',
      wildcards: true,
      partialWildcards: false,
      multiLabelWildcards: false,
      singleLabelSubdomains: false,
    }) !== undefined
  );
}

/** Go's `CheckSignatureFrom` plus the CA and validity checks of `isValid`. */
function issues(parent: X509Certificate, child: X509Certificate, nowNs: bigint): boolean {
  return (
    parent.ca &&
    validAt(parent, nowNs) &&
    SECURE_SIGNATURES.has(child.signatureAlgorithmOid) &&
    child.checkIssued(parent) &&
    child.verify(parent.publicKey)
  );
}

const sameCert = (a: X509Certificate, b: X509Certificate): boolean => a.raw.equals(b.raw);

const containsAny = (cert: X509Certificate, needles: readonly Buffer[]): boolean =>
  needles.some((n) => cert.raw.includes(n));

/** Every chain from `chain`'s last certificate up to a root, as Go's `buildChains` explores them. */
function buildChains(
  chain: X509Certificate[],
  roots: readonly X509Certificate[],
  intermediates: readonly X509Certificate[],
  nowNs: bigint,
  budget: { checks: number },
): X509Certificate[][] {
  const child = chain[chain.length - 1] as X509Certificate;
  const out: X509Certificate[][] = [];
  const consider = (candidate: X509Certificate, root: boolean): void => {
    if (chain.some((c) => sameCert(c, candidate))) return;
    if (++budget.checks > MAX_SIGNATURE_CHECKS) return;
    if (!issues(candidate, child, nowNs)) return;
    if (containsAny(candidate, OPAQUE_EXTENSIONS)) return;
    // A path length matters once an intermediate sits below: accept only "no length".
    if (chain.length > 1 && !containsAny(candidate, CA_WITHOUT_PATH_LENGTH)) return;
    const next = [...chain, candidate];
    if (root) out.push(next);
    else out.push(...buildChains(next, roots, intermediates, nowNs, budget));
  };
  for (const r of roots) consider(r, true);
  for (const i of intermediates) consider(i, false);
  return out;
}

/** Go's `checkChainForKeyUsage`. */
function allowsUsage(chain: readonly X509Certificate[], requested: readonly number[]): boolean {
  const usages: Array<number | undefined> = [...requested];
  let remaining = usages.length;
  for (let i = chain.length - 1; i >= 0; i--) {
    const ekus = (chain[i] as X509Certificate).keyUsage;
    if (ekus === undefined || ekus.length === 0) continue;
    const known = ekus
      .filter((o) => Object.hasOwn(EXT_KEY_USAGES, o))
      .map((o) => EXT_KEY_USAGES[o]);
    if (known.includes(ANY)) continue;
    for (let u = 0; u < usages.length; u++) {
      const want = usages[u];
      if (want === undefined) continue;
      const ok =
        known.includes(want) ||
        (want === SERVER_AUTH && known.some((k) => SERVER_GATED_CRYPTO.includes(k as number)));
      if (ok) continue;
      usages[u] = undefined;
      if (--remaining === 0) return false;
    }
  }
  return true;
}

function verify(text: string, opts: Options, withUriStrings: boolean): [boolean, unknown[]] {
  const certs = certificates(text);
  if (certs === undefined || certs.length < 2) return FAIL;
  const leaf = certs[certs.length - 1] as X509Certificate;
  const roots = certs.slice(0, 1);
  const intermediates = certs.slice(1, -1);
  if (!validAt(leaf, opts.nowNs)) return FAIL;
  if (opts.dnsName !== '' && !matchesHost(leaf, opts.dnsName)) return FAIL;
  if (containsAny(leaf, OPAQUE_EXTENSIONS)) return FAIL;
  let chains: X509Certificate[][];
  if (roots.some((r) => sameCert(r, leaf))) chains = [[leaf]];
  else chains = buildChains([leaf], roots, intermediates, opts.nowNs, { checks: 0 });
  const usages = opts.usages.length === 0 ? [SERVER_AUTH] : opts.usages;
  if (!usages.includes(ANY)) chains = chains.filter((c) => allowsUsage(c, usages));
  const chain = chains[0];
  if (chain === undefined) return FAIL;
  const described: unknown[] = [];
  for (const cert of chain) {
    const d = describe(cert);
    if (d === undefined) return FAIL;
    if (!withUriStrings) delete d['URIStrings'];
    described.push(d);
  }
  return [true, described];
}

/** `crypto.x509.parse_and_verify_certificates(certs)`, "now" from the evaluation's clock. */
export function parseAndVerify(ctx: EvalContext): (certs: unknown) => unknown {
  return (certs) => {
    if (typeof certs !== 'string') return undefined;
    return verify(certs, { dnsName: '', nowNs: ctx.nowNs(), usages: [] }, true);
  };
}

/** OPA's `extractVerifyOpts`: undefined (OPA's error) for an unknown key or a wrong type. */
function options(raw: Record<string, unknown>, ctx: EvalContext): Options | undefined {
  let dnsName = '';
  let nowNs: bigint | undefined;
  const usages: number[] = [];
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'DNSName') {
      if (typeof value !== 'string') return undefined;
      dnsName = value.replace(/^"+|"+$/g, '');
    } else if (key === 'CurrentTime') {
      // Nanoseconds beyond 2^53 reach the host as JS numbers: exact to a few hundred ns.
      if (typeof value !== 'number' || !Number.isInteger(value) || Math.abs(value) >= 2 ** 63)
        return undefined;
      nowNs = BigInt(value);
    } else if (key === 'MaxConstraintComparisons') {
      // Name constraints fail the chain here (see above), so the bound has nothing to limit.
      if (typeof value !== 'number' || !Number.isInteger(value)) return undefined;
    } else if (key === 'KeyUsages') {
      if (!Array.isArray(value)) return undefined;
      for (const u of value) {
        if (typeof u !== 'string') continue;
        const n = KEY_USAGES[u.replace(/^"+|"+$/g, '')];
        if (n === undefined) return undefined;
        usages.push(n);
      }
    } else {
      return undefined;
    }
  }
  return { dnsName, nowNs: nowNs ?? ctx.nowNs(), usages };
}

/** `crypto.x509.parse_and_verify_certificates_with_options(certs, options)`. */
export function parseAndVerifyWithOptions(
  ctx: EvalContext,
): (certs: unknown, options: unknown) => unknown {
  return (certs, raw) => {
    if (typeof certs !== 'string') return undefined;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
    // OPA reads the options only once the certificates parse.
    const parsed = certificates(certs);
    if (parsed === undefined) return FAIL;
    const opts = options(raw as Record<string, unknown>, ctx);
    if (opts === undefined) return undefined;
    return verify(certs, opts, false);
  };
}
