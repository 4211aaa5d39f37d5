import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { type DeviceRequest, handleDeviceRequest } from '../../../src/device/webauthn/endpoints.js';
import { DEVICES_PAGE_CSP } from '../../../src/device/webauthn/pages.js';
import { DEVICE_PATHS } from '../../../src/device/webauthn/paths.js';
import { DEVICE_SCRIPT } from '../../../src/device/webauthn/script.js';
import type { LocalReply } from '../../../src/pages/reply.js';
import { authenticator, deps, SUB } from './support.js';

const JSON_HEADERS = { 'content-type': 'application/json', 'sec-fetch-site': 'same-origin' };

function request(pathname: string, extra: Partial<DeviceRequest> = {}): DeviceRequest {
  return {
    method: 'POST',
    pathname,
    headers: JSON_HEADERS,
    body: '{}',
    user: { sub: SUB, name: 'ada@example.com' },
    ...extra,
  };
}

function header(reply: LocalReply, name: string): string | undefined {
  return reply.headers.find(([n]) => n === name)?.[1];
}

function json(reply: LocalReply | undefined): Record<string, unknown> {
  assert.ok(reply !== undefined);
  return JSON.parse(reply.body) as Record<string, unknown>;
}

test('the page runs exactly its one script, allowed by hash; nothing else loads', async () => {
  const reply = await handleDeviceRequest(
    request(DEVICE_PATHS.devices, { method: 'GET', body: '' }),
    deps(),
  );
  assert.ok(reply !== undefined);
  assert.equal(reply.status, 200);
  assert.equal(header(reply, 'content-security-policy'), DEVICES_PAGE_CSP);
  const hash = createHash('sha256').update(DEVICE_SCRIPT).digest('base64');
  assert.match(
    DEVICES_PAGE_CSP,
    new RegExp(`script-src 'sha256-${hash.replace(/[+/]/g, '\\$&')}'`),
  );
  assert.match(DEVICES_PAGE_CSP, /default-src 'none'/);
  assert.match(DEVICES_PAGE_CSP, /connect-src 'self'/);
  assert.ok(reply.body.includes(`<script>${DEVICE_SCRIPT}</script>`));
  assert.equal(reply.body.match(/<script/g)?.length, 1);
});

test('the page escapes the user name', async () => {
  const reply = await handleDeviceRequest(
    request(DEVICE_PATHS.devices, {
      method: 'GET',
      user: { sub: SUB, name: '<img src=x onerror=alert(1)>' },
    }),
    deps(),
  );
  assert.ok(reply !== undefined);
  assert.ok(!reply.body.includes('<img'));
});

test('a cross-site POST cannot start or finish a ceremony', async () => {
  const d = deps();
  for (const site of ['cross-site', 'same-site', 'none']) {
    const reply = await handleDeviceRequest(
      request(DEVICE_PATHS.registerOptions, {
        headers: { ...JSON_HEADERS, 'sec-fetch-site': site },
      }),
      d,
    );
    assert.equal(reply?.status, 400);
    assert.equal(json(reply)['error'], 'ERR_REQUEST_INVALID');
  }
});

test('a form POST (not application/json) is refused', async () => {
  const reply = await handleDeviceRequest(
    request(DEVICE_PATHS.register, {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'a=b',
    }),
    deps(),
  );
  assert.equal(json(reply)['error'], 'ERR_REQUEST_INVALID');
});

test('GET on a ceremony endpoint is 405; another path is not ours', async () => {
  const d = deps();
  const reply = await handleDeviceRequest(request(DEVICE_PATHS.register, { method: 'GET' }), d);
  assert.equal(reply?.status, 405);
  assert.equal(await handleDeviceRequest(request('/.gatehouse/devices/x'), d), undefined);
});

test('the JSON endpoints enroll and verify; errors carry their code and status', async () => {
  const d = deps();
  const a = authenticator();
  const proofs: string[] = [];
  const withProof = {
    ...d,
    onProof: async (proof: { device: { id: string } }) => {
      proofs.push(proof.device.id);
      return [['set-cookie', 'bound=1'] as const];
    },
  };
  const options = json(await handleDeviceRequest(request(DEVICE_PATHS.registerOptions), d));
  const registered = await handleDeviceRequest(
    request(DEVICE_PATHS.register, {
      body: JSON.stringify(a.register(String(options['challenge']), { counter: 1 })),
    }),
    d,
  );
  assert.deepEqual(json(registered)['device'], {
    id: a.id,
    kind: 'cross-platform',
    approval: 'approved',
  });
  const get = json(await handleDeviceRequest(request(DEVICE_PATHS.verifyOptions), d));
  const assertion = JSON.stringify(a.assert(String(get['challenge']), { counter: 2 }));
  const verified = await handleDeviceRequest(
    request(DEVICE_PATHS.verify, { body: assertion }),
    withProof,
  );
  assert.equal(verified?.status, 200);
  assert.equal(json(verified)['verified'], true);
  assert.ok(verified !== undefined && header(verified, 'set-cookie') === 'bound=1');
  assert.deepEqual(proofs, [a.id]);

  const replayed = await handleDeviceRequest(
    request(DEVICE_PATHS.verify, { body: assertion }),
    withProof,
  );
  assert.equal(replayed?.status, 403);
  assert.equal(json(replayed)['error'], 'ERR_DEVICE_CHALLENGE_INVALID');
  assert.deepEqual(proofs, [a.id]);

  const bad = await handleDeviceRequest(request(DEVICE_PATHS.verify, { body: '{' }), d);
  assert.equal(json(bad)['error'], 'ERR_BODY_INVALID');
});

