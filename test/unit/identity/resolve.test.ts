import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { VerifiedClaims } from '../../../src/identity/bearer/verify.js';
import { GatehouseError } from '../../../src/errors/gatehouse-error.js';
import { identityFromBearer } from '../../../src/identity/from-bearer.js';
import { identityFromSession } from '../../../src/identity/from-session.js';
import { resolveIdentity } from '../../../src/identity/resolve.js';
import { issueSession } from '../../../src/identity/session/issue.js';
import type { VerifiedSession } from '../../../src/identity/session/types.js';
import { SessionExpiredError, verifySession } from '../../../src/identity/session/verify.js';
import { at, NOW, NOW_S, ringOf, SESSION_KEY } from '../keys/support.js';
import { ALICE_WITH_SECRETS } from './session/support.js';

const ring = await ringOf('p256.pem');
const COOKIE = '__Host-gatehouse';
const sessionToken = await issueSession(ring, SESSION_KEY, ALICE_WITH_SECRETS, {
  ttlSeconds: 3600,
  now: NOW,
});
const BEARER_CLAIMS: VerifiedClaims = {
  iss: 'https://idp',
  sub: 'svc-1',
  iat: NOW_S,
  exp: NOW_S + 60,
  aud: 'api',
  email: 'svc@example.com',
  realm_access: { roles: ['robots'] },
};

function deps(now = NOW) {
  const calls = { session: 0, bearer: 0 };
  return {
    calls,
    verifySession: (token: string) => {
      calls.session++;
      return verifySession(ring, SESSION_KEY, token, { now });
    },
    verifyBearer: async (token: string): Promise<VerifiedClaims> => {
      calls.bearer++;
      if (token !== 'good.bearer.token') throw new GatehouseError('ERR_TOKEN_INVALID');
      return BEARER_CLAIMS;
    },
  };
}

test('identity: the session cookie gives a session identity', async () => {
  const d = deps();
  const r = await resolveIdentity({
    headers: { cookie: `app=1; ${COOKIE}=${sessionToken}` },
    cookieName: COOKIE,
    ...d,
  });
  assert.equal(r.source, 'session');
  assert.equal(r.identity.authenticated, true);
  assert.ok(r.identity.authenticated);
  assert.equal(r.identity.method, 'session');
  assert.equal(r.identity.sub, 'alice-123');
  assert.deepEqual(r.identity.groups, ['admins', 'dev']);
  assert.equal(r.identity.issued_at, NOW_S);
  assert.equal(r.identity.expires_at, NOW_S + 3600);
  assert.match(r.identity.session_id ?? '', /^[A-Za-z0-9_-]{22}$/);
  assert.equal(r.session?.expired, false);
  assert.equal(
    JSON.stringify(r.identity).includes('rt-SECRET'),
    false,
    'no secret reaches input.identity',
  );
});

test('identity: a valid bearer token decides, even with a session cookie', async () => {
  const d = deps();
  const r = await resolveIdentity({
    headers: { authorization: 'Bearer good.bearer.token', cookie: `${COOKIE}=${sessionToken}` },
    cookieName: COOKIE,
    ...d,
    groupsClaim: 'realm_access.roles',
  });
  assert.equal(r.source, 'bearer');
  assert.ok(r.identity.authenticated);
  assert.equal(r.identity.method, 'bearer');
  assert.equal(r.identity.sub, 'svc-1');
  assert.deepEqual(r.identity.groups, ['robots']);
  assert.equal(d.calls.session, 0);
});

test('identity: an invalid bearer token makes the caller anonymous and never falls back to the cookie', async () => {
  const d = deps();
  const r = await resolveIdentity({
    headers: { Authorization: 'Bearer bad.bearer.token', cookie: `${COOKIE}=${sessionToken}` },
    cookieName: COOKIE,
    ...d,
  });
  assert.deepEqual(r.identity, { authenticated: false });
  assert.equal(r.source, 'bearer');
  assert.equal(r.error?.code, 'ERR_TOKEN_INVALID');
  assert.equal(d.calls.session, 0);
});

test('identity: a malformed bearer header makes the caller anonymous and never falls back to the cookie', async () => {
  const d = deps();
  const r = await resolveIdentity({
    headers: { authorization: 'Bearer a, Bearer b', cookie: `${COOKIE}=${sessionToken}` },
    cookieName: COOKIE,
    ...d,
  });
  assert.deepEqual(r.identity, { authenticated: false });
  assert.equal(r.error?.code, 'ERR_TOKEN_INVALID');
  assert.equal(d.calls.session + d.calls.bearer, 0);
});

test('identity: another Authorization scheme (Basic) leaves the cookie to decide', async () => {
  const d = deps();
  const r = await resolveIdentity({
    headers: { authorization: 'Basic dXNlcjpwYXNz', cookie: `${COOKIE}=${sessionToken}` },
    cookieName: COOKIE,
    ...d,
  });
  assert.equal(r.source, 'session');
  assert.equal(d.calls.bearer, 0);
});

