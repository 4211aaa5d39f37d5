import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIdentityFile, SIMULATED_SESSION_ID } from '../../../src/cli/identity-file.js';

test('an identity file becomes a session identity, marked simulated, with every field kept as a claim', () => {
  const now = new Date('2030-01-01T00:00:00Z');
  const identity = parseIdentityFile(
    { sub: 'alice', email: 'a@example.com', groups: ['eng'], tenant: 't1' },
    now,
  );
  assert.equal(identity.method, 'session');
  assert.equal(identity.session_id, SIMULATED_SESSION_ID);
  assert.deepEqual(identity.groups, ['eng']);
  assert.equal(identity.email_verified, false);
  assert.equal(identity.name, null);
  assert.equal(identity.claims['tenant'], 't1');
  assert.equal(identity.issued_at, now.getTime() / 1000);
});

for (const [bad, key] of [
  [{}, /identity\.sub/],
  [{ sub: 'a', groups: 'eng' }, /identity\.groups/],
  [{ sub: 'a', email: 1 }, /identity\.email/],
  [[], /JSON object/],
] as const) {
  test(`a bad identity file is refused naming the field: ${JSON.stringify(bad)}`, () => {
    assert.throws(() => parseIdentityFile(bad), key);
  });
}
