/**
 * OPA's `crypto.x509.parse_certificates(certs)`, on Node's `X509Certificate` (no ASN.1 here).
 *
 * Input as in OPA: PEM text (every block must be a `CERTIFICATE`), or base64 of DER or of PEM.
 * Each certificate becomes the fields of Go's `x509.Certificate` that Node exposes, with Go's
 * names and JSON encodings: `Raw`, `RawSubjectPublicKeyInfo`, `SerialNumber` (exact integer),
 * `Subject`/`Issuer` (`CommonName`, `Country`, `Organization`, `OrganizationalUnit`,
 * `Locality`, `Province`, `StreetAddress`, `PostalCode`, `SerialNumber`, `Names`,
 * `ExtraNames`), `NotBefore`, `NotAfter`, `IsCA`, `PublicKeyAlgorithm`, `PublicKey` (RSA `N`/`E`,
 * EC `X`/`Y`, Ed25519 bytes), `SignatureAlgorithm` (not for RSA-PSS, whose hash Node does not
 * expose), `DNSNames`, `EmailAddresses`, `IPAddresses`, `URIStrings`, `ExtKeyUsage`,
 * `UnknownExtKeyUsage`, `OCSPServer`, `IssuingCertificateURL`. The other 34 fields of Go's
 * struct (`KeyUsage`, `Extensions`, `SubjectKeyId`, `Signature`, `Version`, `RawTBSCertificate`,
 * `URIs`, `MaxPathLen`, …) need a DER parser Node does not offer, so they are absent and a
 * policy reading them is undefined — it fails closed rather than seeing a wrong value. A base64
 * DER input must hold exactly one certificate (OPA also accepts several concatenated).
 */
import { X509Certificate } from 'node:crypto';
import { formatIp, parseIp } from './ip.js';
import { exactNestedInteger } from './raw-json.js';

const NAME_ATTRIBUTES: Record<string, { oid: number[]; field?: string }> = {
  CN: { oid: [2, 5, 4, 3], field: 'CommonName' },
  SN: { oid: [2, 5, 4, 4] },
  serialNumber: { oid: [2, 5, 4, 5], field: 'SerialNumber' },
  C: { oid: [2, 5, 4, 6], field: 'Country' },
  L: { oid: [2, 5, 4, 7], field: 'Locality' },
  ST: { oid: [2, 5, 4, 8], field: 'Province' },
  street: { oid: [2, 5, 4, 9], field: 'StreetAddress' },
  O: { oid: [2, 5, 4, 10], field: 'Organization' },
  OU: { oid: [2, 5, 4, 11], field: 'OrganizationalUnit' },
  postalCode: { oid: [2, 5, 4, 17], field: 'PostalCode' },
  emailAddress: { oid: [1, 2, 840, 113549, 1, 9, 1] },
  DC: { oid: [0, 9, 2342, 19200300, 100, 1, 25] },
  UID: { oid: [0, 9, 2342, 19200300, 100, 1, 1] },
};

/** Go's `x509.ExtKeyUsage` numbers by OID. */
export const EXT_KEY_USAGES: Record<string, number> = {
  '2.5.29.37.0': 0,
  '1.3.6.1.5.5.7.3.1': 1,
  '1.3.6.1.5.5.7.3.2': 2,
  '1.3.6.1.5.5.7.3.3': 3,
  '1.3.6.1.5.5.7.3.4': 4,
  '1.3.6.1.5.5.7.3.5': 5,
  '1.3.6.1.5.5.7.3.6': 6,
  '1.3.6.1.5.5.7.3.7': 7,
  '1.3.6.1.5.5.7.3.8': 8,
  '1.3.6.1.5.5.7.3.9': 9,
  '1.3.6.1.4.1.311.10.3.3': 10,
  '2.16.840.1.113730.4.1': 11,
  '1.3.6.1.4.1.311.2.1.22': 12,
  '1.3.6.1.4.1.311.61.1.1': 13,
};

