/**
 * The who-am-I page's devices, as the Check path serves them (`handleReserved` with the device
 * route and section of src/device/webauthn/mount.ts, on a memory session store): the signed-in
 * user sees their own devices and no one else's, each with a Remove button whose POST goes to the
 * one removal endpoint, `/.gatehouse/devices/remove`, with its protections: only the caller's own
 * device, only from this origin. Without `device.webauthn` there is no device section.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { handleReserved } from '../../../src/check/reserved.js';
import { createDeviceRoute, createWhoamiDevices } from '../../../src/device/webauthn/mount.js';
import { DEVICES_PAGE_CSP } from '../../../src/device/webauthn/pages.js';
import { DEVICE_PATHS } from '../../../src/device/webauthn/paths.js';
import { StoreDeviceRegistry } from '../../../src/device/webauthn/store-registry.js';
import type { Caller } from '../../../src/identity/caller.js';
import type { IdentityRuntime } from '../../../src/identity/runtime.js';
import { PATHS } from '../../../src/pages/pages.js';
import { CONTENT_SECURITY_POLICY, type LocalReply } from '../../../src/pages/reply.js';
import { memorySessions } from '../../support/sessions.js';
import { fakeRuntime } from '../../unit/check/support.js';
import { authenticator, SETTINGS } from '../../unit/device/support.js';
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

const PAGE = { accept: 'text/html', 'sec-fetch-site': 'none', 'sec-fetch-mode': 'navigate' };

async function setup(t: { after(fn: () => unknown): void }, webauthn = true) {
  const ring = await ringOf('p256.pem');
  const s = memorySessions(ring);
  t.after(() => s.close());
  const runtime: IdentityRuntime = {
    ...fakeRuntime({ caller: { kind: 'anonymous', identity: { authenticated: false } } }),
    ...(webauthn
      ? {
          devices: createDeviceRoute({
            settings: SETTINGS,
            store: s.store,
            sessions: s.book,
            cookieName: '__Host-gatehouse',
            signIn: undefined,
          }),
          whoamiDevices: createWhoamiDevices(s.store),
        }
      : {}),
  };
  const signIn = async (sub = ALICE.sub): Promise<Caller> =>
    (await sessionCaller(s.book, sub)).caller;
  const call: DeviceCall = async (caller, pathname, body, headers = SAME_ORIGIN) => {
    const reply = await handleReserved(deviceRequest(pathname, body, headers), caller, runtime);
    return { reply, json: replyJson(reply) };
  };
  const enroll = async (caller: Caller): Promise<string> =>
    (await enrollThrough(call, caller, authenticator())).id;
  return { call, signIn, enroll, registry: new StoreDeviceRegistry(s.store) };
}

function csp(reply: LocalReply): string | undefined {
  return reply.headers.find(([k]) => k === 'content-security-policy')?.[1];
}

test("who-am-I lists the caller's own devices with Remove, never another user's", async (t) => {
  const { call, signIn, enroll } = await setup(t);
  const ada = await signIn();
  const mallory = await signIn('mallory');
  const mine = await enroll(ada);
  const theirs = await enroll(mallory);
  const page = await call(ada, PATHS.whoami, undefined, PAGE);
  assert.equal(page.reply.status, 200);
  assert.equal(csp(page.reply), DEVICES_PAGE_CSP);
  assert.ok(page.reply.body.includes(`data-action="remove" data-device="${mine}"`));
  assert.ok(!page.reply.body.includes(theirs));
});

test("removal from who-am-I: another user's device id is refused and stays enrolled", async (t) => {
  const { call, signIn, enroll, registry } = await setup(t);
  const ada = await signIn();
  const mallory = await signIn('mallory');
  const theirs = await enroll(mallory);
  const r = await call(ada, DEVICE_PATHS.remove, { id: theirs });
  assert.equal(r.reply.status, 403);
  assert.equal(r.json['error'], 'ERR_DEVICE_UNKNOWN');
  assert.equal((await registry.get(theirs))?.approval, 'approved');
  const page = await call(mallory, PATHS.whoami, undefined, PAGE);
  assert.ok(page.reply.body.includes(`data-device="${theirs}"`));
});

test('removal from who-am-I: a cross-site POST is refused and removes nothing', async (t) => {
  const { call, signIn, enroll, registry } = await setup(t);
  const ada = await signIn();
  const mine = await enroll(ada);
  const crossSite: Record<string, string>[] = [
    { ...SAME_ORIGIN, 'sec-fetch-site': 'cross-site' },
    { ...SAME_ORIGIN, 'sec-fetch-site': 'same-site' },
    { 'content-type': 'application/json', origin: 'https://evil.example' },
    { 'content-type': 'application/json', referer: 'https://evil.example/.gatehouse/' },
    { 'content-type': 'application/json' },
    // A plain HTML form another site could submit.
    { 'content-type': 'application/x-www-form-urlencoded', origin: `https://${HOST}` },
  ];
  for (const headers of crossSite) {
    const r = await call(ada, DEVICE_PATHS.remove, { id: mine }, headers);
    assert.equal(r.json['error'], 'ERR_REQUEST_INVALID', JSON.stringify(headers));
    assert.equal((await registry.get(mine))?.approval, 'approved', JSON.stringify(headers));
  }
  const removed = await call(ada, DEVICE_PATHS.remove, { id: mine });
  assert.equal(removed.reply.status, 200);
  assert.equal((await registry.get(mine))?.approval, 'revoked');
  const page = await call(ada, PATHS.whoami, undefined, PAGE);
  assert.match(page.reply.body, /No device is enrolled yet\./);
});

test('without device.webauthn: who-am-I has no device section and no script', async (t) => {
  const { call, signIn } = await setup(t, false);
  const page = await call(await signIn(), PATHS.whoami, undefined, PAGE);
  assert.equal(page.reply.status, 200);
  assert.equal(csp(page.reply), CONTENT_SECURITY_POLICY);
  assert.doesNotMatch(page.reply.body, /Your devices|<script|data-action/);
  const remove = await call(await signIn(), DEVICE_PATHS.remove, { id: 'x' });
  assert.equal(remove.reply.status, 404);
});
