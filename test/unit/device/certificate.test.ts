import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { parseConfig } from '../../../src/config/load.js';
import { resolveDevice, type DeviceOptions } from '../../../src/device/resolve.js';
import { deviceOptions } from '../../../src/device/trust.js';
import { MAX_CHAIN_CERTIFICATES } from '../../../src/device/limits.js';
import { GatehouseError } from '../../../src/errors/gatehouse-error.js';
import {
  CheckRequestSchema,
  type CheckRequest,
} from '../../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import { DeviceCa, openssl, urlEncodePem } from '../../support/device-certs.js';

/**
 * Client certificates into `input.device`: parsing (differential against the openssl CLI),
 * verification against device CAs, and the hostile cases, with certificates made by openssl.
 */

const HOUR = 3_600_000;
const company = new DeviceCa('Acme');
const issuing = DeviceCa.under(company, 'Acme Devices');
const other = new DeviceCa('Evil');
const laptop = company.issue({
  subject: '/C=DE/O=Acme, Inc./OU=eng/OU=laptops/CN=laptop-1/emailAddress=alice@acme.test',
  sans: [
    'URI:spiffe://acme.test/device/laptop-1',
    'DNS:laptop-1.acme.test',
    'email:alice@acme.test',
    'IP:10.1.2.3',
  ],
});
const chained = issuing.issue({ subject: '/O=Acme/CN=phone-7', sans: ['DNS:phone-7.acme.test'] });
const now = Date.now();

function request(options: { peer?: string; xfcc?: string } = {}): CheckRequest {
  return create(CheckRequestSchema, {
    attributes: {
      source: { certificate: options.peer ?? '' },
      request: {
        http: {
          method: 'GET',
          path: '/',
          headers: options.xfcc === undefined ? {} : { 'x-forwarded-client-cert': options.xfcc },
        },
      },
    },
  });
}

function verifying(pem: string, extra: Partial<DeviceOptions> = {}): DeviceOptions {
  return {
    trust: { anchors: [new X509Certificate(pem)], requireClientAuth: true },
    xfccTrusted: false,
    now: () => now,
    ...extra,
  };
}

const PLAIN: DeviceOptions = { xfccTrusted: false, now: () => now };

test('a peer certificate reaches input.device with every field openssl reports', () => {
  const { device, detail } = resolveDevice(request({ peer: urlEncodePem(laptop.pem) }), PLAIN);
  assert.equal(detail, undefined);
  assert.equal(device.certificate_error, null);
  const cert = device.certificate;
  assert.ok(cert !== null);
  assert.equal(cert.source, 'peer');
  assert.equal(cert.verified, false, 'no ca_file: Gatehouse did not verify it');
  const subject = openssl([
    'x509',
    '-in',
    laptop.cert,
    '-noout',
    '-subject',
    '-nameopt',
    'RFC2253',
  ]);
  assert.equal(`subject=${cert.subject}\n`, subject);
  const issuer = openssl(['x509', '-in', laptop.cert, '-noout', '-issuer', '-nameopt', 'RFC2253']);
  assert.equal(`issuer=${cert.issuer}\n`, issuer);
  assert.equal(
    cert.subject,
    'emailAddress=alice@acme.test,CN=laptop-1,OU=laptops,OU=eng,O=Acme\\, Inc.,C=DE',
  );
  assert.deepEqual(cert.subject_fields, {
    C: ['DE'],
    O: ['Acme, Inc.'],
    OU: ['eng', 'laptops'],
    CN: ['laptop-1'],
    emailAddress: ['alice@acme.test'],
  });
  assert.deepEqual(cert.issuer_fields, { O: ['Acme'], CN: ['Acme root'] });
  assert.deepEqual(cert.san, {
    dns: ['laptop-1.acme.test'],
    uri: ['spiffe://acme.test/device/laptop-1'],
    email: ['alice@acme.test'],
    ip: ['10.1.2.3'],
  });
  assert.equal(cert.spiffe_id, 'spiffe://acme.test/device/laptop-1');
  const serial = openssl(['x509', '-in', laptop.cert, '-noout', '-serial']).trim();
  assert.equal(`serial=${cert.serial}`, serial);
  const sha = openssl(['x509', '-in', laptop.cert, '-noout', '-fingerprint', '-sha256']);
  assert.equal(
    cert.fingerprint_sha256,
    sha.trim().split('=')[1]?.replaceAll(':', '').toLowerCase(),
  );
  const x = new X509Certificate(laptop.pem);
  assert.equal(cert.not_before, Math.floor(x.validFromDate.getTime() / 1000));
  assert.equal(cert.not_after, Math.floor(x.validToDate.getTime() / 1000));
});

