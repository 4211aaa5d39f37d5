/**
 * `workers: 2`: a node:cluster primary and two workers sharing the gRPC port, as operators run
 * it (`gatehouse serve --config FILE`, a real process, real sockets, opa compiling the policy).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { requireTool } from '../../support/tools.js';
import {
  allowed,
  checkPids,
  connection,
  get,
  policy,
  startCluster,
  total,
  until,
  type ClusterProcess,
  type Connection,
} from './support.js';

const CONNECTIONS = 20;

async function checkOverFreshConnections(
  port: number,
  path: string,
  n = CONNECTIONS,
): Promise<boolean[]> {
  const results: boolean[] = [];
  // One at a time: round-robin deals connection k to worker k mod 2.
  for (let i = 0; i < n; i++) {
    const c = connection(port);
    try {
      results.push(allowed(await c.check(path)));
    } finally {
      c.close();
    }
  }
  return results;
}

test('workers: 2 — Checks from 20 connections reach both workers, /metrics sums them, SIGTERM drains and exits 0', {
  timeout: 60_000,
}, async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  const cluster = await startCluster(opa);
  t.after(() => cluster.kill());

  const ready = await get(cluster.httpPort, '/readyz');
  assert.equal(ready?.status, 200, ready?.text);
  assert.deepEqual(ready?.json['workers'], { total: 2, ready: 2 });

  const results = await checkOverFreshConnections(cluster.grpcPort, '/public/a');
  assert.deepEqual(results, Array(CONNECTIONS).fill(true));

  // Aggregated over the workers: exactly the Checks sent, and one revision serving (max, not sum).
  const metrics = await get(cluster.httpPort, '/metrics');
  assert.equal(metrics?.status, 200);
  assert.equal(
    total(metrics!.text, 'gatehouse_decisions_total'),
    CONNECTIONS,
    metrics!.text
      .split('\n')
      .filter((l) => l.startsWith('gatehouse_decisions'))
      .join('\n'),
  );
  assert.equal(total(metrics!.text, 'gatehouse_policy_revision_info'), 1);
  assert.equal(total(metrics!.text, 'gatehouse_check_duration_seconds_count'), CONNECTIONS);
  assert.match(metrics!.text, /gatehouse_cluster_workers\{state="ready"\} 2/);

  // Drain: an open connection keeps working until the signal; then everything exits 0.
  const open = connection(cluster.grpcPort);
  assert.equal(allowed(await open.check('/public/b')), true);
  open.close();
  cluster.child.kill('SIGTERM');
  assert.equal(await cluster.exited, 0, cluster.text());
  assert.equal(cluster.text(), '', 'every stdout line is whole JSON, no stderr');

  const workerStops = cluster.lines.filter((l) => l.msg === 'worker shutting down');
  assert.equal(workerStops.length, 2);
  assert.ok(cluster.lines.some((l) => l.msg === 'stopped' && l['role'] === 'primary'));
  // Decision lines carry the worker's pid: both workers answered.
  const pids = checkPids(cluster.lines);
  assert.equal(pids.length, CONNECTIONS + 1);
  assert.equal(new Set(pids).size, 2, `pids ${JSON.stringify(pids)}`);
  const primaryPid = cluster.child.pid;
  assert.ok(!pids.includes(primaryPid!), 'the primary answers no Check');
});

test('workers: 2 — /readyz is ready only when both workers are; a killed worker is replaced while the other serves', {
  timeout: 60_000,
}, async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  const cluster = await startCluster(opa, { wait: false });
  t.after(() => cluster.kill());

  // From the moment the primary listens: never ready before both workers reported ready.
  const seen: { status: number; ready: number }[] = [];
  await until(
    async () => {
      const r = await get(cluster.httpPort, '/readyz');
      if (r === undefined) return false;
      const workers = r.json['workers'] as { ready: number } | undefined;
      seen.push({ status: r.status, ready: workers?.ready ?? -1 });
      return r.status === 200;
    },
    20_000,
    'ready',
    () => cluster.child.exitCode !== null,
  );
  assert.ok(
    seen.every((s) => (s.status === 200) === (s.ready === 2)),
    JSON.stringify(seen),
  );
  assert.ok(
    seen.some((s) => s.status === 503),
    `the primary listened before the workers were ready: ${JSON.stringify(seen.slice(0, 5))}`,
  );

  await until(
    () => cluster.lines.filter((l) => l.msg === 'worker started').length === 2,
    5_000,
    'worker started lines',
  );
  const [victim, survivor] = cluster.lines
    .filter((l) => l.msg === 'worker started')
    .map((l) => l['worker_pid'] as number);
  process.kill(victim!, 'SIGKILL');
  await until(
    () =>
      cluster.lines.some(
        (l) => l.msg === 'worker died unexpectedly; restarting it (the other workers keep serving)',
      ),
    5_000,
    'the death to be logged',
  );
  const diedAt = cluster.lines.findIndex((l) => l.msg?.startsWith('worker died') === true);
  const died = cluster.lines[diedAt]!;
  assert.equal(died['worker_pid'], victim);
  assert.equal(died['signal'], 'SIGKILL');

  // While it is down (or starting again) the survivor answers every Check.
  const during = await checkOverFreshConnections(cluster.grpcPort, '/public/x', 6);
  assert.deepEqual(during, Array(6).fill(true));

  // Replaced: a new pid starts, readiness comes back with two workers, both answer again.
  await until(
    async () => (await get(cluster.httpPort, '/readyz'))?.status === 200,
    20_000,
    'ready again',
  );
  await until(
    () => cluster.lines.slice(diedAt).some((l) => l.msg === 'worker started'),
    5_000,
    'the replacement logged (flushed within 1 s)',
  );
  const restarted = cluster.lines.slice(diedAt).find((l) => l.msg === 'worker started');
  assert.ok(restarted !== undefined, 'a replacement worker started');
  const replacement = restarted['worker_pid'] as number;
  assert.ok(replacement !== victim && replacement !== survivor);
  const metrics = await get(cluster.httpPort, '/metrics');
  assert.equal(total(metrics!.text, 'gatehouse_cluster_worker_restarts_total'), 1);

  const afterMark = cluster.lines.length;
  const after = await checkOverFreshConnections(cluster.grpcPort, '/public/y', 10);
  assert.deepEqual(after, Array(10).fill(true));
  await until(
    () => checkPids(cluster.lines, afterMark).length === 10,
    5_000,
    'decision lines (flushed within 1 s)',
  );
  assert.deepEqual(new Set(checkPids(cluster.lines, afterMark)), new Set([survivor, replacement]));

  cluster.child.kill('SIGTERM');
  assert.equal(await cluster.exited, 0, cluster.text());
});

test('workers: 2 — SIGHUP to the primary reloads the policy in every worker', {
  timeout: 60_000,
}, async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  const cluster: ClusterProcess = await startCluster(opa);
  t.after(() => cluster.kill());

  // Connections opened before the reload, spread over both workers, and kept.
  const kept: Connection[] = [];
  t.after(() => {
    for (const c of kept) c.close();
  });
  for (let i = 0; i < 10; i++) {
    const c = connection(cluster.grpcPort);
    assert.equal(allowed(await c.check('/public/a')), true);
    assert.equal(allowed(await c.check('/open/a')), false);
    kept.push(c);
  }

  writeFileSync(join(cluster.policyDir, 'authz.rego'), policy('open'));
  cluster.child.kill('SIGHUP');
  await until(
    () => cluster.lines.filter((l) => l.msg === 'reloaded' && l['policy_ok'] === true).length === 2,
    20_000,
    'both workers to log the reload',
  );
  const revisions = new Set(
    cluster.lines.filter((l) => l.msg === 'reloaded').map((l) => l['policy_revision']),
  );
  assert.equal(revisions.size, 1, 'both workers serve the same new revision');

  for (const c of kept) {
    assert.equal(allowed(await c.check('/open/a')), true);
    assert.equal(allowed(await c.check('/public/a')), false);
  }
  const fresh = await checkOverFreshConnections(cluster.grpcPort, '/open/b', 10);
  assert.deepEqual(fresh, Array(10).fill(true));

  const metrics = await get(cluster.httpPort, '/metrics');
  assert.equal(
    total(metrics!.text, 'gatehouse_policy_revision_info'),
    1,
    'one revision across the workers',
  );

  cluster.child.kill('SIGTERM');
  assert.equal(await cluster.exited, 0, cluster.text());
});

test('workers: 2 — a broken policy on SIGHUP is refused by every worker; the last good one keeps serving', {
  timeout: 60_000,
}, async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  const cluster = await startCluster(opa);
  t.after(() => cluster.kill());
  writeFileSync(join(cluster.policyDir, 'authz.rego'), 'package envoy.authz\nthis is not rego\n');
  cluster.child.kill('SIGHUP');
  await until(
    () =>
      cluster.lines.filter((l) => l.msg === 'reloaded' && l['policy_ok'] === false).length === 2,
    20_000,
    'both workers to refuse the reload',
  );
  const results = await checkOverFreshConnections(cluster.grpcPort, '/public/a', 6);
  assert.deepEqual(results, Array(6).fill(true));
  assert.equal((await get(cluster.httpPort, '/readyz'))?.status, 200);
  cluster.child.kill('SIGTERM');
  assert.equal(await cluster.exited, 0, cluster.text());
});

test('workers: 2 — a policy that does not compile at start fails the start: non-zero exit, no restart loop', {
  timeout: 60_000,
}, async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  const cluster = await startCluster(opa, {
    wait: false,
    source: 'package envoy.authz\nthis is not rego\n',
  });
  t.after(() => cluster.kill());
  const code = await cluster.exited;
  assert.equal(code, 1, cluster.text());
  assert.match(cluster.text(), /policy\.dir/);
  assert.ok(cluster.lines.some((l) => l.msg === 'cluster start failed'));
  assert.ok(!cluster.lines.some((l) => l.msg?.startsWith('worker died') === true), 'not restarted');
});
