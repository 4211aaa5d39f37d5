/**
 * Discovery runs on its own schedule (src/oidc/client.ts): capped back-off with jitter, never
 * started or lengthened by requests, recovering by itself when the IdP answers again; and its
 * failures reach the log rate-limited (src/observability/idp-events.ts).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { createLogger } from '../../../src/log/logger.js';
import { createOidcClient, type OidcClientEvent } from '../../../src/oidc/client.js';
import { createIdpEventLog, errorSummary } from '../../../src/observability/idp-events.js';

/** A discovery endpoint that answers 503 until `up` is set, counting requests. */
async function flakyIdp(): Promise<{
  url: URL;
  requests: () => number;
  up: (value: boolean) => void;
  close: () => Promise<void>;
}> {
  let requests = 0;
  let up = false;
  const server = createServer((req, res) => {
    requests += 1;
    if (!up) {
      res.writeHead(503).end();
      return;
    }
    const { port } = server.address() as AddressInfo;
    const issuer = `http://127.0.0.1:${port}`;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        issuer,
        authorization_endpoint: `${issuer}/auth`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
      }),
    );
    void req;
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}`),
    requests: () => requests,
    up: (value) => {
      up = value;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

async function until(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

test('discovery retries on its own schedule and recovers when the IdP answers again', async (t) => {
  const idp = await flakyIdp();
  t.after(() => idp.close());
  const events: OidcClientEvent[] = [];
  const client = createOidcClient({
    issuer: idp.url,
    clientId: 'c',
    clientSecret: 's',
    allowInsecureIssuer: true,
    retryMinDelayMs: 20,
    retryMaxDelayMs: 100,
    onEvent: (e) => events.push(e),
  });
  t.after(() => client.close());
  client.warmUp();
  // Nobody asks for the configuration: the timer alone retries.
  await until(() => client.failures >= 3, 'three failed attempts');
  assert.equal(client.state, 'pending');
  assert.notEqual(client.lastError, undefined);
  const failed = events.filter((e) => e.type === 'discovery-failed');
  assert.ok(
    failed.every((e) => e.type === 'discovery-failed' && e.retryInMs >= 0 && e.retryInMs <= 100),
    'every wait within the cap',
  );
  idp.up(true);
  await until(() => client.state === 'ready', 'discovery after the IdP came back');
  assert.equal(client.lastError, undefined);
  assert.equal(client.failures, 0);
  const last = events.at(-1);
  assert.equal(last?.type, 'discovered');
  assert.ok(last?.type === 'discovered' && last.failures >= 3);
  assert.equal(typeof client.discoveryDocument()?.['jwks_uri'], 'string');
});

test('requests during an outage neither start a discovery attempt nor lengthen the back-off', async (t) => {
  const idp = await flakyIdp();
  t.after(() => idp.close());
  const events: OidcClientEvent[] = [];
  // A one-minute first wait: any further request to the IdP during this test would be traffic's.
  const client = createOidcClient({
    issuer: idp.url,
    clientId: 'c',
    clientSecret: 's',
    allowInsecureIssuer: true,
    retryMinDelayMs: 60_000,
    retryMaxDelayMs: 60_000,
    onEvent: (e) => events.push(e),
  });
  t.after(() => client.close());
  client.warmUp();
  await until(() => client.failures === 1, 'the first failed attempt');
  for (let i = 0; i < 50; i++)
    await assert.rejects(client.configuration(), { code: 'ERR_OIDC_UNAVAILABLE' });
  assert.equal(idp.requests(), 1, 'no request to the IdP caused by callers');
  assert.equal(client.failures, 1, 'the back-off was not lengthened');
  assert.equal(events.length, 1);
});

test('a request waits at most timeoutMs for a discovery attempt in flight', async (t) => {
  // An IdP that accepts the connection and never answers.
  const server = createServer(() => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  const client = createOidcClient({
    issuer: new URL(`http://127.0.0.1:${port}`),
    clientId: 'c',
    clientSecret: 's',
    allowInsecureIssuer: true,
    timeoutMs: 100,
    discoveryTimeoutMs: 30_000,
  });
  t.after(() => client.close());
  client.warmUp();
  await assert.rejects(
    client.configuration(),
    (err: Error & { code?: string; cause?: unknown }) => {
      assert.equal(err.code, 'ERR_OIDC_UNAVAILABLE');
      assert.match(String((err.cause as Error).message), /still running after 100 ms/);
      return true;
    },
  );
  assert.equal(client.state, 'pending');
});

test('failed discoveries are logged: the first at once, then at most one line per interval with the count skipped', () => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  let clock = 0;
  const log = createLogger({ level: 'info', destination: sink });
  const events = createIdpEventLog(log, { intervalMs: 30_000, now: () => clock });
  const failure = (failures: number): OidcClientEvent => ({
    type: 'discovery-failed',
    error: new Error('unexpected HTTP response status code', { cause: new Error('404 Not Found') }),
    failures,
    retryInMs: 5000,
  });
  for (let i = 1; i <= 10; i++) {
    events.discovery(failure(i));
    clock += 5000;
  }
  const warned = lines.filter((l) => l['msg'] === 'identity provider discovery failed; retrying');
  assert.equal(warned.length, 2, '50 s of failures every 5 s: two lines');
  assert.equal(warned[0]?.['failures'], 1);
  assert.equal(warned[0]?.['error'], 'unexpected HTTP response status code: 404 Not Found');
  assert.equal(warned[1]?.['suppressed'], 5);
  events.discovery({
    type: 'discovered',
    failures: 10,
    metadata: {
      issuer: 'https://idp.example.test',
      authorizationEndpoint: '',
      tokenEndpoint: '',
      jwksUri: '',
      issParameterSupported: false,
      idTokenSigningAlgValues: [],
    },
  });
  assert.equal(lines.at(-1)?.['msg'], 'identity provider discovered');
  events.discovery(failure(1));
  assert.equal(
    lines.at(-1)?.['msg'],
    'identity provider discovery failed; retrying',
    'a new outage logs at once',
  );
});

test('errorSummary: one line, causes joined, bounded', () => {
  const err = new Error('fetch failed', {
    cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
  });
  assert.equal(errorSummary(err), 'fetch failed: connect ECONNREFUSED 127.0.0.1:1');
  assert.ok(errorSummary(new Error('x'.repeat(1000))).length <= 300);
  assert.equal(errorSummary('plain'), 'plain');
});