test('a multi-valued RDN and escaped characters print as openssl -nameopt RFC2253 does', () => {
  const odd = company.issue({ subject: '/O=a\\+b;c/OU=x+CN=y "q"/CN=#lead\\, trail ' });
  const { device } = resolveDevice(request({ peer: urlEncodePem(odd.pem) }), PLAIN);
  const subject = openssl(['x509', '-in', odd.cert, '-noout', '-subject', '-nameopt', 'RFC2253']);
  assert.equal(`subject=${device.certificate?.subject}\n`, subject);
});

test('with ca_file, a certificate from the company CA is verified', () => {
  const { device } = resolveDevice(
    request({ peer: urlEncodePem(laptop.pem) }),
    verifying(company.pem),
  );
  assert.equal(device.certificate?.verified, true);
  assert.equal(device.certificate_error, null);
});

test('hostile: a certificate from another CA is refused (ERR_DEVICE_CERT_UNTRUSTED)', () => {
  const forged = other.issue({
    subject: '/O=Acme/CN=laptop-1',
    sans: ['URI:spiffe://acme.test/device/laptop-1'],
  });
  const { device, detail } = resolveDevice(
    request({ peer: urlEncodePem(forged.pem) }),
    verifying(company.pem),
  );
  assert.equal(device.certificate, null);
  assert.deepEqual(device.certificate_error, { code: 'ERR_DEVICE_CERT_UNTRUSTED', source: 'peer' });
  assert.ok(detail !== undefined);
});

test('hostile: a certificate with the company CA as its issuer name but another key is refused', () => {
  // Same subject as the company root: only the signature tells them apart.
  const impostor = new DeviceCa('Acme');
  const cert = impostor.issue({ subject: '/O=Acme/CN=laptop-1' });
  const { device } = resolveDevice(
    request({ peer: urlEncodePem(cert.pem) }),
    verifying(company.pem),
  );
  assert.equal(device.certificate_error?.code, 'ERR_DEVICE_CERT_UNTRUSTED');
});

test('hostile: an expired certificate is refused (ERR_DEVICE_CERT_EXPIRED)', () => {
  const expired = company.issue({
    subject: '/CN=old-laptop',
    notBefore: new Date(now - 10 * HOUR),
    notAfter: new Date(now - HOUR),
  });
  const { device } = resolveDevice(
    request({ peer: urlEncodePem(expired.pem) }),
    verifying(company.pem),
  );
  assert.deepEqual(device.certificate_error, { code: 'ERR_DEVICE_CERT_EXPIRED', source: 'peer' });
  assert.equal(device.certificate, null);
});

test('hostile: a not-yet-valid certificate is refused (ERR_DEVICE_CERT_NOT_YET_VALID)', () => {
  const future = company.issue({
    subject: '/CN=future-laptop',
    notBefore: new Date(now + HOUR),
    notAfter: new Date(now + 10 * HOUR),
  });
  const { device } = resolveDevice(
    request({ peer: urlEncodePem(future.pem) }),
    verifying(company.pem),
  );
  assert.deepEqual(device.certificate_error, {
    code: 'ERR_DEVICE_CERT_NOT_YET_VALID',
    source: 'peer',
  });
});

test('the validity window follows the (frozen) clock, also for a remembered certificate', () => {
  const x = new X509Certificate(laptop.pem);
  // One options object: the parsed and verified certificate is remembered after the first
  // request, and the clock must still be applied to every later one.
  let clock = now;
  const options = verifying(company.pem, { now: () => clock });
  const at = (ms: number) => {
    clock = ms;
    return resolveDevice(request({ peer: urlEncodePem(laptop.pem) }), options).device
      .certificate_error?.code;
  };
  assert.equal(at(now), undefined);
  assert.equal(at(x.validToDate.getTime() + 1000), 'ERR_DEVICE_CERT_EXPIRED');
  assert.equal(at(x.validFromDate.getTime() - 1000), 'ERR_DEVICE_CERT_NOT_YET_VALID');
  assert.equal(at(now), undefined);
  // The root's own window counts too: it was made just now, after the leaf's notBefore.
  assert.equal(at(x.validFromDate.getTime() + 1000), 'ERR_DEVICE_CERT_NOT_YET_VALID');
});

test('a remembered certificate is the same answer as a fresh one, and cannot be changed', () => {
  const options = verifying(company.pem);
  const first = resolveDevice(request({ peer: urlEncodePem(laptop.pem) }), options).device;
  const again = resolveDevice(request({ peer: urlEncodePem(laptop.pem) }), options).device;
  assert.deepEqual(again, first);
  assert.ok(Object.isFrozen(again.certificate) && Object.isFrozen(again.certificate?.san.uri));
  // A different certificate under the same options is examined on its own.
  const forged = other.issue({ subject: '/CN=laptop-1' });
  const refused = resolveDevice(request({ peer: urlEncodePem(forged.pem) }), options).device;
  assert.equal(refused.certificate_error?.code, 'ERR_DEVICE_CERT_UNTRUSTED');
});

