/**
 * Issue 18 (client-certificate device identity) through a real Envoy doing downstream mutual
 * TLS: the shipped envoy/front-proxy.yaml (which already sets `include_peer_certificate: true`)
 * with a TLS transport socket on its listener, certificates made by openssl for the test, and
 * test/testdata/e2e/device.rego requiring a verified company certificate with a SPIFFE ID.
 *
 * Envoy is deliberately misconfigured to accept any client certificate
 * (`trust_chain_verification: ACCEPT_UNTRUSTED`): Gatehouse's own verification against
 * `device.certificate.ca_file` is what must keep a certificate from another CA out.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DeviceCa, type DeviceCert } from '../support/device-certs.js';
import { startEnvoy } from '../support/envoy.js';
import { startTestGatehouse } from '../support/gatehouse.js';
import { testdata } from '../support/paths.js';
import { requireTool } from '../support/tools.js';
import { startUpstream } from '../support/upstream.js';

const HOST = 'app.example.com';

interface Reply {
  readonly status: number;
  readonly body: string;
}

/** One HTTPS request to Envoy, with a client certificate or without. */
function get(
  port: number,
  ca: string,
  path: string,
  client?: DeviceCert,
  headers: Record<string, string> = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        servername: HOST,
        ca,
        headers: { host: HOST, ...headers },
        ...(client === undefined
          ? {}
          : { cert: client.pem, key: readFileSync(client.key, 'utf8') }),
        agent: false,
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer for ${path}`)));
    req.on('error', reject);
    req.end();
  });
}

/** The first filter chain of front-proxy.yaml's `ingress` listener, to give it downstream TLS. */
function firstFilterChain(config: Record<string, unknown>): Record<string, unknown> {
  const resources = config['static_resources'] as { listeners: Record<string, unknown>[] };
  const listener = resources.listeners[0];
  assert.ok(listener !== undefined);
  const chain = (listener['filter_chains'] as Record<string, unknown>[])[0];
  assert.ok(chain !== undefined);
  return chain;
}

/** The headers the upstream received (the echo upstream answers with them). */
function upstreamHeaders(reply: Reply): IncomingHttpHeaders {
  return (JSON.parse(reply.body) as { headers: IncomingHttpHeaders }).headers;
}

test('Envoy with downstream mTLS: the device certificate reaches input.device; none, or another CA’s, is denied', async (t) => {
  const envoyBin = requireTool(t, 'envoy');
  const opa = requireTool(t, 'opa');
  if (envoyBin === undefined || opa === undefined) return;

  const company = new DeviceCa('Acme');
  const other = new DeviceCa('Evil');
  const server = company.issue({
    subject: `/CN=${HOST}`,
    sans: [`DNS:${HOST}`],
    eku: 'serverAuth',
  });
  const laptop = company.issue({
    subject: '/O=Acme/CN=laptop-1',
    sans: ['URI:spiffe://acme.test/device/laptop-1'],
  });
  const forged = other.issue({
    subject: '/O=Acme/CN=laptop-1',
    sans: ['URI:spiffe://acme.test/device/laptop-1'],
  });

  const policyDir = mkdtempSync(join(tmpdir(), 'gatehouse-device-policy-'));
  copyFileSync(testdata('e2e', 'device.rego'), join(policyDir, 'authz.rego'));
  const app = await startUpstream();
  t.after(() => app.close());
  const { gatehouse } = await startTestGatehouse(
    { dir: policyDir, opa, watch: false },
    { device: { certificate: { ca_file: company.cert } } },
  );
  t.after(() => gatehouse.stop());
  const envoy = await startEnvoy({
    bin: envoyBin,
    gatehousePort: gatehouse.grpcPort,
    upstreams: { app: app.port, admin: app.port },
    patch: (config) => {
      const chain = firstFilterChain(config);
      chain['transport_socket'] = {
        name: 'envoy.transport_sockets.tls',
        typed_config: {
          '@type':
            'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
          // Optional, so a request without a certificate reaches the policy (which denies it).
          require_client_certificate: false,
          common_tls_context: {
            tls_certificates: [
              {
                certificate_chain: { filename: server.cert },
                private_key: { filename: server.key },
              },
            ],
            validation_context: {
              trusted_ca: { filename: company.cert },
              // The misconfiguration Gatehouse's own check must survive.
              trust_chain_verification: 'ACCEPT_UNTRUSTED',
            },
          },
        },
      };
    },
  });
  t.after(() => envoy.stop());
  const ca = company.pem;

  // The company laptop: allowed, and the upstream sees what input.device held.
  const ok = await get(envoy.port, ca, '/device/x', laptop);
  assert.equal(ok.status, 200, ok.body);
  const seen = upstreamHeaders(ok);
  assert.equal(seen['x-device-source'], 'peer');
  assert.equal(seen['x-device-verified'], 'true');
  assert.equal(seen['x-device-subject'], 'CN=laptop-1,O=Acme');
  assert.equal(seen['x-device-spiffe'], 'spiffe://acme.test/device/laptop-1');
  assert.equal(
    seen['x-device-fingerprint'],
    new X509Certificate(laptop.pem).fingerprint256.replaceAll(':', '').toLowerCase(),
  );

  // No client certificate: the policy requiring one denies; /public shows input.device empty.
  const before = app.requests.length;
  assert.equal((await get(envoy.port, ca, '/device/x')).status, 403);
  assert.equal(app.requests.length, before, 'the denied request reached the upstream');
  const anonymous = await get(envoy.port, ca, '/public/x');
  assert.equal(anonymous.status, 200);
  assert.equal(upstreamHeaders(anonymous)['x-device-none'], 'true');

  // A certificate from another CA, same names, accepted by the misconfigured Envoy: Gatehouse
  // refuses it, so the policy never sees it.
  const denied = await get(envoy.port, ca, '/device/x', forged);
  assert.equal(denied.status, 403);
  const refused = await get(envoy.port, ca, '/public/x', forged);
  assert.equal(upstreamHeaders(refused)['x-device-error'], 'ERR_DEVICE_CERT_UNTRUSTED');

  // A forged x-forwarded-client-cert from a client without a certificate: Envoy's default
  // (SANITIZE) drops it, and Gatehouse (device.xfcc.trusted off) would not read it anyway.
  const xfcc = `Hash=00;Cert="${encodeURIComponent(laptop.pem)}"`;
  const spoofed = await get(envoy.port, ca, '/device/x', undefined, {
    'x-forwarded-client-cert': xfcc,
  });
  assert.equal(spoofed.status, 403);
  assert.equal(app.requests.length, before + 2, 'only the two /public requests went through');
});

test('Envoy with SANITIZE_SET: the XFCC header it sets (Cert and Chain) reaches input.device; a client’s own is replaced', async (t) => {
  const envoyBin = requireTool(t, 'envoy');
  const opa = requireTool(t, 'opa');
  if (envoyBin === undefined || opa === undefined) return;

  const company = new DeviceCa('Acme');
  const issuing = DeviceCa.under(company, 'Acme');
  const other = new DeviceCa('Evil');
  const server = company.issue({
    subject: `/CN=${HOST}`,
    sans: [`DNS:${HOST}`],
    eku: 'serverAuth',
  });
  const leaf = issuing.issue({
    subject: '/O=Acme/CN=phone-7',
    sans: ['URI:spiffe://acme.test/device/phone-7'],
  });
  // The device sends its chain (leaf, then the issuing CA); Envoy trusts the root only.
  const phone: DeviceCert = { ...leaf, pem: leaf.pem + issuing.pem };

  const policyDir = mkdtempSync(join(tmpdir(), 'gatehouse-device-policy-'));
  copyFileSync(testdata('e2e', 'device.rego'), join(policyDir, 'authz.rego'));
  const app = await startUpstream();
  t.after(() => app.close());
  const { gatehouse } = await startTestGatehouse(
    { dir: policyDir, opa, watch: false },
    { device: { certificate: { ca_file: company.cert }, xfcc: { trusted: true } } },
  );
  t.after(() => gatehouse.stop());
  const envoy = await startEnvoy({
    bin: envoyBin,
    gatehousePort: gatehouse.grpcPort,
    upstreams: { app: app.port, admin: app.port },
    patch: (config) => {
      const chain = firstFilterChain(config);
      chain['transport_socket'] = {
        name: 'envoy.transport_sockets.tls',
        typed_config: {
          '@type':
            'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
          require_client_certificate: false,
          common_tls_context: {
            tls_certificates: [
              {
                certificate_chain: { filename: server.cert },
                private_key: { filename: server.key },
              },
            ],
            validation_context: { trusted_ca: { filename: company.cert } },
          },
        },
      };
      const hcm = (chain['filters'] as { typed_config: Record<string, unknown> }[])[0]
        ?.typed_config;
      assert.ok(hcm !== undefined);
      // What a mesh gateway does: replace XFCC with the connection's own certificate details.
      hcm['forward_client_cert_details'] = 'SANITIZE_SET';
      hcm['set_current_client_cert_details'] = {
        cert: true,
        chain: true,
        uri: true,
        subject: true,
      };
      const authz = (hcm['http_filters'] as { typed_config: Record<string, unknown> }[])[0]
        ?.typed_config;
      assert.ok(authz !== undefined);
      // Only the header carries the certificate here, as with Istio's ext_authz provider.
      authz['include_peer_certificate'] = false;
    },
  });
  t.after(() => envoy.stop());
  const ca = company.pem;

  const ok = await get(envoy.port, ca, '/device/x', phone);
  assert.equal(ok.status, 200, ok.body);
  const seen = upstreamHeaders(ok);
  assert.equal(seen['x-device-source'], 'xfcc');
  assert.equal(seen['x-device-verified'], 'true', 'verified through the Chain Envoy sent');
  assert.equal(seen['x-device-spiffe'], 'spiffe://acme.test/device/phone-7');

  // A client without a certificate sends its own XFCC naming the phone: Envoy removes it.
  const forgedHeader = `Cert="${encodeURIComponent(leaf.pem)}";Chain="${encodeURIComponent(phone.pem)}"`;
  const spoofed = await get(envoy.port, ca, '/device/x', undefined, {
    'x-forwarded-client-cert': forgedHeader,
  });
  assert.equal(spoofed.status, 403);
  const plain = await get(envoy.port, ca, '/public/x', undefined, {
    'x-forwarded-client-cert': forgedHeader,
  });
  assert.equal(upstreamHeaders(plain)['x-device-none'], 'true');

  // A client with another CA's certificate (which Envoy refuses at the handshake) cannot connect.
  const evil = other.issue({ subject: '/O=Acme/CN=phone-7' });
  await assert.rejects(get(envoy.port, ca, '/device/x', evil));
});
