import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import type { DeviceRecord, DeviceRegistry } from '../../../src/device/webauthn/types.js';

function record(id: string, sub: string, registered_at: number): DeviceRecord {
  return {
    id,
    sub,
    kind: 'platform',
    public_key: 'pQECAyYgASFYIA',
    counter: 0,
    transports: ['internal'],
    aaguid: '00000000-0000-0000-0000-000000000000',
    attestation_format: 'none',
    registered_at,
    approval: 'pending',
  };
}

/**
 * The {@link DeviceRegistry} contract, as tests: every implementation (memory now, the
 * store-backed one on the memory and redis stores) runs it with `make` returning a fresh, empty
 * registry, or undefined when the test was skipped (no Redis outside CI).
 */
export type MakeRegistry = (t: TestContext) => Promise<DeviceRegistry | undefined>;

export function registryContract(name: string, make: MakeRegistry): void {
  test(`${name}: list by user, oldest first, only that user's`, async (t) => {
    const r = await make(t);
    if (r === undefined) return;
    await r.put(record('b', 'ada', 20));
    await r.put(record('a', 'ada', 10));
    await r.put(record('c', 'bob', 5));
    assert.deepEqual(
      (await r.listByUser('ada')).map((d) => d.id),
      ['a', 'b'],
    );
    assert.deepEqual(await r.listByUser('nobody'), []);
  });

  test(`${name}: get returns what put stored; put replaces`, async (t) => {
    const r = await make(t);
    if (r === undefined) return;
    assert.equal(await r.get('a'), undefined);
    await r.put(record('a', 'ada', 10));
    assert.deepEqual(await r.get('a'), record('a', 'ada', 10));
    await r.put({ ...record('a', 'ada', 10), counter: 7, last_used: 99 });
    assert.equal((await r.get('a'))?.counter, 7);
    assert.equal((await r.get('a'))?.last_used, 99);
  });

  test(`${name}: approve pending; revoke is final; unknown ids are false`, async (t) => {
    const r = await make(t);
    if (r === undefined) return;
    await r.put(record('a', 'ada', 10));
    assert.equal(await r.approve('a'), true);
    assert.equal((await r.get('a'))?.approval, 'approved');
    assert.equal(await r.revoke('a'), true);
    assert.equal((await r.get('a'))?.approval, 'revoked');
    assert.equal(await r.approve('a'), false);
    assert.equal((await r.get('a'))?.approval, 'revoked');
    assert.equal(await r.approve('zz'), false);
    assert.equal(await r.revoke('zz'), false);
  });

  test(`${name}: a stored record cannot be changed through the object put was given`, async (t) => {
    const r = await make(t);
    if (r === undefined) return;
    const mutable = { ...record('a', 'ada', 10) };
    await r.put(mutable);
    (mutable as { approval: string }).approval = 'approved';
    assert.equal((await r.get('a'))?.approval, 'pending');
  });
}

/** The atomic steps of the contract (create, recordAssertion), as tests. */
export function registryAtomicContract(name: string, make: MakeRegistry): void {
  test(`${name}: create inserts once; a second create of the id (even revoked) is false`, async (t) => {
    const r = await make(t);
    if (r === undefined) return;
    assert.equal(await r.create(record('a', 'ada', 10)), true);
    assert.equal(await r.create({ ...record('a', 'mallory', 11) }), false);
    assert.equal((await r.get('a'))?.sub, 'ada');
    await r.revoke('a');
    assert.equal(await r.create(record('a', 'ada', 12)), false);
    assert.equal((await r.get('a'))?.approval, 'revoked');
  });

  test(`${name}: recordAssertion moves the counter up only, for the owner of an approved device`, async (t) => {
    const r = await make(t);
    if (r === undefined) return;
    await r.create(record('a', 'ada', 10));
    assert.deepEqual(await r.recordAssertion('a', 'ada', 1, 100), { ok: false, reason: 'unknown' });
    await r.approve('a');
    assert.deepEqual(await r.recordAssertion('a', 'bob', 1, 100), { ok: false, reason: 'unknown' });
    assert.deepEqual(await r.recordAssertion('zz', 'ada', 1, 100), {
      ok: false,
      reason: 'unknown',
    });
    const first = await r.recordAssertion('a', 'ada', 3, 100);
    assert.ok(first.ok);
    assert.equal(first.device.counter, 3);
    assert.equal(first.device.last_used, 100);
    assert.deepEqual(await r.recordAssertion('a', 'ada', 3, 101), { ok: false, reason: 'counter' });
    assert.deepEqual(await r.recordAssertion('a', 'ada', 2, 101), { ok: false, reason: 'counter' });
    assert.equal((await r.get('a'))?.counter, 3);
    await r.revoke('a');
    assert.deepEqual(await r.recordAssertion('a', 'ada', 4, 102), { ok: false, reason: 'unknown' });
  });

  test(`${name}: concurrent assertions with the same counter: exactly one is recorded`, async (t) => {
    const r = await make(t);
    if (r === undefined) return;
    await r.create({ ...record('a', 'ada', 10), approval: 'approved', counter: 5 });
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, () => r.recordAssertion('a', 'ada', 6, 100)),
    );
    assert.equal(outcomes.filter((o) => o.ok).length, 1);
    // Authenticators that never count (0 throughout) are accepted every time.
    await r.create({ ...record('z', 'ada', 10), approval: 'approved' });
    const zeros = await Promise.all(
      Array.from({ length: 3 }, () => r.recordAssertion('z', 'ada', 0, 100)),
    );
    assert.equal(zeros.filter((o) => o.ok).length, 3);
  });
}