test('hostile: a server-only certificate is refused for a device (ERR_DEVICE_CERT_USAGE)', () => {
  const server = company.issue({ subject: '/CN=web', eku: 'serverAuth' });
  const none = company.issue({ subject: '/CN=any-use', eku: null });
  for (const cert of [server, none]) {
    const { device } = resolveDevice(
      request({ peer: urlEncodePem(cert.pem) }),
      verifying(company.pem),
    );
    assert.equal(device.certificate_error?.code, 'ERR_DEVICE_CERT_USAGE');
  }
  const relaxed = verifying(company.pem);
  const { device } = resolveDevice(request({ peer: urlEncodePem(server.pem) }), {
    ...relaxed,
    trust: { anchors: relaxed.trust?.anchors ?? [], requireClientAuth: false },
  });
  assert.equal(device.certificate?.verified, true);
});

test('hostile: a leaf certificate cannot act as an issuer', () => {
  // A device certificate (CA:FALSE) signs another: the chain must not pass through it.
  const rogue = new DeviceCa('rogue', laptop);
  const child = rogue.issue({ subject: '/CN=child' });
  const chain = encodeURIComponent(child.pem + laptop.pem);
  const xfcc = `Cert="${urlEncodePem(child.pem)}";Chain="${chain}"`;
  const { device } = resolveDevice(request({ xfcc }), {
    ...verifying(company.pem),
    xfccTrusted: true,
  });
  assert.equal(device.certificate_error?.code, 'ERR_DEVICE_CERT_UNTRUSTED');
});

test('a trusted XFCC header with a Chain verifies through the intermediate', () => {
  const xfcc = `By=spiffe://acme.test/gateway;Hash=${new X509Certificate(chained.pem).fingerprint256.replaceAll(':', '').toLowerCase()};Cert="${urlEncodePem(chained.pem)}";Chain="${encodeURIComponent(chained.pem + issuing.pem)}";Subject="O=Acme,CN=phone-7";DNS=phone-7.acme.test`;
  const { device, detail } = resolveDevice(request({ xfcc }), {
    ...verifying(company.pem),
    xfccTrusted: true,
  });
  assert.equal(detail, undefined);
  assert.equal(device.certificate?.source, 'xfcc');
  assert.equal(device.certificate?.verified, true);
  assert.deepEqual(device.certificate?.subject_fields['CN'], ['phone-7']);
  // Without the chain, the issuing CA is unknown.
  const bare = `Cert="${urlEncodePem(chained.pem)}"`;
  const without = resolveDevice(request({ xfcc: bare }), {
    ...verifying(company.pem),
    xfccTrusted: true,
  });
  assert.equal(without.device.certificate_error?.code, 'ERR_DEVICE_CERT_UNTRUSTED');
});

test('hostile: a forged XFCC header from an untrusted client is ignored', () => {
  const forged = other.issue({ subject: '/CN=admin-laptop' });
  const xfcc = `Hash=abc;Cert="${urlEncodePem(forged.pem)}"`;
  // xfcc.trusted off (the default): the header is not read at all.
  const { device, detail } = resolveDevice(request({ xfcc }), PLAIN);
  assert.deepEqual(device, { certificate: null, certificate_error: null });
  assert.equal(detail, undefined);
  // Even the company's own certificate in the header is not taken from an untrusted client.
  const replayed = `Cert="${urlEncodePem(laptop.pem)}"`;
  assert.equal(
    resolveDevice(request({ xfcc: replayed }), verifying(company.pem)).device.certificate,
    null,
  );
});

test('hostile: a client-sent XFCC element forwarded next to the proxy’s own is refused', () => {
  // APPEND_FORWARD at the proxy: the client's element stays first, the proxy's is appended.
  const forged = `Cert="${urlEncodePem(laptop.pem)}"`;
  const proxy = `By=spiffe://acme.test/gw;Hash=00`;
  const { device } = resolveDevice(request({ xfcc: `${forged},${proxy}` }), {
    ...PLAIN,
    xfccTrusted: true,
  });
  assert.deepEqual(device, {
    certificate: null,
    certificate_error: { code: 'ERR_DEVICE_CERT_INVALID', source: 'xfcc' },
  });
});

test('hostile: an XFCC Hash that is not the certificate’s is refused', () => {
  const xfcc = `Hash=${'0'.repeat(64)};Cert="${urlEncodePem(laptop.pem)}"`;
  const { device } = resolveDevice(request({ xfcc }), { ...PLAIN, xfccTrusted: true });
  assert.equal(device.certificate_error?.code, 'ERR_DEVICE_CERT_INVALID');
});

