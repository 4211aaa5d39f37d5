import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { createOidcClient } from '../../../src/oidc/client.js';
import { startSignIn } from '../../../src/oidc/sign-in.js';
import { signOutLocation } from '../../../src/oidc/sign-out.js';

const base = { clientId: 'c', clientSecret: 's' };

describe('createOidcClient: configuration mistakes fail at start, naming the option', () => {
  test('http issuer without allowInsecureIssuer', () => {
    assert.throws(() => createOidcClient({ ...base, issuer: new URL('http://127.0.0.1:9000') }), {
      code: 'ERR_CONFIG_INVALID',
      message: /oidc\.issuer/,
    });
  });
  test('http issuer off loopback, even with allowInsecureIssuer', () => {
    assert.throws(
      () =>
        createOidcClient({
          ...base,
          issuer: new URL('http://idp.example.com'),
          allowInsecureIssuer: true,
        }),
      { code: 'ERR_CONFIG_INVALID', message: /loopback/ },
    );
  });
  test('scopes without openid', () => {
    assert.throws(
      () =>
        createOidcClient({
          ...base,
          issuer: new URL('https://idp.example.com'),
          scopes: ['email'],
        }),
      { code: 'ERR_CONFIG_INVALID', message: /oidc\.scopes/ },
    );
  });
  test('issuer with a query', () => {
    assert.throws(
      () => createOidcClient({ ...base, issuer: new URL('https://idp.example.com/?x=1') }),
      { code: 'ERR_CONFIG_INVALID' },
    );
  });
  test('loopback http with allowInsecureIssuer is accepted, lazily (no request yet)', () => {
    const client = createOidcClient({
      ...base,
      issuer: new URL('http://127.0.0.1:1'),
      allowInsecureIssuer: true,
    });
    assert.equal(client.state, 'pending');
    assert.equal(client.metadataIfReady(), undefined);
  });
});

describe('an unreachable IdP fails closed with ERR_OIDC_UNAVAILABLE', () => {
  test('discovery against a closed port', async () => {
    // A port that was just free: nothing listens there.
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((r) => server.close(() => r()));
    const client = createOidcClient({
      ...base,
      issuer: new URL(`http://127.0.0.1:${port}`),
      allowInsecureIssuer: true,
      timeoutMs: 1000,
      retryMinDelayMs: 60_000,
    });
    await assert.rejects(client.configuration(), { code: 'ERR_OIDC_UNAVAILABLE' });
    assert.notEqual(client.lastError, undefined);
    // Backing off: the next call fails at once without another request.
    await assert.rejects(client.metadata(), { code: 'ERR_OIDC_UNAVAILABLE' });
    await assert.rejects(
      startSignIn({
        client,
        redirectUri: 'https://app.example.test/.gatehouse/callback',
        returnTo: '/',
        txnKey: new Uint8Array(32),
      }),
      { code: 'ERR_OIDC_UNAVAILABLE' },
    );
    // Sign-out still works locally.
    assert.equal(
      await signOutLocation({ client, allowedPostLogout: () => true }),
      '/.gatehouse/signed_out',
    );
    client.close();
  });

  test('a discovery document whose issuer differs is refused (ERR_OIDC_UNAVAILABLE, cause kept)', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          issuer: 'https://evil.example',
          authorization_endpoint: 'https://evil.example/a',
          token_endpoint: 'https://evil.example/t',
          jwks_uri: 'https://evil.example/j',
        }),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const client = createOidcClient({
      ...base,
      issuer: new URL(`http://127.0.0.1:${port}`),
      allowInsecureIssuer: true,
    });
    await assert.rejects(client.configuration(), { code: 'ERR_OIDC_UNAVAILABLE' });
    await new Promise<void>((r) => server.close(() => r()));
  });
});

describe('startSignIn refuses caller mistakes before contacting the IdP', () => {
  const client = createOidcClient({ ...base, issuer: new URL('https://idp.invalid') });
  const common = { client, redirectUri: 'https://a.test/.gatehouse/callback', returnTo: '/' };
  test('a txnKey that is not 32 bytes', async () => {
    await assert.rejects(startSignIn({ ...common, txnKey: new Uint8Array(16) }), {
      code: 'ERR_CONFIG_INVALID',
      message: /txnKey/,
    });
  });
  test('extraParams cannot override protocol parameters', async () => {
    for (const name of ['state', 'nonce', 'code_challenge_method', 'redirect_uri']) {
      await assert.rejects(
        startSignIn({ ...common, txnKey: new Uint8Array(32), extraParams: { [name]: 'x' } }),
        { code: 'ERR_CONFIG_INVALID', message: new RegExp(`extraParams\\.${name}`) },
      );
    }
  });
});
