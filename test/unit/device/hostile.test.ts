/**
 * Named hostile cases: each is a response a real attacker could send, made with a real key and
 * real CBOR, and each must be refused with its code.
 */
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
import type { SoftAuthenticator } from '../../support/soft-authenticator.js';
import { authenticator, deps, rejectsWith, SUB } from './support.js';

const YUBIKEY = 'cb69481e-8ff7-4039-93ec-0a2729a154a8';
const OTHER = '00112233-4455-6677-8899-aabbccddeeff';

async function enrolled(
  settings: Parameters<typeof deps>[0] = {},
  counter = 5,
): Promise<{ d: ReturnType<typeof deps>; a: SoftAuthenticator }> {
  const d = deps(settings);
  const a = authenticator();
  const options = await registrationOptions(d, { sub: SUB, name: 'ada' });
  await verifyRegistration(d, SUB, a.register(options.challenge, { counter }));
  return { d, a };
}

test('forged attestation: a bad signature over the attestation is refused, nothing enrolled', async () => {
  const d = deps();
  const options = await registrationOptions(d, { sub: SUB, name: 'ada' });
  await rejectsWith(
    verifyRegistration(
      d,
      SUB,
      authenticator().register(options.challenge, { forgeSignature: true }),
    ),
    'ERR_DEVICE_PROOF_INVALID',
  );
  assert.deepEqual(await d.registry.listByUser(SUB), []);
});

test('forged assertion: a bad signature is refused and the counter is not moved', async () => {
  const { d, a } = await enrolled();
  const get = await authenticationOptions(d, SUB);
  await rejectsWith(
    verifyAuthentication(d, SUB, a.assert(get.challenge, { counter: 9, forgeSignature: true })),
    'ERR_DEVICE_PROOF_INVALID',
  );
  assert.equal((await d.registry.get(a.id))?.counter, 5);
});

test('replayed assertion: the same response twice is refused the second time', async () => {
  const { d, a } = await enrolled();
  const get = await authenticationOptions(d, SUB);
  const response = a.assert(get.challenge, { counter: 6 });
  await verifyAuthentication(d, SUB, response);
  await rejectsWith(verifyAuthentication(d, SUB, response), 'ERR_DEVICE_CHALLENGE_INVALID');
});

test('replayed assertion: a used challenge cannot be answered again, even with a fresh signature', async () => {
  const { d, a } = await enrolled();
  const get = await authenticationOptions(d, SUB);
  await verifyAuthentication(d, SUB, a.assert(get.challenge, { counter: 6 }));
  await rejectsWith(
    verifyAuthentication(d, SUB, a.assert(get.challenge, { counter: 7 })),
    'ERR_DEVICE_CHALLENGE_INVALID',
  );
});

test('replayed registration: the same attestation cannot enroll twice', async () => {
  const d = deps();
  const options = await registrationOptions(d, { sub: SUB, name: 'ada' });
  const response = authenticator().register(options.challenge);
  await verifyRegistration(d, SUB, response);
  await rejectsWith(verifyRegistration(d, SUB, response), 'ERR_DEVICE_CHALLENGE_INVALID');
});

test('a registration challenge cannot answer an assertion', async () => {
  const { d, a } = await enrolled();
  const reg = await registrationOptions(d, { sub: SUB, name: 'ada' });
  await rejectsWith(
    verifyAuthentication(d, SUB, a.assert(reg.challenge, { counter: 6 })),
    'ERR_DEVICE_CHALLENGE_INVALID',
  );
});

test('a challenge Gatehouse never issued is refused', async () => {
  const { d, a } = await enrolled();
  await rejectsWith(
    verifyAuthentication(d, SUB, a.assert('bm90LWlzc3VlZA', { counter: 6 })),
    'ERR_DEVICE_CHALLENGE_INVALID',
  );
});

