/**
 * The device pages and endpoints as mounted (src/device/webauthn/mount.ts): a signed-in session
 * on a memory store enrolls a software authenticator, proves possession (the session record then
 * names the device and the proof time), and removes it (the sessions bound to it end). Requests
 * from another site, without any origin header, cut short by Envoy, or without a session are
 * refused.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ANONYMOUS_CALLER, type Caller } from '../../../src/identity/caller.js';
import { identityFromSession } from '../../../src/identity/from-session.js';
import { createDeviceRoute } from '../../../src/device/webauthn/mount.js';
import { DEVICE_PATHS } from '../../../src/device/webauthn/paths.js';
import { StoreDeviceRegistry } from '../../../src/device/webauthn/store-registry.js';
import { memorySessions } from '../../support/sessions.js';
import { ALICE } from '../../unit/identity/session/support.js';
import { ringOf } from '../../unit/keys/support.js';
import {
  type DeviceCall,
  deviceRequest,
  enrollThrough,
  HOST,
  replyJson,
  SAME_ORIGIN,
  sessionCaller,
} from './support.js';
import { authenticator, SETTINGS } from '../../unit/device/support.js';

async function setup(t: { after(fn: () => unknown): void }) {
  const ring = await ringOf('p256.pem');
  const s = memorySessions(ring);
  t.after(() => s.close());
  const route = createDeviceRoute({
    settings: SETTINGS,
    store: s.store,
    sessions: s.book,
    cookieName: '__Host-gatehouse',
    signIn: undefined,
  });
  const signIn = (): Promise<{ cookie: string; caller: Caller }> => sessionCaller(s.book);
  const call: DeviceCall = async (caller, pathname, body, headers = SAME_ORIGIN) => {
    const reply = await route(deviceRequest(pathname, body, headers), caller);
    assert.ok(reply !== undefined, `${pathname} is a device path`);
    return { reply, json: replyJson(reply) };
  };
  return { s, route, signIn, call, registry: new StoreDeviceRegistry(s.store) };
}

const enroll = (
  call: DeviceCall,
  caller: Caller,
  a: ReturnType<typeof authenticator>,
): Promise<{ id: string; approval: string }> => enrollThrough(call, caller, a);

test('mounted: enroll, prove possession (the session record names the device), remove (its sessions end)', async (t) => {
  const { s, signIn, call, registry } = await setup(t);
  const ada = await signIn();
  const other = await signIn();
  const a = authenticator();

  const page = await call(ada.caller, DEVICE_PATHS.devices);
  assert.equal(page.reply.status, 200);
  const device = await enroll(call, ada.caller, a);
  assert.equal(device.approval, 'approved');
  assert.equal((await registry.get(device.id))?.sub, ALICE.sub);

  const get = await call(ada.caller, DEVICE_PATHS.verifyOptions, {});
  const proof = await call(
    ada.caller,
    DEVICE_PATHS.verify,
    a.assert(String(get.json['challenge']), { counter: 2 }),
  );
  assert.equal(proof.reply.status, 200, JSON.stringify(proof.json));
  // The proof moves the session to a new id (a new cookie): a copy taken before it is over.
  const setCookie = proof.reply.headers.find(([k]) => k === 'set-cookie')?.[1] ?? '';
  const moved = /^__Host-gatehouse=([^;]+);/.exec(setCookie)?.[1];
  assert.ok(moved !== undefined && moved !== ada.cookie, setCookie);
  await assert.rejects(s.book.verify(ada.cookie), { code: 'ERR_SESSION_REVOKED' });
  const bound = await s.book.verify(moved);
  assert.equal(bound.device_id, device.id);
  assert.equal(typeof bound.device_proved_at, 'number');
  assert.equal(bound.device_user_verified, true);
  assert.equal((await s.book.verify(other.cookie)).device_id, undefined);

  const movedCaller: Caller = {
    kind: 'session',
    identity: identityFromSession(bound),
    session: bound,
    credential: undefined,
  };
  const removed = await call(movedCaller, DEVICE_PATHS.remove, { id: device.id });
  assert.equal(removed.reply.status, 200);
  assert.equal((await registry.get(device.id))?.approval, 'revoked');
  await assert.rejects(s.book.verify(moved), { code: 'ERR_SESSION_REVOKED' });
  // The same user's session that never proved possession of it goes on.
  assert.equal((await s.book.verify(other.cookie)).sub, ALICE.sub);
});

test('mounted: a POST from another site, or with no origin header at all, is refused and changes nothing', async (t) => {
  const { signIn, call, registry } = await setup(t);
  const { caller } = await signIn();
  const cases: Record<string, string>[] = [
    { ...SAME_ORIGIN, 'sec-fetch-site': 'cross-site' },
    { ...SAME_ORIGIN, 'sec-fetch-site': 'same-site' },
    { 'content-type': 'application/json', origin: 'https://evil.example' },
    { 'content-type': 'application/json', referer: 'https://evil.example/x' },
    { 'content-type': 'application/json' },
  ];
  for (const headers of cases) {
    const r = await call(caller, DEVICE_PATHS.registerOptions, {}, headers);
    assert.equal(r.json['error'], 'ERR_REQUEST_INVALID', JSON.stringify(headers));
  }
  const ok = await call(
    caller,
    DEVICE_PATHS.registerOptions,
    {},
    {
      'content-type': 'application/json',
      origin: `https://${HOST}`,
    },
  );
  assert.equal(ok.reply.status, 200);
  assert.deepEqual(await registry.listByUser(ALICE.sub), []);
});

test('mounted: a body Envoy cut short is refused, never parsed', async (t) => {
  const { signIn, call } = await setup(t);
  const { caller } = await signIn();
  const r = await call(
    caller,
    DEVICE_PATHS.registerOptions,
    {},
    {
      ...SAME_ORIGIN,
      'x-envoy-auth-partial-body': 'true',
    },
  );
  assert.equal(r.json['error'], 'ERR_BODY_INVALID');
});

test('mounted: without a live session: 401 JSON, nothing enrolled; another path is not ours', async (t) => {
  const { route, call } = await setup(t);
  const anonymous = ANONYMOUS_CALLER;
  const r = await call(anonymous, DEVICE_PATHS.registerOptions, {});
  assert.equal(r.reply.status, 401);
  assert.deepEqual(r.json, { authenticated: false });
  const page = await call(anonymous, DEVICE_PATHS.devices);
  assert.equal(page.reply.status, 401);
  assert.equal(
    await route(
      {
        method: 'GET',
        host: HOST,
        scheme: 'https',
        path: '/.gatehouse/devicesx',
        pathname: '/.gatehouse/devicesx',
        headers: {},
        requestId: '',
      },
      anonymous,
    ),
    undefined,
  );
});

test("mounted: a user cannot remove another user's device", async (t) => {
  const { s, signIn, call, registry } = await setup(t);
  const ada = await signIn();
  const device = await enroll(call, ada.caller, authenticator());
  const issued = await s.book.issue({ ...ALICE, sub: 'mallory', host: HOST });
  const session = await s.book.verify(issued.cookieValue);
  const mallory: Caller = {
    kind: 'session',
    identity: identityFromSession(session),
    session,
    credential: undefined,
  };
  const r = await call(mallory, DEVICE_PATHS.remove, { id: device.id });
  assert.equal(r.json['error'], 'ERR_DEVICE_UNKNOWN');
  assert.equal((await registry.get(device.id))?.approval, 'approved');
});