test('identity: with bearer tokens disabled the Authorization header is ignored', async () => {
  const { verifySession: vs } = deps();
  const r = await resolveIdentity({
    headers: { authorization: 'Bearer whatever', cookie: `${COOKIE}=${sessionToken}` },
    cookieName: COOKIE,
    verifySession: vs,
  });
  assert.equal(r.source, 'session');
});

test('identity: no credentials → anonymous, source none, no error', async () => {
  const r = await resolveIdentity({ headers: { cookie: 'app=1' }, cookieName: COOKIE, ...deps() });
  assert.deepEqual(r, { identity: { authenticated: false }, source: 'none' });
});

test('identity: an invalid session cookie → anonymous with ERR_SESSION_INVALID', async () => {
  const r = await resolveIdentity({
    headers: { cookie: `${COOKIE}=not.a.session` },
    cookieName: COOKIE,
    ...deps(),
  });
  assert.deepEqual(r.identity, { authenticated: false });
  assert.equal(r.source, 'session');
  assert.equal(r.error?.code, 'ERR_SESSION_INVALID');
  assert.equal(r.session, undefined);
});

test('identity: an expired session → anonymous, with the session exposed for refresh', async () => {
  const r = await resolveIdentity({
    headers: { cookie: `${COOKIE}=${sessionToken}` },
    cookieName: COOKIE,
    ...deps(at(7200)),
  });
  assert.deepEqual(r.identity, { authenticated: false });
  assert.equal(r.error?.code, 'ERR_SESSION_EXPIRED');
  assert.ok(r.error instanceof SessionExpiredError);
  assert.equal(r.session?.expired, true);
  assert.equal(r.session?.data.refresh_token, 'rt-SECRET-refresh-token');
});

test('identity: a verifier that throws something unexpected still yields anonymous (fail closed)', async () => {
  const r = await resolveIdentity({
    headers: { cookie: `${COOKIE}=x.y.z` },
    cookieName: COOKIE,
    verifySession: () => Promise.reject(new TypeError('boom')),
  });
  assert.deepEqual(r.identity, { authenticated: false });
  assert.equal(r.error?.code, 'ERR_SESSION_INVALID');
});

test('identity: identityFromBearer takes email/name only as strings and email_verified only as true', () => {
  const id = identityFromBearer({
    ...BEARER_CLAIMS,
    email: 42,
    name: ['x'],
    email_verified: 'true',
  } as unknown as VerifiedClaims);
  assert.equal(id.email, null);
  assert.equal(id.name, null);
  assert.equal(id.email_verified, false);
  assert.equal(id.session_id, null);
  assert.deepEqual(id.groups, []);
  assert.equal(id.claims['realm_access'] !== undefined, true);
});

test('identity: identityFromSession maps every field', () => {
  const session: VerifiedSession = {
    sub: 's',
    sid: 'AAAAAAAAAAAAAAAAAAAAAA',
    email: 'e@x',
    email_verified: true,
    name: 'N',
    groups: ['g'],
    idp_iss: 'https://idp',
    auth_time: 1,
    claims: { locale: 'en' },
    iat: 10,
    exp: 20,
    refresh_token: 'secret',
  };
  assert.deepEqual(identityFromSession(session), {
    authenticated: true,
    method: 'session',
    sub: 's',
    email: 'e@x',
    email_verified: true,
    name: 'N',
    groups: ['g'],
    claims: { locale: 'en' },
    session_id: 'AAAAAAAAAAAAAAAAAAAAAA',
    issued_at: 10,
    expires_at: 20,
  });
});

// Issue 12 point 4: a session is bound to the host it was issued for.
test('identity: a session is accepted only on the host it was issued for, cached or not', async () => {
  const { VerifiedCache } = await import('../../../src/identity/verified-cache.js');
  const bound = await issueSession(
    ring,
    SESSION_KEY,
    { ...ALICE_WITH_SECRETS, host: 'App.Example.com' },
    { ttlSeconds: 3600, now: NOW },
  );
  const cache = {
    session: new VerifiedCache<Awaited<ReturnType<typeof resolveIdentity>>>({
      clockToleranceSeconds: 30,
      now: () => NOW.getTime(),
    }),
  };
  const ask = (host: string | undefined, token = bound) =>
    resolveIdentity({
      headers: { cookie: `${COOKIE}=${token}` },
      cookieName: COOKIE,
      ...deps(),
      cache,
      ...(host === undefined ? {} : { host }),
    });
  assert.equal((await ask('app.example.com')).identity.authenticated, true);
  for (const host of ['other.example.com', 'app.example.com:8443', 'app.example.com.evil.test']) {
    const r = await ask(host);
    assert.equal(r.identity.authenticated, false, host);
    assert.equal(r.source, 'session');
    assert.equal(r.error?.code, 'ERR_SESSION_HOST_MISMATCH', host);
  }
  // A session with no host (issued before binding) is refused where binding applies.
  assert.equal(
    (await ask('app.example.com', sessionToken)).error?.code,
    'ERR_SESSION_HOST_MISMATCH',
  );
  // Binding off (no host given): as before.
  assert.equal((await ask(undefined, sessionToken)).identity.authenticated, true);
});