test('wrong origin: registration and assertion from another origin are refused', async () => {
  const d = deps();
  const options = await registrationOptions(d, { sub: SUB, name: 'ada' });
  await rejectsWith(
    verifyRegistration(
      d,
      SUB,
      authenticator().register(options.challenge, { origin: 'https://evil.example.net' }),
    ),
    'ERR_DEVICE_PROOF_INVALID',
  );
  const { d: d2, a } = await enrolled();
  const get = await authenticationOptions(d2, SUB);
  await rejectsWith(
    verifyAuthentication(
      d2,
      SUB,
      a.assert(get.challenge, { counter: 6, origin: 'https://app.example.com.evil.net' }),
    ),
    'ERR_DEVICE_PROOF_INVALID',
  );
});

test('wrong RP ID: registration and assertion scoped to another RP ID are refused', async () => {
  const d = deps();
  const options = await registrationOptions(d, { sub: SUB, name: 'ada' });
  await rejectsWith(
    verifyRegistration(d, SUB, authenticator().register(options.challenge, { rpId: 'evil.net' })),
    'ERR_DEVICE_PROOF_INVALID',
  );
  const { d: d2, a } = await enrolled();
  const get = await authenticationOptions(d2, SUB);
  await rejectsWith(
    verifyAuthentication(d2, SUB, a.assert(get.challenge, { counter: 6, rpId: 'evil.net' })),
    'ERR_DEVICE_PROOF_INVALID',
  );
});

test('counter regression: an assertion whose counter does not rise is refused', async () => {
  const { d, a } = await enrolled({}, 5);
  for (const counter of [5, 4, 0]) {
    const get = await authenticationOptions(d, SUB);
    await rejectsWith(
      verifyAuthentication(d, SUB, a.assert(get.challenge, { counter })),
      'ERR_DEVICE_COUNTER_REGRESSION',
    );
  }
  assert.equal((await d.registry.get(a.id))?.counter, 5);
  const get = await authenticationOptions(d, SUB);
  await verifyAuthentication(d, SUB, a.assert(get.challenge, { counter: 6 }));
});

test('disallowed attestation format: "none" when only "packed" is allowed', async () => {
  const d = deps({ attestationFormats: ['packed'] });
  const options = await registrationOptions(d, { sub: SUB, name: 'ada' });
  await rejectsWith(
    verifyRegistration(d, SUB, authenticator().register(options.challenge, { fmt: 'none' })),
    'ERR_DEVICE_NOT_ALLOWED',
  );
  assert.deepEqual(await d.registry.listByUser(SUB), []);
});

test('disallowed attestation format: "packed" when only "none" is allowed', async () => {
  const d = deps({ attestationFormats: ['none'] });
  const options = await registrationOptions(d, { sub: SUB, name: 'ada' });
  await rejectsWith(
    verifyRegistration(d, SUB, authenticator().register(options.challenge, { fmt: 'packed' })),
    'ERR_DEVICE_NOT_ALLOWED',
  );
});

test('disallowed AAGUID: a model outside the list is refused, one inside accepted', async () => {
  const d = deps({ aaguids: [YUBIKEY] });
  const options = await registrationOptions(d, { sub: SUB, name: 'ada' });
  await rejectsWith(
    verifyRegistration(d, SUB, authenticator().register(options.challenge, { aaguid: OTHER })),
    'ERR_DEVICE_NOT_ALLOWED',
  );
  const again = await registrationOptions(d, { sub: SUB, name: 'ada' });
  const record = await verifyRegistration(
    d,
    SUB,
    authenticator().register(again.challenge, { aaguid: YUBIKEY.toUpperCase() }),
  );
  assert.equal(record.aaguid, YUBIKEY);
});

test('UV required but absent: registration and assertion without UV are refused', async () => {
  const d = deps({ requireUserVerification: true });
  const options = await registrationOptions(d, { sub: SUB, name: 'ada' });
  await rejectsWith(
    verifyRegistration(
      d,
      SUB,
      authenticator().register(options.challenge, { userVerified: false }),
    ),
    'ERR_DEVICE_NOT_ALLOWED',
  );
  const { d: d2, a } = await enrolled();
  const get = await authenticationOptions(d2, SUB);
  await rejectsWith(
    verifyAuthentication(d2, SUB, a.assert(get.challenge, { counter: 6, userVerified: false })),
    'ERR_DEVICE_NOT_ALLOWED',
  );
});

