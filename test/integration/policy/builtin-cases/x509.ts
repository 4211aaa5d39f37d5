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
]);
const project = (certs: string): string =>
  `[object.filter(c, ${FIELDS}) | some c in crypto.x509.parse_certificates(${certs})]`;

/** Counts the fields of a parsed certificate: a known difference (Go has more). */
export const X509_FIELD_COUNT_CASE = `count(object.keys(crypto.x509.parse_certificates(${q(leaf)})[0]))`;

/** Rego expressions. */
export const X509_CASES: readonly string[] = [
  project(q(leaf)),
  project(q(other)),
  `[object.filter(c, ${FIELDS}) | some c in crypto.x509.parse_certificates(${q(ca)})][0].Subject`,
  `[c.Subject.CommonName | some c in crypto.x509.parse_certificates(${q(leaf + ca)})]`,
  project(q(der(leaf))),
  project(q(Buffer.from(leaf).toString('base64'))),
  `crypto.x509.parse_certificates(${q(leaf)})[0].URIStrings`,
  `crypto.x509.parse_certificates(${q(leaf)})[0].Subject.CommonName`,
  `crypto.x509.parse_certificates("not a certificate")`,
  `crypto.x509.parse_certificates(${q(leaf.replace('CERTIFICATE', 'PUBLIC KEY').replace('END CERTIFICATE', 'END PUBLIC KEY'))})`,
  `crypto.x509.parse_certificates(${q(leaf.slice(0, 200))})`,
  X509_FIELD_COUNT_CASE,
];
