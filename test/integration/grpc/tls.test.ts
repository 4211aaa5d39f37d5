import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { PeerCertificate } from 'node:tls';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { parseConfig } from '../../../src/config/load.js';
import { hasCode } from '../../../src/errors/gatehouse-error.js';
import {
  CheckRequestSchema,
  CheckResponseSchema,
} from '../../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import type { Gatehouse } from '../../../src/server/start.js';
import { TestCa, type Issued } from '../../support/certs.js';
import { startTestGatehouse } from '../../support/gatehouse.js';
import { testdata } from '../../support/paths.js';
import { requireTool } from '../../support/tools.js';

// TLS and mTLS on both listeners (issue 13, point 5), with certificates made by `openssl` in the
// test: a client without a certificate, with one from another CA, or with an identity not in
// allowed_clients gets no Check answered; rotated files are served to new connections while
// open ones keep working.

const ENVOY_ID = 'spiffe://gatehouse.test/ns/edge/sa/envoy';

interface Pki {
  readonly ca: TestCa;
  readonly server: Issued;
  readonly envoy: Issued;
  readonly intruder: Issued;
  readonly foreign: Issued;
}

function pki(): Pki {
  const ca = new TestCa();
  const other = new TestCa('another-ca');
  return {
    ca,
    server: ca.issue('gatehouse', ['DNS:gatehouse.test', 'IP:127.0.0.1'], {
      cert: join(ca.dir, 'server.crt'),
      key: join(ca.dir, 'server.key'),
    }),
    envoy: ca.issue('envoy', [`URI:${ENVOY_ID}`]),
    intruder: ca.issue('intruder', ['URI:spiffe://gatehouse.test/ns/other/sa/intruder']),
    foreign: other.issue('envoy', [`URI:${ENVOY_ID}`]),
  };
}

function tlsConfig(p: Pki): Record<string, unknown> {
  return {
    cert_file: p.server.cert,
    key_file: p.server.key,
    client_ca_file: p.ca.cert,
    allowed_clients: [ENVOY_ID],
  };
}

async function serve(t: TestContext, p: Pki): Promise<Gatehouse> {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) throw new Error('unreachable: requireTool fails or skips');
  const { gatehouse } = await startTestGatehouse(
    { dir: testdata('policies', 'allow-all'), opa, watch: false },
    {
      grpc: {
        address: '127.0.0.1',
        port: 0,
        drain_delay_ms: 0,
        shutdown_grace_ms: 500,
        tls: tlsConfig(p),
      },
      http: { address: '127.0.0.1', port: 0, tls: tlsConfig(p) },
    },
  );
  t.after(() => gatehouse.stop());
  return gatehouse;
}

