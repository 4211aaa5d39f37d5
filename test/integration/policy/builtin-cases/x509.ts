/**
 * Differential cases for crypto.x509.parse_certificates, over the fixtures in
 * test/testdata/x509 (an EC root, an RSA leaf with DNS/IP/URI/email SANs and EKUs, an Ed25519
 * self-signed certificate). Gatehouse returns the fields Node exposes; each case compares
 * exactly those fields, and a drift case pins which fields they are.
 */
import { readFileSync } from 'node:fs';
import { testdata } from '../../../support/paths.js';

const read = (name: string): string => readFileSync(testdata('x509', name), 'utf8');
const q = (s: string): string => JSON.stringify(s);
const leaf = read('leaf.pem');
const ca = read('ca.pem');
const other = read('other.pem');
const chain = (name: string): string => readFileSync(testdata('x509', 'chain', name), 'utf8');
const der = (pem: string): string => pem.replace(/-----[^-]+-----|\s/g, '');

/** The fields Gatehouse provides (see src/policy/builtins/x509.ts). */
const FIELDS = JSON.stringify([
  'Raw',
  'RawSubjectPublicKeyInfo',
  'SerialNumber',
  'Subject',
  'Issuer',
  'NotBefore',
  'NotAfter',
  'IsCA',
  'PublicKeyAlgorithm',
  'PublicKey',
  'DNSNames',
  'EmailAddresses',
  'IPAddresses',
  'URIStrings',
  'ExtKeyUsage',
  'UnknownExtKeyUsage',
  'OCSPServer',
  'IssuingCertificateURL',
  'SignatureAlgorithm',
]);
const project = (certs: string): string =>
  `[object.filter(c, ${FIELDS}) | some c in crypto.x509.parse_certificates(${certs})]`;

/** Counts the fields of a parsed certificate: a known difference (Go has more). */
export const X509_FIELD_COUNT_CASE = `count(object.keys(crypto.x509.parse_certificates(${q(leaf)})[0]))`;

/** Rego expressions. */
export const X509_CASES: readonly string[] = [
  project(q(leaf)),
  project(q(other)),
  project(q(ca)),
  project(q(chain('chain-leaf.pem'))),
  `[c.Subject.CommonName | some c in crypto.x509.parse_certificates(${q(leaf + ca)})]`,
  project(q(der(leaf))),
  project(q(Buffer.from(leaf).toString('base64'))),
  `crypto.x509.parse_certificates(${q(leaf)})[0].URIStrings`,
  `crypto.x509.parse_certificates(${q(leaf)})[0].Subject.CommonName`,
  `crypto.x509.parse_certificates("not a certificate")`,
  `crypto.x509.parse_certificates(${q(leaf.replace('CERTIFICATE', 'PUBLIC KEY').replace('END CERTIFICATE', 'END PUBLIC KEY'))})`,
  `crypto.x509.parse_certificates(${q(leaf.slice(0, 200))})`,
  X509_FIELD_COUNT_CASE,
  ...verifyCases(),
];

/** parse_and_verify_certificates(_with_options) over the chains of test/testdata/x509/chain. */
function verifyCases(): string[] {
  const int = chain('int.pem');
  const verified = (call: string): string =>
    `[ok, [object.filter(c, ${FIELDS}) | some c in certs]] if { [ok, certs] := ${call} }`;
  const plain = (...pems: string[]): string =>
    `crypto.x509.parse_and_verify_certificates(${q(pems.join(''))})`;
  const withOpts = (opts: string, ...pems: string[]): string =>
    `crypto.x509.parse_and_verify_certificates_with_options(${q(pems.join(''))}, ${opts})`;
  const names = (call: string): string =>
    `[ok, [c.Subject.CommonName | some c in certs]] if { [ok, certs] := ${call} }`;
  return [
    verified(plain(ca, leaf)), // valid root + leaf
    verified(plain(ca, int, chain('chain-leaf.pem'))), // valid root + intermediate + leaf
    names(plain(ca, chain('chain-leaf.pem'), int)), // out of order: the intermediate is the leaf
    names(plain(ca, chain('chain-leaf.pem'))), // the intermediate is missing
    names(plain(other, leaf)), // wrong issuer
    names(plain(ca, chain('forged.pem'))), // the root's name, another key
    names(plain(chain('fakeca.pem'), chain('forged.pem'))),
    names(plain(ca, chain('expired.pem'))),
    names(plain(ca, chain('future.pem'))),
    names(plain(ca)), // a lone certificate
    names(plain(other, other)), // the leaf is the root
    names(plain(leaf, chain('by-leaf.pem'))), // issued by a non-CA
    names(plain(ca, leaf, chain('by-leaf.pem'))),
    names(plain(chain('rootpl0.pem'), chain('int-pl0.pem'), chain('leaf-pl0.pem'))), // path length 0
    names(plain(chain('rootnc.pem'), chain('leaf-nc.pem'))), // name constraints exclude the leaf
    names(plain(ca, chain('client.pem'))), // clientAuth only: the default usage is serverAuth
    `crypto.x509.parse_and_verify_certificates("not a certificate")`,
    verified(withOpts('{}', ca, leaf)),
    names(withOpts(`{"KeyUsages": ["KeyUsageAny"]}`, ca, chain('client.pem'))),
    names(withOpts(`{"KeyUsages": ["KeyUsageClientAuth"]}`, ca, chain('client.pem'))),
    names(withOpts(`{"KeyUsages": {"KeyUsageCodeSigning"}}`, ca, leaf)),
    names(withOpts(`{"KeyUsages": ["KeyUsageCodeSigning", "KeyUsageClientAuth"]}`, ca, leaf)),
    names(withOpts(`{"KeyUsages": ["KeyUsageAny"]}`, leaf, chain('by-leaf.pem'))),
    names(withOpts(`{"DNSName": "alt.example.test"}`, ca, leaf)),
    names(withOpts(`{"DNSName": "x.example.test"}`, ca, leaf)), // wrong DNS name
    names(withOpts(`{"DNSName": "Gatehouse"}`, ca, leaf)), // the Subject is not a name source
    names(withOpts(`{"DNSName": "10.0.0.1"}`, ca, leaf)),
    names(withOpts(`{"DNSName": "10.0.0.9"}`, ca, leaf)),
    names(withOpts(`{"DNSName": "API.example.test."}`, ca, int, chain('chain-leaf.pem'))),
    names(withOpts(`{"DNSName": "a.apps.example.test"}`, ca, int, chain('chain-leaf.pem'))),
    names(withOpts(`{"DNSName": "a.b.apps.example.test"}`, ca, int, chain('chain-leaf.pem'))),
    names(withOpts(`{"DNSName": "apps.example.test"}`, ca, int, chain('chain-leaf.pem'))),
    names(withOpts(`{"CurrentTime": 4102444800000000000}`, ca, chain('future.pem'))), // 2100-01-01
    names(withOpts(`{"CurrentTime": 1609459200000000000}`, ca, chain('expired.pem'))), // the root is not valid yet
    names(withOpts(`{"CurrentTime": 4102444800000000000}`, ca, leaf)),
    names(withOpts(`{"MaxConstraintComparisons": 10}`, ca, leaf)),
    names(withOpts(`{"Nope": 1}`, ca, leaf)),
    names(withOpts(`{"KeyUsages": ["Nope"]}`, ca, leaf)),
    names(withOpts(`{"DNSName": 1}`, ca, leaf)),
    names(withOpts(`{"CurrentTime": "now"}`, ca, leaf)),
    names(withOpts(`{"Nope": 1}`, 'not a certificate')),
  ];
}
