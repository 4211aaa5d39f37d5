/**
 * `gatehouse sessions list|revoke` against a real Redis: the binary as operators run it, with the
 * configured store and secret. Sessions are created by a store client that stands for a serving
 * replica; that client's change feed sees each revocation.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { type TestContext, test } from 'node:test';
import { loadSessionSecret } from '../../../src/keys/session-secret.js';
import { RedisStore } from '../../../src/store/redis.js';
import { deriveStoreKeys } from '../../../src/store/seal.js';
import { repoPath } from '../../support/paths.js';
import { startRedis } from '../../support/redis.js';
import { policyDir, writeConfig } from '../ops/support.js';
import { record, within } from './support.js';

const MAIN = repoPath('dist', 'src', 'cli', 'main.js');

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function gatehouse(args: readonly string[]): Promise<Run> {
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

/** A config naming the store and the secret; a replica's store client on the same Redis. */
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
  return { config, replica, revoked };
}

/** The JSON log lines the command wrote on stderr. */
function logLines(stderr: string): Record<string, unknown>[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

test('gatehouse sessions list shows a created session, never its data; --user filters', async (t) => {
  const s = await setup(t);
  if (s === undefined) return;
  const alice = record('alice');
  const bob = record('bob');
  assert.ok(await s.replica.create(alice));
  assert.ok(await s.replica.create(bob));

  const all = await gatehouse(['sessions', 'list', '--config', s.config, '--json']);
  assert.equal(all.code, 0, all.stderr);
  const rows = JSON.parse(all.stdout) as { sid: string; sub: string }[];
  assert.deepEqual(rows.map((r) => r.sid).sort(), [alice.sid, bob.sid].sort());
  assert.doesNotMatch(all.stdout, /rt-|example\.com/, 'tokens and claims are never printed');

  const mine = await gatehouse(['sessions', 'list', '--config', s.config, '--user', 'alice']);
  assert.equal(mine.code, 0, mine.stderr);
  assert.match(mine.stdout, new RegExp(alice.sid));
  assert.doesNotMatch(mine.stdout, new RegExp(bob.sid));
  assert.match(mine.stdout, /1 session\n$/);
});

test('gatehouse sessions revoke --sid: gone from the store, another client sees it within 1 s, logged with who and why', async (t) => {
  const s = await setup(t);
  if (s === undefined) return;
  const one = record('carol');
  const other = record('carol');
  await s.replica.create(one);
  await s.replica.create(other);

  const run = await gatehouse([
    'sessions',
    'revoke',
    '--config',
    s.config,
    '--sid',
    one.sid,
    '--reason',
    'cookie leaked in a ticket',
    '--by',
    'oncall-dana',
  ]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /Revoked 1 session/);
  assert.ok(await within(1000, () => s.revoked.has(one.sid)), 'change feed within 1 s');
  assert.equal(await s.replica.get(one.sid), undefined);
  assert.notEqual(await s.replica.get(other.sid), undefined, 'only that session');
  const [line] = logLines(run.stderr).filter((l) => l['msg'] === 'sessions revoked');
  assert.equal(line?.['by'], 'oncall-dana');
  assert.equal(line?.['reason'], 'cookie leaked in a ticket');
  assert.equal(line?.['sid'], one.sid);
  assert.equal(line?.['count'], 1);

  const again = await gatehouse([
    'sessions',
    'revoke',
    '--config',
    s.config,
    '--sid',
    one.sid,
    '--reason',
    'twice',
  ]);
  assert.equal(again.code, 1, 'nothing matched');
  assert.match(again.stdout, /nothing was revoked/);
});

test('gatehouse sessions revoke --user: every session of the user, each seen revoked by another client within 1 s', async (t) => {
  const s = await setup(t);
  if (s === undefined) return;
  const mine = [record('erin'), record('erin'), record('erin')];
  const theirs = record('frank');
  for (const r of [...mine, theirs]) await s.replica.create(r);

  const run = await gatehouse([
    'sessions',
    'revoke',
    '--config',
    s.config,
    '--user',
    'erin',
    '--reason',
    'left the company',
  ]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /Revoked 3 sessions/);
  assert.ok(
    await within(1000, () => mine.every((r) => s.revoked.has(r.sid))),
    'change feed within 1 s',
  );
  for (const r of mine) assert.equal(await s.replica.get(r.sid), undefined);
  assert.notEqual(await s.replica.get(theirs.sid), undefined);
  const [line] = logLines(run.stderr).filter((l) => l['msg'] === 'sessions revoked');
  assert.equal(line?.['sub'], 'erin');
  assert.equal(line?.['count'], 3);
  assert.equal(line?.['reason'], 'left the company');
  assert.equal(typeof line?.['by'], 'string', 'the OS user when --by is not given');
});

test('gatehouse sessions: refuses the memory store (it lives in the serving process) and bad usage, exit 2', async () => {
  const config = writeConfig({
    policy: { dir: policyDir() },
    session: { secret: randomBytes(32).toString('base64url') },
  });
  const memory = await gatehouse(['sessions', 'list', '--config', config]);
  assert.equal(memory.code, 2);
  assert.match(memory.stderr, /session\.store\.kind is memory/);

  const both = await gatehouse([
    'sessions',
    'revoke',
    '--config',
    config,
    '--sid',
    'a',
    '--user',
    'b',
    '--reason',
    'x',
  ]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /exactly one of --sid ID or --user SUB/);
  const noReason = await gatehouse(['sessions', 'revoke', '--config', config, '--sid', 'a']);
  assert.equal(noReason.code, 2);
  assert.match(noReason.stderr, /--reason TEXT is required/);
});