/** Go's `x509.SignatureAlgorithm` by OID (RSA-PSS is absent: its hash is in parameters Node does not expose). */
const SIGNATURE_ALGORITHMS: Record<string, number> = {
  '1.2.840.113549.1.1.2': 1,
  '1.2.840.113549.1.1.4': 2,
  '1.2.840.113549.1.1.5': 3,
  '1.2.840.113549.1.1.11': 4,
  '1.2.840.113549.1.1.12': 5,
  '1.2.840.113549.1.1.13': 6,
  '1.2.840.10040.4.3': 7,
  '2.16.840.1.101.3.4.3.2': 8,
  '1.2.840.10045.4.1': 9,
  '1.2.840.10045.4.3.2': 10,
  '1.2.840.10045.4.3.3': 11,
  '1.2.840.10045.4.3.4': 12,
  '1.3.101.112': 16,
};

/** Go's `pkix.Name` from Node's `subject`/`issuer` text (`CN=a\nO=b`, multi-valued RDNs joined by `+`). */
function pkixName(text: string | undefined): Record<string, unknown> | undefined {
  const name: Record<string, unknown> = {
    CommonName: '',
    Country: null,
    ExtraNames: null,
    Locality: null,
    Names: [],
    Organization: null,
    OrganizationalUnit: null,
    PostalCode: null,
    Province: null,
    SerialNumber: '',
    StreetAddress: null,
  };
  const names: Array<{ Type: number[]; Value: string }> = [];
  for (const line of (text ?? '').split('\n')) {
    if (line === '') continue;
    const eq = line.indexOf('=');
    if (eq < 0) return undefined;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    const attr = NAME_ATTRIBUTES[key];
    if (attr === undefined) return undefined; // an attribute Node prints by a name we cannot map to its OID
    names.push({ Type: attr.oid, Value: value });
    if (attr.field === 'CommonName' || attr.field === 'SerialNumber') name[attr.field] = value;
    else if (attr.field !== undefined)
      name[attr.field] = [...((name[attr.field] as string[] | null) ?? []), value];
  }
  name['Names'] = names;
  return name;
}

/** Splits Node's `subjectAltName` (`DNS:a, IP Address:1.2.3.4, URI:…`, values JSON-quoted when needed). */
function altNames(text: string | undefined): Array<[string, string]> | undefined {
  const out: Array<[string, string]> = [];
  if (text === undefined) return out;
  const re =
    /(DNS|IP Address|URI|email|othername|DirName|Registered ID):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/gy;
  let m: RegExpExecArray | null;
  let end = 0;
  for (m = re.exec(text); m !== null && m[0] !== ''; m = re.exec(text)) {
    let value = m[2] as string;
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        return undefined;
      }
    }
    out.push([m[1] as string, value]);
    end = re.lastIndex;
  }
  return end === text.length ? out : undefined;
}

/** `OCSPServer` and `IssuingCertificateURL` from Node's `infoAccess` (`OCSP - URI:…` lines). */
function infoAccess(text: string | undefined): { ocsp: string[]; issuers: string[] } | undefined {
  const out = { ocsp: [] as string[], issuers: [] as string[] };
  for (const line of (text ?? '').split('\n')) {
    if (line === '') continue;
    const m = /^(OCSP|CA Issuers) - URI:(.*)$/.exec(line);
    if (m === null) continue; // another access method (Go ignores those too)
    let value = m[2] as string;
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        return undefined;
      }
    }
    (m[1] === 'OCSP' ? out.ocsp : out.issuers).push(value);
  }
  return out;
}

const bigFromB64url = (s: string | undefined): bigint =>
  BigInt(`0x${Buffer.from(s ?? '', 'base64url').toString('hex') || '0'}`);

const nonEmpty = <T>(list: T[]): T[] | null => (list.length === 0 ? null : list);