test('the peer certificate Envoy saw wins over any XFCC header', () => {
  const xfcc = `Cert="${urlEncodePem(chained.pem)}"`;
  const { device } = resolveDevice(request({ peer: urlEncodePem(laptop.pem), xfcc }), {
    ...PLAIN,
    xfccTrusted: true,
  });
  assert.equal(device.certificate?.source, 'peer');
  assert.deepEqual(device.certificate?.subject_fields['CN'], ['laptop-1']);
});

test('hostile: malformed URL encoding and PEM are refused (ERR_DEVICE_CERT_INVALID)', () => {
  const encoded = urlEncodePem(laptop.pem);
  const cases: Record<string, string> = {
    'bad escape': encoded.replace('%0A', '%0Z'),
    'truncated escape': `${encoded}%`,
    'not PEM': 'hello',
    'truncated block': encoded.slice(0, encoded.length / 2),
    'garbage base64': urlEncodePem(
      '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
    ),
    'a key, not a certificate': urlEncodePem(
      '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n',
    ),
    'text after the certificate': `${encoded}trailing`,
    'two certificates as the peer': urlEncodePem(laptop.pem + chained.pem),
  };
  for (const [name, peer] of Object.entries(cases)) {
    const { device } = resolveDevice(request({ peer }), PLAIN);
    assert.deepEqual(
      device,
      { certificate: null, certificate_error: { code: 'ERR_DEVICE_CERT_INVALID', source: 'peer' } },
      name,
    );
  }
  const xfccCases = [
    'Cert="unterminated',
    'Cert',
    `Cert="${encoded}"junk`,
    `Cert=${encoded};Cert=${encoded}`,
    `Evil=1;Cert="${encoded}"`,
    'By=spiffe://x',
  ];
  for (const xfcc of xfccCases) {
    const { device } = resolveDevice(request({ xfcc }), { ...PLAIN, xfccTrusted: true });
    assert.equal(device.certificate_error?.code, 'ERR_DEVICE_CERT_INVALID', xfcc.slice(0, 30));
  }
});

test('hostile: an oversize chain is refused before any signature is checked', () => {
  const many = Array.from({ length: MAX_CHAIN_CERTIFICATES + 1 }, () => issuing.pem).join('');
  const xfcc = `Cert="${urlEncodePem(chained.pem)}";Chain="${encodeURIComponent(chained.pem + many)}"`;
  const { device } = resolveDevice(request({ xfcc }), {
    ...verifying(company.pem),
    xfccTrusted: true,
  });
  assert.equal(device.certificate_error?.code, 'ERR_DEVICE_CERT_INVALID');
  const huge = 'A'.repeat(70_000);
  assert.equal(
    resolveDevice(request({ peer: huge }), PLAIN).device.certificate_error?.code,
    'ERR_DEVICE_CERT_INVALID',
  );
  const elements = Array.from({ length: 40 }, () => 'By=x').join(',');
  assert.equal(
    resolveDevice(request({ xfcc: elements }), { ...PLAIN, xfccTrusted: true }).device
      .certificate_error?.code,
    'ERR_DEVICE_CERT_INVALID',
  );
});

test('no certificate: input.device says so, with no error', () => {
  assert.deepEqual(resolveDevice(request(), verifying(company.pem)).device, {
    certificate: null,
    certificate_error: null,
  });
});

test('config: the device section, its defaults, and a ca_file that must hold CAs', () => {
  const dir = company.dir;
  const base = 'policy:\n  bundle: b.tar.gz\n';
  assert.equal(parseConfig(base, dir).device, undefined);
  const config = parseConfig(`${base}device:\n  certificate:\n    ca_file: ca.crt\n`, dir);
  assert.deepEqual(config.device, {
    certificate: { ca_file: join(dir, 'ca.crt'), require_client_auth: true, bind_sessions: false },
    xfcc: { trusted: false },
  });
  const options = deviceOptions(config.device ?? assert.fail('no device section'));
  assert.equal(options.trust?.anchors.length, 1);
  assert.throws(
    () => parseConfig(`${base}device:\n  xfcc:\n    trust: true\n`, dir),
    (err: unknown) => err instanceof GatehouseError && err.code === 'ERR_CONFIG_INVALID',
  );
  const leafAsCa = join(dir, 'leaf-as-ca.pem');
  writeFileSync(leafAsCa, laptop.pem);
  for (const file of [leafAsCa, join(dir, 'missing.pem')]) {
    assert.throws(
      () =>
        deviceOptions({
          certificate: { ca_file: file, require_client_auth: true, bind_sessions: false },
          xfcc: { trusted: false },
        }),
      (err: unknown) =>
        err instanceof GatehouseError &&
        err.code === 'ERR_CONFIG_INVALID' &&
        err.message.includes('device.certificate.ca_file'),
    );
  }
});