test("a user removes their own device, never another user's", async () => {
  const d = deps();
  const mine = authenticator();
  const theirs = authenticator();
  const reg = json(await handleDeviceRequest(request(DEVICE_PATHS.registerOptions), d));
  await handleDeviceRequest(
    request(DEVICE_PATHS.register, {
      body: JSON.stringify(mine.register(String(reg['challenge']))),
    }),
    d,
  );
  const bob = { sub: 'user-bob', name: 'bob' };
  const reg2 = json(
    await handleDeviceRequest(request(DEVICE_PATHS.registerOptions, { user: bob }), d),
  );
  await handleDeviceRequest(
    request(DEVICE_PATHS.register, {
      user: bob,
      body: JSON.stringify(theirs.register(String(reg2['challenge']))),
    }),
    d,
  );
  const page = await handleDeviceRequest(request(DEVICE_PATHS.devices, { method: 'GET' }), d);
  assert.ok(page?.body.includes(`data-device="${mine.id}"`));
  assert.ok(!page?.body.includes(theirs.id));

  const refused = await handleDeviceRequest(
    request(DEVICE_PATHS.remove, { body: JSON.stringify({ id: theirs.id }) }),
    d,
  );
  assert.equal(json(refused)['error'], 'ERR_DEVICE_UNKNOWN');
  assert.equal((await d.registry.get(theirs.id))?.approval, 'approved');

  const removed = await handleDeviceRequest(
    request(DEVICE_PATHS.remove, { body: JSON.stringify({ id: mine.id }) }),
    d,
  );
  assert.equal(removed?.status, 200);
  assert.equal((await d.registry.get(mine.id))?.approval, 'revoked');
  const again = await handleDeviceRequest(
    request(DEVICE_PATHS.remove, { body: JSON.stringify({ id: mine.id }) }),
    d,
  );
  assert.equal(json(again)['error'], 'ERR_DEVICE_UNKNOWN');
});

test('verify options for a decision requiring UV ({"user_verification":"required"}) ask for it, and bind it to the challenge', async () => {
  const d = deps({ requireUserVerification: false });
  const a = authenticator();
  const reg = json(await handleDeviceRequest(request(DEVICE_PATHS.registerOptions), d));
  await handleDeviceRequest(
    request(DEVICE_PATHS.register, {
      body: JSON.stringify(a.register(String(reg['challenge']), { counter: 1 })),
    }),
    d,
  );
  const preferred = json(await handleDeviceRequest(request(DEVICE_PATHS.verifyOptions), d));
  assert.equal(preferred['userVerification'], 'preferred');
  const required = json(
    await handleDeviceRequest(
      request(DEVICE_PATHS.verifyOptions, {
        body: JSON.stringify({ user_verification: 'required' }),
      }),
      d,
    ),
  );
  assert.equal(required['userVerification'], 'required');
  const refused = await handleDeviceRequest(
    request(DEVICE_PATHS.verify, {
      body: JSON.stringify(
        a.assert(String(required['challenge']), { counter: 2, userVerified: false }),
      ),
    }),
    d,
  );
  assert.equal(refused?.status, 403);
  assert.equal(json(refused)['error'], 'ERR_DEVICE_NOT_ALLOWED');
  const ok = await handleDeviceRequest(
    request(DEVICE_PATHS.verify, {
      body: JSON.stringify(
        a.assert(String(preferred['challenge']), { counter: 3, userVerified: false }),
      ),
    }),
    d,
  );
  assert.equal(json(ok)['user_verified'], false, 'a preferred challenge still takes no UV');
});

test('the page script asks for UV when the page was reached with uv=required', () => {
  assert.match(DEVICE_SCRIPT, /get\('uv'\) === 'required'/);
  assert.match(DEVICE_SCRIPT, /\{ user_verification: 'required' \}/);
});
