import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { PolicyEngine, type PolicyEvent } from '../../../src/policy/engine.js';
import { requireTool } from '../../support/tools.js';
import { buildBundle, fixture, regoDir } from './support.js';

// The policy watch against the ways deployments really change files (issue 13, point 6): a
// folder deleted and created again, and a Kubernetes ConfigMap volume's `..data` symlink swap.
// Each test waits for the engine's own `loaded` event, bounded by a deadline; no fixed sleeps.

const EP = 'envoy/authz/allow';
const allowing = (user: string): string =>
  `package envoy.authz\n\nimport rego.v1\n\nallow if input.user == "${user}"\n`;
/** Only a bound on waiting for what must happen (the poll is 2 s); never a measured time. */
const DEADLINE_MS = 20_000;

function nextLoaded(engine: PolicyEngine): Promise<PolicyEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no policy reload within ${DEADLINE_MS} ms`));
    }, DEADLINE_MS);
    const off = engine.on((event) => {
      if (event.type !== 'loaded') return;
      clearTimeout(timer);
      off();
      resolve(event);
    });
  });
}

/**
 * What the kubelet does to a ConfigMap volume (pkg/volume/util/atomic_writer.go): the files live
 * in a timestamped hidden folder, `..data` links to it, and each visible name links through
 * `..data`. An update writes a new folder, points `..data_tmp` at it, renames that over `..data`
 * and removes the old folder.
 */
class ConfigMapVolume {
  #generation = 0;
  #current: string | undefined;
  constructor(readonly root: string) {}

  async write(files: Record<string, Uint8Array | string>): Promise<void> {
    const folder = `..2030_01_01_00_00_0${this.#generation++}.${Math.random().toString(36).slice(2, 8)}`;
    await mkdir(join(this.root, folder));
    for (const [name, content] of Object.entries(files))
      await writeFile(join(this.root, folder, name), content);
    await symlink(folder, join(this.root, '..data_tmp'));
    await rename(join(this.root, '..data_tmp'), join(this.root, '..data'));
    for (const name of Object.keys(files))
      await symlink(join('..data', name), join(this.root, name)).catch(() => undefined);
    if (this.#current !== undefined)
      await rm(join(this.root, this.#current), { recursive: true, force: true });
    this.#current = folder;
  }
}

function watched(
  t: TestContext,
  options: ConstructorParameters<typeof PolicyEngine>[0],
): PolicyEngine {
  const engine = new PolicyEngine({ ...options, watch: true, debounceMs: 50 });
  t.after(() => engine.stop());
  return engine;
}

describe('policy watch', () => {
  test('a bundle in a ConfigMap volume: the ..data symlink swap reloads it', async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    const volume = new ConfigMapVolume(await mkdtemp(join(tmpdir(), 'gatehouse-cm-')));
    await volume.write({
      'bundle.tar.gz': await buildBundle(opa, await regoDir(allowing('alice')), [EP], 'cm1'),
    });
    const engine = watched(t, { bundle: join(volume.root, 'bundle.tar.gz'), entrypoint: EP });
    await engine.start();
    assert.equal(engine.current()?.revision, 'cm1');

    for (const revision of ['cm2', 'cm3']) {
      const loaded = nextLoaded(engine);
      await volume.write({
        'bundle.tar.gz': await buildBundle(opa, await regoDir(allowing(revision)), [EP], revision),
      });
      await loaded;
      assert.equal(engine.current()?.revision, revision, 'each swap is seen, not only the first');
    }
  });

  test('a Rego folder in a ConfigMap volume: the swap recompiles it, from the visible names only', async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    const volume = new ConfigMapVolume(await mkdtemp(join(tmpdir(), 'gatehouse-cm-rego-')));
    await volume.write({ 'policy.rego': allowing('alice') });
    const engine = watched(t, { dir: volume.root, entrypoint: EP, opaPath: opa });
    const first = await engine.start();
    assert.equal(first.evaluate({ user: 'alice' }), true);

    const loaded = nextLoaded(engine);
    await volume.write({ 'policy.rego': allowing('bob') });
    await loaded;
    assert.equal(engine.current()?.evaluate({ user: 'bob' }), true);
    assert.equal(
      engine.current()?.evaluate({ user: 'alice' }),
      undefined,
      'the old copy in the hidden folder is not compiled in',
    );
  });

  test('a Rego folder deleted and created again is watched again', async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    const parent = await mkdtemp(join(tmpdir(), 'gatehouse-recreate-'));
    const dir = join(parent, 'policies');
    await cp(fixture('allow-all'), dir, { recursive: true });
    const engine = watched(t, { dir, entrypoint: EP, opaPath: opa });
    await engine.start();
    assert.equal(engine.current()?.evaluate({}), true);

    await rm(dir, { recursive: true, force: true });
    const loaded = nextLoaded(engine);
    await mkdir(dir);
    await writeFile(
      join(dir, 'policy.rego'),
      'package envoy.authz\n\nimport rego.v1\n\ndefault allow := false\n',
    );
    await loaded;
    assert.equal(engine.current()?.evaluate({}), false);

    // And the new folder's own changes are seen too.
    const again = nextLoaded(engine);
    await writeFile(
      join(dir, 'policy.rego'),
      'package envoy.authz\n\nimport rego.v1\n\ndefault allow := true\n',
    );
    await again;
    assert.equal(engine.current()?.evaluate({}), true);
  });

  test('a bundle whose folder is deleted and created again is reloaded', async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    const parent = await mkdtemp(join(tmpdir(), 'gatehouse-recreate-bundle-'));
    const dir = join(parent, 'policy');
    await mkdir(dir);
    await writeFile(
      join(dir, 'bundle.tar.gz'),
      await buildBundle(opa, await regoDir(allowing('alice')), [EP], 'b1'),
    );
    const engine = watched(t, { bundle: join(dir, 'bundle.tar.gz'), entrypoint: EP });
    await engine.start();
    const bytes = await buildBundle(opa, await regoDir(allowing('bob')), [EP], 'b2');
    await rm(dir, { recursive: true, force: true });
    const loaded = nextLoaded(engine);
    await mkdir(dir);
    await writeFile(join(dir, 'bundle.tar.gz'), bytes);
    await loaded;
    assert.equal(engine.current()?.revision, 'b2');
  });
});
