import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRevocationSet, type RevocableSession } from '../../../src/oidc/revocation-set.js';

const ISS = 'https://idp.example';
const T0 = 1_800_000_000_000;
const T0_S = T0 / 1000;

function session(overrides: Partial<RevocableSession> = {}): RevocableSession {
  return {
    idp_iss: ISS,
    sub: 'alice',
    auth_time: T0_S - 60,
    idp_sid: 'idp-1',
    ...overrides,
  };
}

describe('revocation set (back-channel logout, in process)', () => {
  test('sid revokes the sessions of that IdP session only', () => {
    const set = createRevocationSet({ now: () => T0 });
    set.revoke({ iss: ISS, sid: 'idp-1' }, T0);
    assert.equal(set.isRevoked(session()), true);
    assert.equal(set.isRevoked(session({ idp_sid: 'idp-2' })), false);
    assert.equal(set.isRevoked(session({ idp_iss: 'https://other.example' })), false);
  });

  test('sub alone revokes every earlier session of that user', () => {
    const set = createRevocationSet({ now: () => T0 });
    set.revoke({ iss: ISS, sub: 'alice' }, T0);
    assert.equal(set.isRevoked(session()), true);
    assert.equal(set.isRevoked(session({ idp_sid: undefined })), true);
    assert.equal(set.isRevoked(session({ sub: 'bob' })), false);
  });

  test('a sign-in after the revocation is not affected', () => {
    const set = createRevocationSet({ now: () => T0 + 5000 });
    set.revoke({ iss: ISS, sub: 'alice', sid: 'idp-1' }, T0);
    assert.equal(set.isRevoked(session({ auth_time: T0_S + 1 })), false);
    assert.equal(set.isRevoked(session({ auth_time: T0_S })), true, 'same second: fail closed');
  });

  test('sid and sub: other IdP sessions of the user stay, sessions with no known sid do not', () => {
    const set = createRevocationSet({ now: () => T0 });
    set.revoke({ iss: ISS, sub: 'alice', sid: 'idp-1' }, T0);
    assert.equal(set.isRevoked(session()), true);
    assert.equal(set.isRevoked(session({ idp_sid: 'idp-2' })), false);
    assert.equal(
      set.isRevoked(session({ idp_sid: undefined })),
      true,
      'no IdP sid known: cannot tell, so revoked',
    );
  });

  test('entries expire after the retention, and the set stays bounded', () => {
    let now = T0;
    let evicted = 0;
    const set = createRevocationSet({
      now: () => now,
      retentionMs: 1000,
      maxEntries: 2,
      onEvict: () => {
        evicted += 1;
      },
    });
    set.revoke({ iss: ISS, sid: 'idp-1' }, now);
    now += 1001;
    assert.equal(set.isRevoked(session()), false);
    set.revoke({ iss: ISS, sid: 'a' }, now);
    set.revoke({ iss: ISS, sid: 'b' }, now);
    set.revoke({ iss: ISS, sid: 'c' }, now);
    assert.equal(set.size, 2);
    assert.equal(evicted, 1);
  });
});
