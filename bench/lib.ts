/**
 * Building blocks of the benchmark (`bench/run.ts`): pinned processes, /proc sampling, the two
 * load generators (ghz for gRPC Checks, h2load for HTTP through Envoy) and latency statistics.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

/** The repository root (this file runs as dist/bench/lib.js). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The CPU the load generators run on, and the one the system under test runs on. */
export const LOAD_CPU = 0;
export const SERVER_CPU = 1;

/** A free TCP port on loopback (bound then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A child process pinned to one CPU with `taskset` (which execs, so the pid is the program's). */
export interface Pinned {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Whatever it printed so far (capped). */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});
// Interrupted (Ctrl-C, kill): exit through the handler above, so no system under test outlives it.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

export function spawnPinned(
  cpu: number,
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Pinned {
  const child = spawn('taskset', ['-c', String(cpu), command, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  live.add(child);
  let out = '';
  // Keep the head (start-up errors) and keep draining the pipes so the child never blocks.
  const collect = (chunk: Buffer): void => {
    if (out.length < 64_000) out += chunk.toString('utf8');
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      live.delete(child);
      resolve();
    }),
  );
  return {
    child,
    pid: child.pid,
    output: () => out,
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** CPU time (user + system, all threads) and resident memory of a process, from /proc. */
export interface ProcSample {
  readonly cpuMs: number;
  readonly rssMb: number;
}

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux x86-64

export function sampleProc(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name (which may contain spaces): utime is field 14.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return { cpuMs: (ticks * 1000) / CLK_TCK, rssMb: rssKb / 1024 };
}

/** Run a program to completion; resolves with its stdout, rejects on a non-zero exit. */
export async function run(
  command: string,
  args: readonly string[],
  options: { cpu?: number } = {},
): Promise<string> {
  const [cmd, argv] =
    options.cpu === undefined
      ? [command, args]
      : ['taskset', ['-c', String(options.cpu), command, ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => {
      if (err.length < 16_000) err += c.toString('utf8');
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      live.delete(child);
      const stdout = Buffer.concat(out).toString('utf8');
      if (code === 0) resolve(stdout);
      else
        reject(
          new Error(
            `${command} exited with ${String(code)}: ${err.trim() || stdout.slice(0, 2000)}`,
          ),
        );
    });
  });
}

/** Latency percentiles in milliseconds from a list of latencies in microseconds. */
export interface Latency {
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly p999_ms: number;
  readonly max_ms: number;
}

export function percentiles(latenciesUs: Float64Array): Latency {
  const sorted = latenciesUs.slice().sort();
  const at = (q: number): number => {
    if (sorted.length === 0) return NaN;
    const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
    return round((sorted[i] ?? NaN) / 1000);
  };
  return { p50_ms: at(0.5), p99_ms: at(0.99), p999_ms: at(0.999), max_ms: at(1) };
}

export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** One load run's outcome, as written to the results JSON. */
export interface LoadResult extends Latency {
  /** The fixed rate asked for; absent for a closed-loop run. */
  readonly target_rps?: number;
  readonly achieved_rps: number;
  readonly requests: number;
  readonly errors: number;
  /** Error messages and their counts (ghz); requests cut off when a timed run ends are not errors. */
  readonly error_kinds?: Record<string, number>;
  /** Requests still in flight when a timed ghz run ended (cancelled by ghz, not failed). */
  readonly cut_off_at_end?: number;
  /** Server CPU time (user + system) per 1,000 requests, from /proc/<pid>/stat. */
  readonly cpu_ms_per_1k?: number;
  /** Server resident memory after the run (VmRSS). */
  readonly rss_mb?: number;
  /** Whether this rate is past what the system sustains (see {@link isBroken}). */
  readonly broken?: boolean;
}

/**
 * A fixed rate is "broken" when the system no longer keeps up: under 90% of the asked rate
 * achieved, more than 1% errors, or p99 over 50 ms.
 */
export function isBroken(r: LoadResult): boolean {
  if (r.errors > 0.01 * Math.max(1, r.requests)) return true;
  if (r.target_rps !== undefined && r.achieved_rps < 0.9 * r.target_rps) return true;
  return !(r.p99_ms <= 50);
}

/** Options of one ghz run. */
export interface GhzOptions {
  readonly port: number;
  /** Protobuf-JSON CheckRequest file. */
  readonly dataFile: string;
  /** Fixed rate (open-ish loop, ghz `--rps`); absent for closed loop. */
  readonly rps?: number;
  /** Run for this many seconds (`-z`), or ... */
  readonly seconds?: number;
  /** ... this many requests (`-n`). */
  readonly requests?: number;
  /** Concurrent workers (default 50) over this many HTTP/2 connections (default 4). */
  readonly concurrency?: number;
  readonly connections?: number;
}

interface GhzReport {
  count: number;
  total: number;
  rps: number;
  details?: { latency: number; error?: string; status?: string }[] | null;
  statusCodeDistribution?: Record<string, number>;
}

const CUT_OFF = /client connection is closing|use of closed network connection|code = Canceled/;

/** Load a gRPC Check server with ghz from the load CPU and summarise every request's latency. */
export async function ghz(options: GhzOptions): Promise<LoadResult> {
  const args = [
    '--insecure',
    '--proto',
    'proto/envoy/service/auth/v3/external_auth.proto',
    '-i',
    'proto',
    '--call',
    'envoy.service.auth.v3.Authorization/Check',
    '-D',
    options.dataFile,
    '-c',
    String(options.concurrency ?? 50),
    '--connections',
    String(options.connections ?? 4),
    '-t',
    '5s',
    '--format',
    'json',
  ];
  if (options.rps !== undefined) args.push('--rps', String(options.rps));
  if (options.seconds !== undefined) args.push('-z', `${options.seconds}s`);
  else args.push('-n', String(options.requests ?? 1000));
  args.push(`127.0.0.1:${options.port}`);
  const report = JSON.parse(
    await run(join(ROOT, '.tools', 'bin', 'ghz'), args, { cpu: LOAD_CPU }),
  ) as GhzReport;
  const details = report.details ?? [];
  const latencies: number[] = [];
  const kinds: Record<string, number> = {};
  let errors = 0;
  let cutOff = 0;
  for (const d of details) {
    const failed =
      (d.error !== undefined && d.error !== '') || (d.status !== undefined && d.status !== 'OK');
    if (!failed) {
      latencies.push(d.latency / 1000); // ns → µs
      continue;
    }
    const message = (d.error ?? d.status ?? '').replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:*');
    // ghz -z cancels the requests in flight when the time is up; they never got an answer.
    if (options.seconds !== undefined && CUT_OFF.test(message)) {
      cutOff++;
      continue;
    }
    errors++;
    kinds[message] = (kinds[message] ?? 0) + 1;
  }
  const requests = details.length - cutOff;
  return {
    ...(options.rps === undefined ? {} : { target_rps: options.rps }),
    achieved_rps: Math.round(requests / (report.total / 1e9)),
    requests,
    errors,
    ...(errors > 0 ? { error_kinds: kinds } : {}),
    ...(cutOff > 0 ? { cut_off_at_end: cutOff } : {}),
    ...percentiles(Float64Array.from(latencies)),
  };
}

/** The benchmark's own gRPC load generator (bench/loadgen/main.go, built by bench/install-bench-tools.sh). */
export const LOADGEN_BIN =
  process.env['GATEHOUSE_BENCH_LOADGEN'] ?? join(ROOT, '.tools', 'bench', 'loadgen');

/** Options of one run of the load generator (requests that differ per call, pre-encoded). */
export interface LoadgenOptions {
  readonly port: number;
  /** File of back-to-back gRPC frames, sent round-robin. */
  readonly framesFile: string;
  readonly rps?: number;
  readonly seconds?: number;
  readonly requests?: number;
  readonly concurrency?: number;
  readonly connections?: number;
}

/** Load a gRPC Check server with the load generator from the load CPU. */
export async function loadgen(options: LoadgenOptions): Promise<LoadResult> {
  const args = [
    '-port',
    String(options.port),
    '-frames',
    options.framesFile,
    '-concurrency',
    String(options.concurrency ?? 50),
    '-connections',
    String(options.connections ?? 4),
  ];
  if (options.rps !== undefined) args.push('-rps', String(options.rps));
  if (options.seconds !== undefined) args.push('-seconds', String(options.seconds));
  if (options.requests !== undefined) args.push('-requests', String(options.requests));
  const result = JSON.parse(await run(LOADGEN_BIN, args, { cpu: LOAD_CPU })) as LoadResult;
  return result.target_rps === undefined ? result : { ...result, broken: isBroken(result) };
}

/** Options of one h2load run (HTTP/1.1 through Envoy). */
export interface H2loadOptions {
  readonly url: string;
  readonly headers: readonly string[];
  readonly rps: number;
  readonly seconds: number;
  readonly clients?: number;
  readonly logFile: string;
}

/** Load Envoy with h2load at a fixed rate from the load CPU; latencies from its per-request log. */
export async function h2load(options: H2loadOptions): Promise<LoadResult> {
  const clients = options.clients ?? 10;
  const args = [
    '--h1',
    '-c',
    String(clients),
    '--rps',
    String(options.rps / clients),
    '-D',
    String(options.seconds),
    '--warm-up-time',
    '1',
    '--log-file',
    options.logFile,
  ];
  for (const h of options.headers) args.push('-H', h);
  args.push(options.url);
  const summary = await run('h2load', args, { cpu: LOAD_CPU });
  const rows = readFileSync(options.logFile, 'utf8')
    .trim()
    .split('\n')
    .filter((l) => l !== '');
  const latencies = new Float64Array(rows.length);
  let errors = 0;
  rows.forEach((row, i) => {
    const [, status, duration] = row.split('\t').map(Number) as [number, number, number];
    latencies[i] = duration;
    if (status !== 200) errors++;
  });
  // h2load's own summary: the measured rate and the requests that got no response at all.
  const rate = Number(/finished in [\d.]+\w*, ([\d.]+) req\/s/.exec(summary)?.[1] ?? NaN);
  const failed = /(\d+) failed, (\d+) errored, (\d+) timeout/.exec(summary);
  const lost = failed === null ? 0 : Number(failed[2]) + Number(failed[3]);
  return {
    target_rps: options.rps,
    achieved_rps: Math.round(rate),
    requests: rows.length,
    errors: errors + lost,
    ...percentiles(latencies),
  };
}

/** Poll `probe` until it resolves true or `timeoutMs` passes. */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (err) {
      last = err;
    }
    await sleep(100);
  }
  throw new Error(
    `${what}: not ready after ${timeoutMs} ms${last instanceof Error ? ` (${last.message})` : ''}`,
  );
}
