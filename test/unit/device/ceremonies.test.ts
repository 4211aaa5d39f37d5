import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  authenticationOptions,
  verifyAuthentication,
} from '../../../src/device/webauthn/authentication.js';
import {
  registrationOptions,
  verifyRegistration,
} from '../../../src/device/webauthn/registration.js';
import { authenticator, deps, NOW, RP_ID, rejectsWith, SUB } from './support.js';

test('registration options name the RP, exclude enrolled devices and ask for UV', async () => {
  const d = deps();
  const a = authenticator();
  const first = await registrationOptions(d, { sub: SUB, name: 'ada' });
  assert.equal(first.rp.id, RP_ID);
  assert.equal(first.authenticatorSelection?.userVerification, 'required');
  assert.equal(first.attestation, 'direct');
  assert.deepEqual(first.excludeCredentials, []);
  await verifyRegistration(d, SUB, a.register(first.challenge));
  const second = await registrationOptions(d, { sub: SUB, name: 'ada' });
  assert.deepEqual(
    second.excludeCredentials?.map((c) => c.id),
    [a.id],
  );
  assert.notEqual(second.challenge, first.challenge);
});

test('attestation "none" only: no attestation is requested', async () => {
  const options = await registrationOptions(deps({ attestationFormats: ['none'] }), {
    sub: SUB,
    name: 'ada',
  });
  assert.equal(options.attestation, 'none');
});

test('register then authenticate: record, counter and last_used', async () => {
  const d = deps();
  const a = authenticator();
  const options = await registrationOptions(d, { sub: SUB, name: 'ada' });
  const record = await verifyRegistration(d, SUB, a.register(options.challenge, { counter: 1 }));
  assert.equal(record.id, a.id);
  assert.equal(record.sub, SUB);
  assert.equal(record.kind, 'cross-platform');
  assert.equal(record.approval, 'approved');
  assert.equal(record.attestation_format, 'packed');
  assert.equal(record.counter, 1);
  assert.equal(record.registered_at, NOW / 1000);
  assert.deepEqual(record.transports, ['usb']);
  assert.deepEqual(await d.registry.listByUser(SUB), [record]);

  d.clock.ms += 60_000;
  const get = await authenticationOptions(d, SUB);
  assert.deepEqual(
    get.allowCredentials?.map((c) => c.id),
    [a.id],
  );
  assert.equal(get.rpId, RP_ID);
  const proof = await verifyAuthentication(d, SUB, a.assert(get.challenge, { counter: 2 }));
  assert.equal(proof.device.counter, 2);
  assert.equal(proof.device.last_used, NOW / 1000 + 60);
  assert.equal(proof.userVerified, true);
  assert.equal((await d.registry.get(a.id))?.counter, 2);
});

test('authenticators that do not count (counter 0 throughout) are accepted', async () => {
  const d = deps();
  const a = authenticator();
  const options = await registrationOptions(d, { sub: SUB, name: 'ada' });
  await verifyRegistration(d, SUB, a.register(options.challenge, { fmt: 'none' }));
  for (let i = 0; i < 2; i++) {
    const get = await authenticationOptions(d, SUB);
    const proof = await verifyAuthentication(d, SUB, a.assert(get.challenge));
    assert.equal(proof.device.counter, 0);
  }
});

test('operator approval: a new device is pending and cannot authenticate until approved', async () => {
  const d = deps({ operatorApproval: true });
  const a = authenticator();
  const options = await registrationOptions(d, { sub: SUB, name: 'ada' });
  const record = await verifyRegistration(d, SUB, a.register(options.challenge));
  assert.equal(record.approval, 'pending');
  await rejectsWith(authenticationOptions(d, SUB), 'ERR_DEVICE_UNKNOWN');
  assert.equal(await d.registry.approve(a.id), true);
  const get = await authenticationOptions(d, SUB);
  await verifyAuthentication(d, SUB, a.assert(get.challenge, { counter: 1 }));
});

test('a revoked device is refused, cannot be re-approved, and cannot enroll again', async () => {
  const d = deps();
  const a = authenticator();
  const b = authenticator();
  await verifyRegistration(
    d,
    SUB,
    b.register((await registrationOptions(d, { sub: SUB, name: 'ada' })).challenge),
  );
  await verifyRegistration(
    d,
    SUB,
    a.register((await registrationOptions(d, { sub: SUB, name: 'ada' })).challenge),
  );
  const get = await authenticationOptions(d, SUB);
  assert.equal(await d.registry.revoke(a.id), true);
  await rejectsWith(
    verifyAuthentication(d, SUB, a.assert(get.challenge, { counter: 1 })),
    'ERR_DEVICE_UNKNOWN',
  );
  assert.equal(await d.registry.approve(a.id), false);
  const again = await registrationOptions(d, { sub: SUB, name: 'ada' });
  await rejectsWith(
    verifyRegistration(d, SUB, a.register(again.challenge)),
    'ERR_DEVICE_NOT_ALLOWED',
  );
  const next = await authenticationOptions(d, SUB);
  assert.deepEqual(
    next.allowCredentials?.map((c) => c.id),
    [b.id],
  );
});

test('a challenge expires after its TTL', async () => {
  const d = deps();
  const options = await registrationOptions(d, { sub: SUB, name: 'ada' });
  d.clock.ms += 301_000;
  await rejectsWith(
    verifyRegistration(d, SUB, authenticator().register(options.challenge)),
    'ERR_DEVICE_CHALLENGE_INVALID',
  );
});

test('a challenge issued to one user cannot be answered for another', async () => {
  const d = deps();
  const options = await registrationOptions(d, { sub: SUB, name: 'ada' });
  await rejectsWith(
    verifyRegistration(d, 'user-mallory', authenticator().register(options.challenge)),
    'ERR_DEVICE_CHALLENGE_INVALID',
  );
});

test("another user's device cannot authenticate this user", async () => {
  const d = deps();
  const a = authenticator();
  const reg = await registrationOptions(d, { sub: 'user-mallory', name: 'mallory' });
  await verifyRegistration(d, 'user-mallory', a.register(reg.challenge));
  const mine = authenticator();
  await verifyRegistration(
    d,
    SUB,
    mine.register((await registrationOptions(d, { sub: SUB, name: 'ada' })).challenge),
  );
  const get = await authenticationOptions(d, SUB);
  await rejectsWith(verifyAuthentication(d, SUB, a.assert(get.challenge)), 'ERR_DEVICE_UNKNOWN');
});

test('a malformed body is a proof error, not a crash', async () => {
  const d = deps();
  for (const body of [null, 'x', {}, { id: 'a', rawId: 'a', type: 'public-key', response: {} }])
    await rejectsWith(verifyRegistration(d, SUB, body), 'ERR_DEVICE_PROOF_INVALID');
  await rejectsWith(verifyAuthentication(d, SUB, { id: 1 }), 'ERR_DEVICE_PROOF_INVALID');
});