test('UV preferred: a device without UV enrolls and authenticates, and says so', async () => {
  const { d, a } = await enrolled({ requireUserVerification: false });
  const get = await authenticationOptions(d, SUB);
  assert.equal(get.userVerification, 'preferred');
  const proof = await verifyAuthentication(
    d,
    SUB,
    a.assert(get.challenge, { counter: 6, userVerified: false }),
  );
  assert.equal(proof.userVerified, false);
});

test('cloned authenticator race: two concurrent assertions with the same counter, only one passes', async () => {
  const { d, a } = await enrolled({}, 5);
  const first = await authenticationOptions(d, SUB);
  const second = await authenticationOptions(d, SUB);
  // The same key and counter in two places (a clone): both signatures are genuine.
  const outcomes = await Promise.allSettled([
    verifyAuthentication(d, SUB, a.assert(first.challenge, { counter: 6 })),
    verifyAuthentication(d, SUB, a.assert(second.challenge, { counter: 6 })),
  ]);
  // Either may win (the two verifications interleave on real crypto): exactly one must.
  assert.deepEqual(
    outcomes.map((o) => o.status).sort(),
    ['fulfilled', 'rejected'],
    'the counter is compared and moved in one atomic step',
  );
  const refused = outcomes.find((o) => o.status === 'rejected');
  assert.ok(refused?.status === 'rejected');
  assert.equal((refused.reason as { code?: string }).code, 'ERR_DEVICE_COUNTER_REGRESSION');
  assert.equal((await d.registry.get(a.id))?.counter, 6);
});

test("a wrong user cannot burn another user's challenge: the subject is checked before it is consumed", async () => {
  const { d, a } = await enrolled();
  const get = await authenticationOptions(d, SUB);
  const response = a.assert(get.challenge, { counter: 6 });
  // Mallory, signed in as herself, posts Ada's response (or just its challenge).
  await rejectsWith(
    verifyAuthentication(d, 'user-mallory', response),
    'ERR_DEVICE_CHALLENGE_INVALID',
  );
  const proof = await verifyAuthentication(d, SUB, response);
  assert.equal(proof.device.id, a.id);

  const reg = await registrationOptions(d, { sub: SUB, name: 'ada' });
  const other = authenticator().register(reg.challenge);
  await rejectsWith(verifyRegistration(d, 'user-mallory', other), 'ERR_DEVICE_CHALLENGE_INVALID');
  assert.equal((await verifyRegistration(d, SUB, other)).sub, SUB);
});

test('UV demanded by a decision (config preferred): options say required, and an answer without UV to that challenge is refused', async () => {
  const { d, a } = await enrolled({ requireUserVerification: false });
  const get = await authenticationOptions(d, SUB, true);
  assert.equal(get.userVerification, 'required');
  // The authenticator (or a client editing the options) answers without UV: the challenge
  // remembers that UV was required, so the downgrade is refused, and the challenge is spent.
  const response = a.assert(get.challenge, { counter: 6, userVerified: false });
  await rejectsWith(verifyAuthentication(d, SUB, response), 'ERR_DEVICE_NOT_ALLOWED');
  await rejectsWith(verifyAuthentication(d, SUB, response), 'ERR_DEVICE_CHALLENGE_INVALID');
  assert.equal((await d.registry.get(a.id))?.counter, 5, 'nothing recorded');
  // With UV, a fresh challenge for the same decision passes and says so.
  const again = await authenticationOptions(d, SUB, true);
  const proof = await verifyAuthentication(d, SUB, a.assert(again.challenge, { counter: 7 }));
  assert.equal(proof.userVerified, true);
});
