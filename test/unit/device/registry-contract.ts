import assert from 'node:assert/strict';
import { test } from 'node:test';
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
 * store-backed one next) runs it with `make` returning a fresh, empty registry.
 */
export function registryContract(name: string, make: () => Promise<DeviceRegistry>): void {
  test(`${name}: list by user, oldest first, only that user's`, async () => {
    const r = await make();
    await r.put(record('b', 'ada', 20));
    await r.put(record('a', 'ada', 10));
    await r.put(record('c', 'bob', 5));
    assert.deepEqual(
      (await r.listByUser('ada')).map((d) => d.id),
      ['a', 'b'],
    );
    assert.deepEqual(await r.listByUser('nobody'), []);
  });

  test(`${name}: get returns what put stored; put replaces`, async () => {
    const r = await make();
    assert.equal(await r.get('a'), undefined);
    await r.put(record('a', 'ada', 10));
    assert.deepEqual(await r.get('a'), record('a', 'ada', 10));
    await r.put({ ...record('a', 'ada', 10), counter: 7, last_used: 99 });
    assert.equal((await r.get('a'))?.counter, 7);
    assert.equal((await r.get('a'))?.last_used, 99);
  });

  test(`${name}: approve pending; revoke is final; unknown ids are false`, async () => {
    const r = await make();
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

  test(`${name}: a stored record cannot be changed through the object put was given`, async () => {
    const r = await make();
    const mutable = { ...record('a', 'ada', 10) };
    await r.put(mutable);
    (mutable as { approval: string }).approval = 'approved';
    assert.equal((await r.get('a'))?.approval, 'pending');
  });
}
