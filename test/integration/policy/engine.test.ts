import assert from 'node:assert/strict';
import { cp, mkdtemp, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { hasCode } from '../../../src/errors/gatehouse-error.js';
import { PolicyEngine, type PolicyEvent } from '../../../src/policy/engine.js';
import { requireTool } from '../../support/tools.js';
import { buildBundle, fixture, regoDir } from './support.js';

const EP = 'envoy/authz/allow';
const policyAllowing = (user: string): string =>
  `package envoy.authz\n\nimport rego.v1\n\nallow if input.user == "${user}"\n`;

async function bundleFor(opa: string, user: string, revision: string): Promise<Buffer> {
  return buildBundle(opa, await regoDir(policyAllowing(user)), [EP], revision);
}

/** Writes a file the way deploys do: to a temporary name, then renamed over the target. */
async function replaceAtomically(path: string, bytes: Uint8Array): Promise<void> {
  await writeFile(`${path}.tmp`, bytes);
  await rename(`${path}.tmp`, path);
}

function nextEvent(
  engine: PolicyEngine,
  type: PolicyEvent['type'],
  timeoutMs = 10_000,
): Promise<PolicyEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${type} event within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = engine.on((event) => {
      if (event.type !== type) return;
      clearTimeout(timer);
      off();
      resolve(event);
    });
  });
}

describe('PolicyEngine', () => {
  test('current() is undefined before start; start() throws the load error', async () => {
    const engine = new PolicyEngine({ bundle: '/nonexistent/bundle.tar.gz', entrypoint: EP });
    assert.equal(engine.current(), undefined);
    await assert.rejects(engine.start(), (err: unknown) => hasCode(err, 'ERR_POLICY_LOAD'));
    assert.equal(engine.current(), undefined);
  });

  test('reload swaps to the new revision; a broken reload keeps the last good one', async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-engine-'));
    const path = join(dir, 'bundle.tar.gz');
    await writeFile(path, await bundleFor(opa, 'alice', 'r1'));
    const events: PolicyEvent[] = [];
    const engine = new PolicyEngine({ bundle: path, entrypoint: EP });
    engine.on((e) => events.push(e));
    await engine.start();
    assert.equal(engine.current()?.revision, 'r1');

    await writeFile(path, await bundleFor(opa, 'bob', 'r2'));
    assert.deepEqual(await engine.reload(), { ok: true, revision: 'r2', previousRevision: 'r1' });
    assert.equal(engine.current()?.evaluate({ user: 'bob' }), true);
    assert.equal(engine.current()?.evaluate({ user: 'alice' }), undefined);

    await writeFile(path, 'this is not a bundle');
    const failed = await engine.reload();
    assert.equal(failed.ok, false);
    assert.ok(!failed.ok && hasCode(failed.error, 'ERR_POLICY_LOAD'));
    assert.equal(failed.revision, 'r2');
    assert.equal(engine.current()?.revision, 'r2', 'the last good policy keeps serving');
    assert.equal(engine.current()?.evaluate({ user: 'bob' }), true);

    // A policy needing a missing builtin is refused the same way.
    await writeFile(path, await buildBundle(opa, fixture('http-send'), [EP]));
    const refused = await engine.reload();
    assert.ok(!refused.ok && hasCode(refused.error, 'ERR_POLICY_BUILTIN_MISSING'));
    assert.equal(engine.current()?.revision, 'r2');

    assert.deepEqual(
      events.map((e) => [e.type, 'revision' in e ? e.revision : undefined]),
      [
        ['loaded', 'r1'],
        ['loaded', 'r2'],
        ['failed', 'r2'],
        ['failed', 'r2'],
      ],
    );
  });

  test('evaluations in a tight loop never fail while reloads run', async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-engine-'));
    const path = join(dir, 'bundle.tar.gz');
    const good = [await bundleFor(opa, 'alice', 'a'), await bundleFor(opa, 'alice', 'b')];
    await writeFile(path, good[0] as Buffer);
    const engine = new PolicyEngine({ bundle: path, entrypoint: EP });
    await engine.start();

    let evaluations = 0;
    let stop = false;
    const revisions = new Set<string>();
    const loop = (async () => {
      while (!stop) {
        for (let i = 0; i < 50; i++) {
          const policy = engine.current();
          assert.ok(policy !== undefined);
          assert.equal(policy.evaluate({ user: 'alice' }), true);
          revisions.add(policy.revision);
          evaluations++;
        }
        await tick(); // let reload work interleave
      }
    })();

    const results = [];
    for (let i = 0; i < 12; i++) {
      await writeFile(path, i % 3 === 2 ? Buffer.from('broken') : (good[i % 2] as Buffer));
      results.push(await engine.reload());
    }
    // Concurrent reload requests coalesce and all settle.
    const concurrent = await Promise.all([engine.reload(), engine.reload(), engine.reload()]);
    stop = true;
    await loop;
    assert.ok(evaluations > 100, `only ${evaluations} evaluations ran`);
    assert.deepEqual([...revisions].sort(), ['a', 'b']);
    assert.equal(results.filter((r) => !r.ok).length, 4);
    assert.equal(concurrent.length, 3);
  });

  test('watch: replacing the bundle file reloads it (debounced)', async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-engine-'));
    const path = join(dir, 'bundle.tar.gz');
    await writeFile(path, await bundleFor(opa, 'alice', 'w1'));
    const engine = new PolicyEngine({ bundle: path, entrypoint: EP, watch: true, debounceMs: 50 });
    t.after(() => engine.stop());
    await engine.start();
    const loaded = nextEvent(engine, 'loaded');
    await replaceAtomically(path, await bundleFor(opa, 'bob', 'w2'));
    const event = await loaded;
    assert.equal(event.type === 'loaded' && event.trigger, 'watch');
    assert.equal(engine.current()?.revision, 'w2');

    const failed = nextEvent(engine, 'failed');
    await replaceAtomically(path, Buffer.from('broken'));
    await failed;
    assert.equal(engine.current()?.revision, 'w2');
  });

  test('watch: editing a Rego directory recompiles it', async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-engine-dir-'));
    await cp(fixture('allow-all'), dir, { recursive: true });
    const engine = new PolicyEngine({
      dir,
      entrypoint: EP,
      opaPath: opa,
      watch: true,
      debounceMs: 50,
    });
    t.after(() => engine.stop());
    const first = await engine.start();
    assert.equal(first.evaluate({}), true);

    const loaded = nextEvent(engine, 'loaded');
    await writeFile(
      join(dir, 'policy.rego'),
      'package envoy.authz\n\nimport rego.v1\n\ndefault allow := false\n',
    );
    await loaded;
    assert.equal(engine.current()?.evaluate({}), false);
    assert.notEqual(engine.current()?.revision, first.revision);

    const failed = nextEvent(engine, 'failed');
    await writeFile(join(dir, 'policy.rego'), 'package envoy.authz\n\nallow if {\n');
    const event = await failed;
    assert.ok(event.type === 'failed' && hasCode(event.error, 'ERR_POLICY_COMPILE'));
    assert.equal(engine.current()?.evaluate({}), false, 'the last good policy keeps serving');
  });
});
