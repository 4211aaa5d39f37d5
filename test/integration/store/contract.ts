/**
 * One contract, run against every session store (memory.test.ts, redis.test.ts): what the rest of
 * Gatehouse relies on, whichever store is configured.
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import type { SessionStore, StoreChange } from '../../../src/store/types.js';
import { newSid, record, within } from './support.js';

/** Two clients of one store (for memory, the same instance: one process shares one store). */
export interface StorePair {
  readonly a: SessionStore;
  readonly b: SessionStore;
}

/** Opens a fresh, empty store for one test, or undefined when the test was skipped. */
export type OpenPair = (t: TestContext) => Promise<StorePair | undefined>;

/** Register the contract tests for one store kind. */
export function storeContract(kind: string, open: OpenPair): void {
  const it = (name: string, body: (pair: StorePair) => Promise<void>) =>
    test(`${kind} store: ${name}`, async (t) => {
      const pair = await open(t);
      if (pair !== undefined) await body(pair);
    });

  it('a created session reads back, from any client; an id is never created twice', async ({
    a,
    b,
  }) => {
    const r = record('alice');
    assert.equal(await a.create(r), true);
    const got = await b.get(r.sid);
    assert.ok(got);
    assert.deepEqual({ ...got, lastSeenAt: 0 }, { ...r, lastSeenAt: 0 });
    assert.equal(await b.create({ ...r, sub: 'mallory' }), false);
    assert.equal((await a.get(r.sid))?.sub, 'alice');
    assert.equal(await a.get(newSid()), undefined);
  });

  it('update replaces the record and keeps lastSeenAt; touch moves lastSeenAt forward only', async ({
    a,
    b,
  }) => {
    const r = record('alice');
    await a.create(r);
    const at = Date.now() + 5000;
    assert.equal(await b.touch(r.sid, at), true);
    assert.equal(await b.touch(r.sid, at - 1000), true);
    assert.equal((await a.get(r.sid))?.lastSeenAt, at);
    assert.equal(await b.update({ ...r, data: { groups: ['admins'] } }), true);
    const got = await a.get(r.sid);
    assert.deepEqual(got?.data, { groups: ['admins'] });
    assert.equal(got?.lastSeenAt, at);
    assert.equal(await a.touch(newSid(), at), false);
  });

  it('a revoked session is gone for every client, and a late update or touch never brings it back', async ({
    a,
    b,
  }) => {
    const r = record('alice');
    await a.create(r);
    assert.equal(await b.revoke(r.sid), true);
    assert.equal(await a.get(r.sid), undefined);
    assert.equal(await a.update(r), false);
    assert.equal(await a.touch(r.sid, Date.now()), false);
    assert.equal(await b.get(r.sid), undefined);
    assert.equal(await b.revoke(r.sid), false);
  });

  it("revokeUser revokes every session of that user and no one else's", async ({ a, b }) => {
    const alice1 = record('alice');
    const alice2 = record('alice');
    const bob = record('bob');
    for (const r of [alice1, alice2, bob]) await a.create(r);
    const revoked = await b.revokeUser('alice');
    assert.deepEqual([...revoked].sort(), [alice1.sid, alice2.sid].sort());
    assert.equal(await a.get(alice1.sid), undefined);
    assert.equal(await a.get(alice2.sid), undefined);
    assert.ok(await a.get(bob.sid));
    assert.deepEqual(await b.revokeUser('alice'), []);
  });

  it('revokeIdpSession revokes the sessions from that IdP session (iss and sid) only', async ({
    a,
    b,
  }) => {
    const idp = { iss: 'https://idp.example', sid: 'idp-session-1' };
    const one = { ...record('alice'), idp };
    const two = { ...record('alice'), idp };
    const otherSid = { ...record('alice'), idp: { ...idp, sid: 'idp-session-2' } };
    const otherIss = { ...record('alice'), idp: { ...idp, iss: 'https://other.example' } };
    const none = record('alice');
    for (const r of [one, two, otherSid, otherIss, none]) await a.create(r);
    assert.deepEqual((await a.get(one.sid))?.idp, idp, 'the IdP session reads back');
    const revoked = await b.revokeIdpSession(idp.iss, idp.sid);
    assert.deepEqual([...revoked].sort(), [one.sid, two.sid].sort());
    for (const r of [one, two]) assert.equal(await a.get(r.sid), undefined);
    for (const r of [otherSid, otherIss, none]) assert.ok(await a.get(r.sid));
    assert.deepEqual(await b.revokeIdpSession(idp.iss, idp.sid), []);
    // A session revoked by id leaves the IdP index: nothing is found for it afterwards.
    await a.revoke(otherSid.sid);
    assert.deepEqual(await b.revokeIdpSession(idp.iss, 'idp-session-2'), []);
  });

  it('an update that names another IdP session (a refreshed ID token) moves the session between IdP indexes', async ({
    a,
    b,
  }) => {
    const first = { iss: 'https://idp.example', sid: 'idp-session-a' };
    const second = { ...first, sid: 'idp-session-b' };
    const r = record('alice');
    assert.ok(await a.create(r)); // signed in without an IdP session id
    assert.ok(await a.update({ ...r, idp: first }));
    assert.ok(await a.update({ ...r, idp: second }));
    assert.deepEqual(await b.revokeIdpSession(first.iss, first.sid), [], 'not under the old one');
    assert.ok(await a.get(r.sid));
    assert.deepEqual(await b.revokeIdpSession(second.iss, second.sid), [r.sid]);
    assert.equal(await a.get(r.sid), undefined);
  });

  it('list returns live sessions, by user and up to a limit', async ({ a, b }) => {
    const rs = [record('alice'), record('alice'), record('bob')];
    for (const r of rs) await a.create(r);
    assert.equal((await b.list()).length, 3);
    assert.deepEqual(
      (await b.list({ sub: 'alice' })).map((s) => s.sid).sort(),
      [rs[0]!.sid, rs[1]!.sid].sort(),
    );
    assert.equal((await b.list({ limit: 2 })).length, 2);
    await a.revoke(rs[0]!.sid);
    assert.deepEqual(
      (await b.list({ sub: 'alice' })).map((s) => s.sid),
      [rs[1]!.sid],
    );
  });

  it('a session is gone at its absolute end', async ({ a, b }) => {
    const r = record('alice', 150);
    await a.create(r);
    assert.ok(await within(5000, async () => (await b.get(r.sid)) === undefined));
    assert.equal(await a.update(r), false);
  });

  it('a revocation reaches the change feed of another client within 1 s', async ({ a, b }) => {
    const heard: StoreChange[] = [];
    const stop = b.subscribe((c) => heard.push(c));
    const r = record('alice');
    await a.create(r);
    await a.update({ ...r, data: {} });
    await a.revoke(r.sid);
    const seen = await within(1000, () =>
      heard.some((c) => c.kind === 'revoked' && c.sid === r.sid),
    );
    stop();
    assert.ok(seen, `heard: ${JSON.stringify(heard)}`);
    assert.ok(heard.some((c) => c.kind === 'updated' && c.sid === r.sid));
  });

  it('a single-use key is claimed once per namespace, and again only after its TTL', async ({
    a,
    b,
  }) => {
    assert.equal(await a.claimOnce('handoff-jti', 'jti-1', 150), true);
    assert.equal(await b.claimOnce('handoff-jti', 'jti-1', 150), false);
    assert.equal(await a.claimOnce('handoff-jti', 'jti-1', 150), false);
    assert.equal(await b.claimOnce('backchannel-jti', 'jti-1', 60_000), true);
    assert.equal(await b.claimOnce('sign-in-state', 'jti-1', 60_000), true);
    assert.ok(await within(5000, () => b.claimOnce('handoff-jti', 'jti-1', 60_000)));
    assert.equal(await a.claimOnce('handoff-jti', 'jti-1', 60_000), false);
  });

  it('a released single-use key can be claimed again, at any client; other keys stay', async ({
    a,
    b,
  }) => {
    assert.equal(await a.claimOnce('backchannel-jti', 'r-1', 60_000), true);
    assert.equal(await a.claimOnce('backchannel-jti', 'r-2', 60_000), true);
    await b.releaseOnce('backchannel-jti', 'r-1');
    assert.equal(await a.claimOnce('backchannel-jti', 'r-1', 60_000), true);
    assert.equal(await b.claimOnce('backchannel-jti', 'r-1', 60_000), false);
    assert.equal(await b.claimOnce('backchannel-jti', 'r-2', 60_000), false);
  });

  it('a lock has one owner at a time; only the owner releases it', async ({ a, b }) => {
    const lease = await a.acquireLock('refresh:s1', 60_000);
    assert.ok(lease);
    assert.equal(await b.acquireLock('refresh:s1', 60_000), undefined);
    assert.equal(await a.acquireLock('refresh:s1', 60_000), undefined);
    assert.ok(await b.acquireLock('refresh:s2', 60_000), 'another name is another lock');
    assert.equal(await lease.release(), true);
    assert.equal(await lease.release(), false);
    const next = await b.acquireLock('refresh:s1', 60_000);
    assert.ok(next);
    assert.notEqual(next.token, lease.token);
  });

  it('an expired lock passes to the next owner, and the old owner cannot release it', async ({
    a,
    b,
  }) => {
    const old = await a.acquireLock('refresh:s1', 150);
    assert.ok(old);
    let taken: Awaited<ReturnType<SessionStore['acquireLock']>>;
    assert.ok(
      await within(5000, async () => {
        taken = await b.acquireLock('refresh:s1', 60_000);
        return taken !== undefined;
      }),
    );
    assert.equal(await old.release(), false, 'the expired owner must not delete the new lock');
    assert.equal(await a.acquireLock('refresh:s1', 60_000), undefined, 'still held by b');
    assert.equal(await taken!.release(), true);
  });

  it('a device is enrolled once, reads back from any client, and is listed by user', async ({
    a,
    b,
  }) => {
    const id = newSid();
    const entry = { id, sub: 'alice', data: { id, sub: 'alice', counter: 0 } };
    assert.equal(await a.createDevice(entry), true);
    assert.equal(await b.createDevice({ ...entry, sub: 'mallory' }), false);
    assert.deepEqual(await b.getDevice(id), { ...entry, revision: 1 });
    assert.equal(await a.getDevice(newSid()), undefined);
    const other = newSid();
    await b.createDevice({ id: other, sub: 'bob', data: { id: other } });
    assert.deepEqual(
      (await a.listDevices({ sub: 'alice' })).map((d) => d.id),
      [id],
    );
    const all = (await b.listDevices()).map((d) => d.id);
    assert.ok(all.includes(id) && all.includes(other));
    assert.equal((await a.listDevices({ limit: 1 })).length, 1);
  });

  it('a device entry is replaced only at the revision read (compare-and-set)', async ({ a, b }) => {
    const id = newSid();
    await a.createDevice({ id, sub: 'alice', data: { counter: 0 } });
    assert.equal(await b.replaceDevice({ id, sub: 'alice', data: { counter: 1 } }, 1), true);
    // A replica that read revision 1 lost the race: its write is refused, the winner's stays.
    assert.equal(await a.replaceDevice({ id, sub: 'alice', data: { counter: 9 } }, 1), false);
    assert.deepEqual(await a.getDevice(id), {
      id,
      sub: 'alice',
      data: { counter: 1 },
      revision: 2,
    });
    const racers = await Promise.all(
      [a, b, a, b].map((s, i) => s.replaceDevice({ id, sub: 'alice', data: { counter: i } }, 2)),
    );
    assert.equal(racers.filter(Boolean).length, 1);
    assert.equal(await a.replaceDevice({ id, sub: 'mallory', data: {} }, 3), false);
    assert.equal(await a.replaceDevice({ id: newSid(), sub: 'alice', data: {} }, 1), false);
  });

  it('a single-use value is taken once, by any client, and never after its TTL', async ({
    a,
    b,
  }) => {
    await a.putValue('webauthn-challenge', 'c-1', 'issued to alice', 60_000);
    const takes = await Promise.all([
      b.takeValue('webauthn-challenge', 'c-1'),
      a.takeValue('webauthn-challenge', 'c-1'),
    ]);
    assert.deepEqual(
      takes.filter((v) => v !== undefined),
      ['issued to alice'],
    );
    assert.equal(await a.takeValue('webauthn-challenge', 'never-put'), undefined);
    await a.putValue('webauthn-challenge', 'c-2', 'short', 50);
    // Past its TTL, the first take already finds nothing (a take would also delete it).
    await new Promise((resolve) => setTimeout(resolve, 120));
    assert.equal(await b.takeValue('webauthn-challenge', 'c-2'), undefined);
  });
}
