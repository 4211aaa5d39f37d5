/**
 * `gatehouse devices list|approve|revoke` against a real Redis: the binary as operators run it.
 * A store client stands for a serving replica: it holds a pending device and sessions, one of
 * them bound to the device; its change feed sees the bound session's revocation.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { type TestContext, test } from 'node:test';
import { StoreDeviceRegistry } from '../../../src/device/webauthn/store-registry.js';
import type { DeviceRecord } from '../../../src/device/webauthn/types.js';
import { loadSessionSecret } from '../../../src/keys/session-secret.js';
import { RedisStore } from '../../../src/store/redis.js';
import { deriveStoreKeys } from '../../../src/store/seal.js';
import { repoPath } from '../../support/paths.js';
import { startRedis } from '../../support/redis.js';
import { policyDir, writeConfig } from '../ops/support.js';
import { record, within } from '../store/support.js';

const MAIN = repoPath('dist', 'src', 'cli', 'main.js');

function gatehouse(
  args: readonly string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, GATEHOUSE_CONFIG: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function logLines(stderr: string): Record<string, unknown>[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const DEVICE: DeviceRecord = {
  id: 'cred-ada-laptop',
  sub: 'ada',
  kind: 'platform',
  public_key: 'pQECAyYgASFYIA',
  counter: 3,
  transports: ['internal'],
  aaguid: '00000000-0000-0000-0000-000000000000',
  attestation_format: 'none',
  registered_at: 1_796_000_000,
  approval: 'pending',
};

async function setup(t: TestContext) {
  const redis = await startRedis(t);
  if (redis === undefined) return undefined;
  const secret = randomBytes(32).toString('base64url');
  const config = writeConfig({
    policy: { dir: policyDir() },
    session: { secret, store: { kind: 'redis', url: redis.url } },
  });
  const { key } = await loadSessionSecret({ value: secret, development: false });
  const replica = await RedisStore.open({
    url: redis.url,
    keys: deriveStoreKeys(key),
    commandTimeoutMs: 2000,
  });
  t.after(() => replica.close());
  const revoked = new Set<string>();
  replica.subscribe((change) => {
    if (change.kind === 'revoked') revoked.add(change.sid);
  });
  const registry = new StoreDeviceRegistry(replica);
  await registry.create(DEVICE);
  return { config, replica, registry, revoked };
}

test('gatehouse devices list shows devices, never a public key; --user filters', async (t) => {
  const s = await setup(t);
  if (s === undefined) return;
  await s.registry.create({ ...DEVICE, id: 'cred-bob-key', sub: 'bob', kind: 'cross-platform' });
  const all = await gatehouse(['devices', 'list', '--config', s.config, '--json']);
  assert.equal(all.code, 0, all.stderr);
  const rows = JSON.parse(all.stdout) as { id: string; approval: string }[];
  assert.deepEqual(rows.map((r) => r.id).sort(), ['cred-ada-laptop', 'cred-bob-key']);
  assert.doesNotMatch(all.stdout, /pQECAyYgASFYIA/);
  const ada = await gatehouse(['devices', 'list', '--config', s.config, '--user', 'ada']);
  assert.equal(ada.code, 0, ada.stderr);
  assert.match(ada.stdout, /cred-ada-laptop .*pending/);
  assert.doesNotMatch(ada.stdout, /cred-bob-key/);
  assert.match(ada.stdout, /1 device\n$/);
});

test('gatehouse devices approve: pending → approved, logged with who and why', async (t) => {
  const s = await setup(t);
  if (s === undefined) return;
  const run = await gatehouse([
    'devices',
    'approve',
    '--config',
    s.config,
    '--id',
    DEVICE.id,
    '--reason',
    'asset tag 4711 checked',
    '--by',
    'dana',
  ]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal((await s.registry.get(DEVICE.id))?.approval, 'approved');
  const [line] = logLines(run.stderr).filter((l) => l['msg'] === 'device approved');
  assert.equal(line?.['by'], 'dana');
  assert.equal(line?.['reason'], 'asset tag 4711 checked');
  assert.equal(line?.['id'], DEVICE.id);
  assert.equal(line?.['sub'], 'ada');
  const unknown = await gatehouse([
    'devices',
    'approve',
    '--config',
    s.config,
    '--id',
    'nope',
    '--reason',
    'x',
  ]);
  assert.equal(unknown.code, 1);
});

test('gatehouse devices revoke: the device and the sessions bound to it end on every replica; others stay', async (t) => {
  const s = await setup(t);
  if (s === undefined) return;
  await s.registry.approve(DEVICE.id);
  const bound = record('ada');
  const boundSession = {
    ...bound,
    data: { v: 1, session: { sub: 'ada', sid: bound.sid, device_id: DEVICE.id } },
  };
  const unbound = record('ada');
  assert.ok(await s.replica.create(boundSession));
  assert.ok(await s.replica.create(unbound));
  const run = await gatehouse([
    'devices',
    'revoke',
    '--config',
    s.config,
    '--id',
    DEVICE.id,
    '--reason',
    'laptop stolen',
    '--by',
    'dana',
  ]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal((await s.registry.get(DEVICE.id))?.approval, 'revoked');
  assert.equal(await s.replica.get(bound.sid), undefined);
  assert.ok(await s.replica.get(unbound.sid));
  assert.ok(await within(1000, () => s.revoked.has(bound.sid)), 'announced on the change feed');
  const [line] = logLines(run.stderr).filter((l) => l['msg'] === 'device revoked');
  assert.equal(line?.['by'], 'dana');
  assert.equal(line?.['reason'], 'laptop stolen');
  assert.equal(line?.['sessions'], 1);
  // Final: it cannot be approved again.
  const again = await gatehouse([
    'devices',
    'approve',
    '--config',
    s.config,
    '--id',
    DEVICE.id,
    '--reason',
    'found it',
  ]);
  assert.equal(again.code, 1);
  assert.equal((await s.registry.get(DEVICE.id))?.approval, 'revoked');
});

test('gatehouse devices: usage errors and a memory store are exit 2', async () => {
  const memory = writeConfig({ policy: { dir: policyDir() } });
  const list = await gatehouse(['devices', 'list', '--config', memory]);
  assert.equal(list.code, 2);
  assert.match(list.stderr, /memory/);
  assert.equal((await gatehouse(['devices', 'revoke', '--config', memory, '--id', 'x'])).code, 2);
  assert.equal((await gatehouse(['devices', 'frobnicate'])).code, 2);
});