export function describe(cert: X509Certificate): Record<string, unknown> | undefined {
  const subject = pkixName(cert.subject);
  const issuer = pkixName(cert.issuer);
  const sans = altNames(cert.subjectAltName);
  const access = infoAccess(cert.infoAccess);
  if (subject === undefined || issuer === undefined || sans === undefined || access === undefined)
    return undefined;
  const dns: string[] = [];
  const emails: string[] = [];
  const ips: string[] = [];
  const uris: string[] = [];
  for (const [kind, value] of sans) {
    if (kind === 'DNS') dns.push(value);
    else if (kind === 'email') emails.push(value);
    else if (kind === 'URI') uris.push(value);
    else if (kind === 'IP Address') {
      const ip = parseIp(value.toLowerCase());
      if (ip === undefined) return undefined;
      ips.push(formatIp(ip));
    }
  }
  const key = cert.publicKey;
  const type = key.asymmetricKeyType;
  let publicKey: unknown;
  if (type === 'rsa') {
    const jwk = key.export({ format: 'jwk' });
    publicKey = {
      E: Number(BigInt(`0x${Buffer.from(jwk.e ?? '', 'base64url').toString('hex')}`)),
      N: exactNestedInteger(BigInt(`0x${Buffer.from(jwk.n ?? '', 'base64url').toString('hex')}`)),
    };
  } else if (type === 'ec') {
    // Go's ecdsa.PublicKey: the curve marshals as {} (its fields are unexported), X and Y exact.
    const jwk = key.export({ format: 'jwk' });
    publicKey = {
      Curve: {},
      X: exactNestedInteger(bigFromB64url(jwk.x)),
      Y: exactNestedInteger(bigFromB64url(jwk.y)),
    };
  } else if (type === 'ed25519') {
    publicKey = Buffer.from(key.export({ format: 'jwk' }).x ?? '', 'base64url').toString('base64');
  }
  const usages = cert.keyUsage ?? [];
  const out: Record<string, unknown> = {
    Raw: cert.raw.toString('base64'),
    RawSubjectPublicKeyInfo: key.export({ type: 'spki', format: 'der' }).toString('base64'),
    SerialNumber: exactNestedInteger(BigInt(`0x${cert.serialNumber}`)),
    Subject: subject,
    Issuer: issuer,
    NotBefore: cert.validFromDate.toISOString().replace('.000Z', 'Z'),
    NotAfter: cert.validToDate.toISOString().replace('.000Z', 'Z'),
    IsCA: cert.ca,
    PublicKeyAlgorithm:
      type === 'rsa' ? 1 : type === 'dsa' ? 2 : type === 'ec' ? 3 : type === 'ed25519' ? 4 : 0,
    DNSNames: nonEmpty(dns),
    EmailAddresses: nonEmpty(emails),
    IPAddresses: nonEmpty(ips),
    URIStrings: nonEmpty(uris),
    OCSPServer: nonEmpty(access.ocsp),
    IssuingCertificateURL: nonEmpty(access.issuers),
    ExtKeyUsage: nonEmpty(
      usages
        .filter((u) => Object.hasOwn(EXT_KEY_USAGES, u))
        .map((u) => EXT_KEY_USAGES[u] as number),
    ),
    UnknownExtKeyUsage: nonEmpty(
      usages.filter((u) => !Object.hasOwn(EXT_KEY_USAGES, u)).map((u) => u.split('.').map(Number)),
    ),
  };
  if (publicKey !== undefined) out['PublicKey'] = publicKey;
  const algorithm = SIGNATURE_ALGORITHMS[cert.signatureAlgorithmOid];
  if (algorithm !== undefined) out['SignatureAlgorithm'] = algorithm;
  return out;
}

const PEM_BLOCK = /-----BEGIN ([^-\r\n]+)-----\r?\n[\s\S]*?-----END \1-----/g;

export function certificates(text: string): X509Certificate[] | undefined {
  let pem = text;
  if (!text.startsWith('-----BEGIN')) {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
    const bytes = Buffer.from(text, 'base64');
    if (!bytes.subarray(0, 10).equals(Buffer.from('-----BEGIN'))) {
      try {
        const cert = new X509Certificate(bytes);
        return cert.raw.length === bytes.length ? [cert] : undefined;
      } catch {
        return undefined;
      }
    }
    pem = bytes.toString('utf8');
  }
  const out: X509Certificate[] = [];
  for (const block of pem.matchAll(PEM_BLOCK)) {
    if (block[1] !== 'CERTIFICATE') return undefined;
    try {
      out.push(new X509Certificate(block[0]));
    } catch {
      return undefined;
    }
  }
  return out;
}

/** `crypto.x509.parse_certificates(certs)`. */
export function parseCertificates(certs: unknown): Array<Record<string, unknown>> | undefined {
  if (typeof certs !== 'string') return undefined;
  const list = certificates(certs);
  if (list === undefined) return undefined;
  const out: Array<Record<string, unknown>> = [];
  for (const cert of list) {
    const d = describe(cert);
    if (d === undefined) return undefined;
    out.push(d);
  }
  return out;
}
