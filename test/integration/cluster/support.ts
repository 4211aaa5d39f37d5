/**
 * Helpers for the cluster tests: `gatehouse serve` with `workers: 2` as a real child process
 * (its stdout parsed as JSON lines), and gRPC clients that each open their own connection.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { create } from '@bufbuild/protobuf';
import { stringify } from 'yaml';
import {
  CheckRequestSchema,
  type CheckResponse,
} from '../../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import { AUTHORIZATION } from '../../support/grpc-definitions.js';
import { httpRequest } from '../../support/grpc-client.js';
import { repoPath } from '../../support/paths.js';
import { freePort } from '../../support/ports.js';

const MAIN = repoPath('dist', 'src', 'cli', 'main.js');

/** Allows GET /<open>/…, denies the rest. */
export function policy(open: string): string {
  return `package envoy.authz

import rego.v1

default allow := {"allowed": false, "reasons": ["closed"]}

allow := {"allowed": true, "reasons": ["open path"]} if input.parsed_path[0] == "${open}"
`;
}

export type LogLine = Record<string, unknown> & { msg?: string; pid?: number };

/** A running `gatehouse serve` cluster. */
export interface ClusterProcess {
  readonly child: ChildProcess;
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly policyDir: string;
  /** Every JSON line printed so far, from the primary and the workers. */
  readonly lines: LogLine[];
  /** Non-JSON output (stderr, start errors). */
  readonly text: () => string;
  /** Resolves with the exit code (or the signal's name). */
  readonly exited: Promise<number | string>;
  /** SIGKILL if still running (test clean-up). */
  kill(): void;
}

/**
 * Spawn `gatehouse serve --config FILE` with `workers` (default 2) on free loopback ports,
 * compiling `source` (default `policy('public')`) from a fresh folder with `opa`, with `config` keys
 * added, and wait until the primary logs
 * `gatehouse cluster serving` (unless `wait` is false).
 */
export async function startCluster(
  opa: string,
  options: {
    workers?: number;
    wait?: boolean;
    source?: string;
    config?: Record<string, unknown>;
  } = {},
): Promise<ClusterProcess> {
  const policyDir = mkdtempSync(join(tmpdir(), 'gatehouse-cluster-policy-'));
  writeFileSync(join(policyDir, 'authz.rego'), options.source ?? policy('public'));
  const grpcPort = await freePort();
  const httpPort = await freePort();
  const configFile = join(mkdtempSync(join(tmpdir(), 'gatehouse-cluster-config-')), 'config.yaml');
  writeFileSync(
    configFile,
    stringify({
      workers: options.workers ?? 2,
      grpc: { address: '127.0.0.1', port: grpcPort, drain_delay_ms: 0, shutdown_grace_ms: 2000 },
      http: { address: '127.0.0.1', port: httpPort },
      policy: { dir: policyDir, opa, watch: false },
      log: { level: 'info' },
      ...options.config,
    }),
  );
  const child = spawn(process.execPath, [MAIN, 'serve', '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GATEHOUSE_CONFIG: '' },
  });
  const lines: LogLine[] = [];
  let other = '';
  let pending = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    for (const line of parts) {
      if (line.trim() === '') continue;
      try {
        lines.push(JSON.parse(line) as LogLine);
      } catch {
        other += `${line}\n`; // an interleaved or broken line would land here (and fail the tests)
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (other += chunk.toString('utf8')));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  const cluster: ClusterProcess = {
    child,
    grpcPort,
    httpPort,
    policyDir,
    lines,
    text: () => other,
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
  if (options.wait !== false)
    await until(
      () => lines.some((l) => l.msg === 'gatehouse cluster serving'),
      20_000,
      `the cluster to serve\n${other}`,
      () => child.exitCode !== null,
    );
  return cluster;
}

/** A gRPC client with a connection of its own (no subchannel shared with other clients). */
export interface Connection {
  check(path: string): Promise<CheckResponse>;
  close(): void;
}

const AuthorizationClient = grpc.makeGenericClientConstructor(AUTHORIZATION, 'Authorization');

export function connection(port: number): Connection {
  const client = new AuthorizationClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
  });
  return {
    check: (path) =>
      new Promise((resolve, reject) => {
        (
          client as unknown as {
            Check(m: unknown, cb: (e: grpc.ServiceError | null, r: CheckResponse) => void): void;
          }
        ).Check(create(CheckRequestSchema, httpRequest({ path })), (err, res) =>
          err ? reject(err) : resolve(res),
        );
      }),
    close: () => client.close(),
  };
}

/** Allowed, as Envoy reads a CheckResponse. */
export function allowed(response: CheckResponse): boolean {
  return (response.status?.code ?? 0) === 0 && response.httpResponse.case !== 'deniedResponse';
}

/** GET a path on the primary's HTTP listener (undefined while nothing listens). */
export async function get(
  port: number,
  path: string,
): Promise<{ status: number; json: Record<string, unknown>; text: string } | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // /metrics is text
    }
    return { status: res.status, json, text };
  } catch {
    return undefined;
  }
}

/** Sum of every sample of `name` in Prometheus text, whatever the labels. */
export function total(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{.*\})? (\S+)$/.exec(line);
    if (m !== null && m[1] === name) sum += Number(m[2]);
  }
  return sum;
}

/** Poll `fn` until true; fail after `ms` (or at once when `abort` turns true). */
export async function until(
  fn: () => boolean | Promise<boolean>,
  ms = 15_000,
  what = 'condition',
  abort: () => boolean = () => false,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (abort()) throw new Error(`gave up waiting for ${what}: the process exited`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The pids of the decision-log lines (`msg: "check"`) from index `from` on. */
export function checkPids(lines: readonly LogLine[], from = 0): number[] {
  return lines
    .slice(from)
    .filter((l) => l.msg === 'check')
    .map((l) => l.pid as number);
}
