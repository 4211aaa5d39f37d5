/**
 * Record sealing: AES-256-GCM under a key derived from the session key, the session id as AAD.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { deriveKey } from '../../../src/keys/session-secret.js';

const deriveSessionKey = (secret: Uint8Array) => deriveKey(secret, 'gatehouse session encryption');
import { deriveStoreKeys, openRecord, sealRecord, userIndexId } from '../../../src/store/seal.js';
import type { SessionRecord } from '../../../src/store/types.js';

const keys = deriveStoreKeys(deriveSessionKey(randomBytes(32)));
const rec: SessionRecord = {
  sid: 'AAAAAAAAAAAAAAAAAAAAAA',
  sub: 'alice',
  createdAt: 1,
  expiresAt: 2,
  data: { refresh_token: 'rt' },
};

test('a sealed record opens under its own session id, and nowhere else', () => {
  const sealed = sealRecord(keys, rec);
  assert.deepEqual(openRecord(keys, rec.sid, sealed), rec);
  assert.throws(() => openRecord(keys, 'BBBBBBBBBBBBBBBBBBBBBB', sealed), {
    code: 'ERR_SESSION_RECORD_INVALID',
  });
});

test('every bit of a sealed record is authenticated', () => {
  const sealed = sealRecord(keys, rec);
  const body = Buffer.from(sealed.slice(3), 'base64url');
  for (let i = 0; i < body.length; i++) {
    const copy = Buffer.from(body);
    copy[i] = (copy[i] ?? 0) ^ 0x80;
    assert.throws(() => openRecord(keys, rec.sid, `v1.${copy.toString('base64url')}`), {
      code: 'ERR_SESSION_RECORD_INVALID',
    });
  }
  for (const bad of ['', 'v1.', 'v2.AAAA', sealed.slice(0, 20), 'nodot'])
    assert.throws(() => openRecord(keys, rec.sid, bad), { code: 'ERR_SESSION_RECORD_INVALID' });
});

test('another session secret cannot open a record; sealing twice never repeats (random IV)', () => {
  const other = deriveStoreKeys(deriveSessionKey(randomBytes(32)));
  assert.throws(() => openRecord(other, rec.sid, sealRecord(keys, rec)), {
    code: 'ERR_SESSION_RECORD_INVALID',
  });
  assert.notEqual(sealRecord(keys, rec), sealRecord(keys, rec));
});

test('the record key, the index key and the cookie key are independent derivations', () => {
  const sessionKey = deriveSessionKey(randomBytes(32));
  const k = deriveStoreKeys(sessionKey);
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  assert.equal(new Set([hex(sessionKey), hex(k.seal), hex(k.index)]).size, 3);
  assert.deepEqual(deriveStoreKeys(sessionKey), k, 'deterministic: every replica derives the same');
  assert.equal(userIndexId(k, 'alice'), userIndexId(k, 'alice'));
  assert.notEqual(userIndexId(k, 'alice'), userIndexId(k, 'bob'));
  assert.ok(!userIndexId(k, 'alice').includes('alice'));
});