/** One Check over a TLS HTTP/2 session: the response's status code, or the error that ended it. */
function check(session: http2.ClientHttp2Session): Promise<number> {
  return new Promise((resolve, reject) => {
    const body = toBinary(
      CheckRequestSchema,
      create(CheckRequestSchema, {
        attributes: { request: { http: { method: 'GET', path: '/' } } },
      }),
    );
    const frame = Buffer.alloc(5 + body.length);
    frame.writeUInt32BE(body.length, 1);
    frame.set(body, 5);
    const req = session.request({
      ':method': 'POST',
      ':path': '/envoy.service.auth.v3.Authorization/Check',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', reject);
    req.on('end', () => {
      const data = Buffer.concat(chunks);
      if (data.length < 5) reject(new Error('no response message'));
      else resolve(fromBinary(CheckResponseSchema, data.subarray(5)).status?.code ?? -1);
    });
    req.end(frame);
  });
}

function connect(port: number, p: Pki, client: Issued | undefined): http2.ClientHttp2Session {
  const session = http2.connect(`https://127.0.0.1:${port}`, {
    ca: readFileSync(p.ca.cert),
    servername: 'gatehouse.test',
    ...(client === undefined ? {} : { cert: client.certPem, key: client.keyPem }),
  });
  session.on('error', () => undefined);
  return session;
}

/** Whether a Check over a fresh connection with `client` is answered (true) or refused (the error code). */
async function attempt(port: number, p: Pki, client: Issued | undefined): Promise<true | string> {
  const session = connect(port, p, client);
  try {
    await check(session);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err);
  } finally {
    session.destroy();
  }
}

test('gRPC over mTLS: the allowed client is answered; no certificate, another CA, or an identity not allowed are refused', {
  timeout: 60_000,
}, async (t) => {
  const p = pki();
  const gatehouse = await serve(t, p);
  assert.equal(
    await attempt(gatehouse.grpcPort, p, p.envoy),
    true,
    'the allowed client certificate gets its Check answered',
  );
  for (const [name, client] of [
    ['no certificate', undefined],
    ['another CA', p.foreign],
    ['identity not in allowed_clients', p.intruder],
  ] as const) {
    const result = await attempt(gatehouse.grpcPort, p, client);
    assert.notEqual(result, true, `${name}: refused`);
  }
});

test('HTTP listener over mTLS: /healthz for the allowed client; 403 for a certificate not allowed', {
  timeout: 60_000,
}, async (t) => {
  const p = pki();
  const gatehouse = await serve(t, p);
  const get = (client: Issued): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = https.get(
        {
          host: '127.0.0.1',
          port: gatehouse.httpPort,
          path: '/healthz',
          ca: readFileSync(p.ca.cert),
          servername: 'gatehouse.test',
          cert: client.certPem,
          key: client.keyPem,
          agent: false,
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
    });
  assert.equal(await get(p.envoy), 200);
  assert.equal(await get(p.intruder), 403);
  await assert.rejects(get(p.foreign), 'a certificate from another CA fails the handshake');
});

test('rotated certificate files: new connections get the new certificate, open ones keep working', {
  timeout: 60_000,
}, async (t) => {
  const p = pki();
  const gatehouse = await serve(t, p);
  const open = connect(gatehouse.grpcPort, p, p.envoy);
  t.after(() => open.destroy());
  assert.equal(await check(open), 0);

  const rotated = p.ca.issue('gatehouse', ['DNS:gatehouse.test', 'IP:127.0.0.1'], {
    cert: p.server.cert,
    key: p.server.key,
  });
  const serialOf = (session: http2.ClientHttp2Session): Promise<string> =>
    new Promise((resolve, reject) => {
      session.once('connect', () => {
        const cert = (
          session.socket as unknown as { getPeerCertificate(): PeerCertificate }
        ).getPeerCertificate();
        resolve(cert.serialNumber.replace(/^0+/, ''));
      });
      session.once('error', reject);
    });
  let seen = '';
  const deadline = Date.now() + 20_000;
  while (seen !== rotated.serial && Date.now() < deadline) {
    const fresh = connect(gatehouse.grpcPort, p, p.envoy);
    seen = await serialOf(fresh).finally(() => fresh.destroy());
    if (seen !== rotated.serial) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(seen, rotated.serial, 'a new connection is served the rotated certificate');
  assert.equal(await check(open), 0, 'the connection opened before the rotation still answers');
});

test('a non-loopback gRPC address without TLS is refused at start unless allow_cleartext is set', () => {
  const base = 'policy:\n  dir: /srv/policies\n';
  assert.throws(
    () => parseConfig(`${base}grpc:\n  address: 0.0.0.0\n`, '/etc/gatehouse'),
    (err: unknown) =>
      hasCode(err, 'ERR_CONFIG_INVALID') &&
      /grpc\.address: 0\.0\.0\.0 is not a loopback address and grpc\.tls is not set/.test(
        (err as Error).message,
      ),
  );
  assert.equal(
    parseConfig(`${base}grpc:\n  address: 0.0.0.0\n  allow_cleartext: true\n`, '/etc/gatehouse')
      .grpc.address,
    '0.0.0.0',
  );
  assert.equal(
    parseConfig(base, '/etc/gatehouse').grpc.address,
    '127.0.0.1',
    'the default is loopback',
  );
  assert.throws(
    () =>
      parseConfig(
        `${base}grpc:\n  tls:\n    cert_file: a.pem\n    key_file: b.pem\n    allowed_clients: [x]\n`,
        '/etc/gatehouse',
      ),
    /grpc\.tls\.allowed_clients: needs grpc\.tls\.client_ca_file/,
  );
});
