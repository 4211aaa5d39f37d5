import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { repoPath } from './paths.js';
import { freePort } from './ports.js';

/** One `gatehouse serve` process on fixed loopback ports (so it can be restarted on them). */
export interface Replica {
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly configFile: string;
  /** The running process, if any. */
  process(): ChildProcess | undefined;
  /** Start (or restart) it and wait until `/readyz` answers 200. */
  start(): Promise<void>;
  /** Send a signal; resolves once the process has exited. */
  signal(signal: NodeJS.Signals): Promise<void>;
  output(): string;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * A Gatehouse replica as its own process (`node dist/src/cli/main.js serve`), so it can really be
 * SIGKILLed. `config` is merged over loopback listeners on free ports.
 */
export async function createReplica(config: Record<string, unknown>): Promise<Replica> {
  const grpcPort = await freePort();
  const httpPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-replica-'));
  const configFile = join(dir, 'config.yaml');
  const grpc = (config['grpc'] ?? {}) as Record<string, unknown>;
  writeFileSync(
    configFile,
    stringify({
      log: { level: 'warn' },
      ...config,
      grpc: { address: '127.0.0.1', ...grpc, port: grpcPort },
      http: { address: '127.0.0.1', port: httpPort },
    }),
  );
  let child: ChildProcess | undefined;
  let out = '';
  return {
    grpcPort,
    httpPort,
    configFile,
    process: () => child,
    output: () => out,
    async start() {
      const started = spawn(
        process.execPath,
        [repoPath('dist', 'src', 'cli', 'main.js'), 'serve', '--config', configFile],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child = started;
      live.add(started);
      started.once('exit', () => live.delete(started));
      started.stdout?.on('data', (c: Buffer) => (out = (out + c.toString('utf8')).slice(-20_000)));
      started.stderr?.on('data', (c: Buffer) => (out = (out + c.toString('utf8')).slice(-20_000)));
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        if (started.exitCode !== null || started.signalCode !== null)
          throw new Error(`replica exited before ready:\n${out}`);
        const status = await fetch(`http://127.0.0.1:${httpPort}/readyz`).then(
          (r) => r.status,
          () => 0,
        );
        if (status === 200) return;
        await sleep(50);
      }
      throw new Error(`replica not ready:\n${out}`);
    },
    async signal(signal) {
      const running = child;
      if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
      running.kill(signal);
      await exited;
    },
  };
}

/** What a bounded load loop saw. */
export interface LoadReport {
  ok: number;
  failed: number;
  /** Failures by status (0: the request itself failed). */
  readonly statuses: Map<number, number>;
}

/** A steady, bounded load through Envoy: `concurrency` loops, each one request at a time. */
export interface Load {
  readonly report: LoadReport;
  /** Resolves once at least `count` more requests have been answered OK (or `deadlineMs` passed). */
  okAtLeast(count: number, deadlineMs?: number): Promise<void>;
  /** Stop the loops and wait for the requests in flight. */
  stop(): Promise<LoadReport>;
}

/**
 * Start `concurrency` request loops against `url` (each request a fresh path), bounded by
 * `maxRequests` in total. Every answer other than 200 is a failure.
 */
export function startLoad(url: string, concurrency: number, maxRequests = 200_000): Load {
  const report: LoadReport = { ok: 0, failed: 0, statuses: new Map() };
  let stopping = false;
  let sent = 0;
  const loop = async (): Promise<void> => {
    while (!stopping && sent < maxRequests) {
      const n = sent++;
      let status = 0;
      try {
        const res = await fetch(`${url}/load/${n}`);
        await res.arrayBuffer();
        status = res.status;
      } catch {
        status = 0;
      }
      if (status === 200) report.ok++;
      else {
        report.failed++;
        report.statuses.set(status, (report.statuses.get(status) ?? 0) + 1);
      }
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  return {
    report,
    async okAtLeast(count, deadlineMs = 30_000) {
      const target = report.ok + count;
      const deadline = Date.now() + deadlineMs;
      while (report.ok < target && Date.now() < deadline && sent < maxRequests) await sleep(20);
      if (report.ok < target)
        throw new Error(
          `load stalled: ${report.ok} OK of ${target} wanted, ${report.failed} failed`,
        );
    },
    async stop() {
      stopping = true;
      await Promise.all(loops);
      return report;
    },
  };
}
