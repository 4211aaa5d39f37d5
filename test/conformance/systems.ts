/**
 * The two systems the conformance test compares, each serving one policy on loopback: the
 * OPA-Envoy plugin (`opa-envoy-plugin run --server`, a process) and Gatehouse (in this process,
 * compiling the same policy folder with the pinned `opa`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestGatehouse } from '../support/gatehouse.js';
import { freePort } from '../support/ports.js';
import type { PolicyCase, Reference } from './sources.js';

/** A system serving one policy. */
export interface Served {
  /** The gRPC port of its ext_authz Check service on 127.0.0.1. */
  readonly port: number;
  stop(): Promise<void>;
}

/** Why a system refused the policy (it then serves nothing). */
export interface Refused {
  readonly refused: string;
}

/** A folder holding the policy (`policy.rego`) and its data (`data.json`), unchanged. */
export function policyFolder(policy: PolicyCase): { dir: string; files: string[]; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-conformance-'));
  const files = [join(dir, 'policy.rego')];
  writeFileSync(files[0] as string, policy.rego);
  if (policy.data !== undefined) {
    files.push(join(dir, 'data.json'));
    writeFileSync(files[1] as string, JSON.stringify(policy.data));
  }
  return { dir, files, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * The plugin as its docs run it, on loopback, without telemetry or decision logs on the console.
 * A port taken between {@link freePort} and the plugin's bind (other servers start meanwhile) is
 * retried on new ports, up to three times: that is the test's race, not the plugin's answer.
 */
export async function startPlugin(
  ref: Reference,
  policy: PolicyCase,
  files: readonly string[],
): Promise<Served | Refused> {
  for (let attempt = 1; ; attempt++) {
    const started = await startPluginOnce(ref, policy, files);
    if (!('portTaken' in started)) return started;
    if (attempt === 3)
      throw new Error(`opa-envoy-plugin: its ports were taken three times: ${started.portTaken}`);
  }
}

async function startPluginOnce(
  ref: Reference,
  policy: PolicyCase,
  files: readonly string[],
): Promise<Served | Refused | { portTaken: string }> {
  const port = await freePort();
  const httpPort = await freePort();
  const child = spawn(
    ref.bin,
    [
      'run',
      '--server',
      '--disable-telemetry',
      '--addr',
      `127.0.0.1:${httpPort}`,
      '--log-level',
      'error',
      ...(policy.regoV0 === true ? ['--v0-compatible'] : []),
      '--set',
      `plugins.envoy_ext_authz_grpc.addr=127.0.0.1:${port}`,
      '--set',
      `plugins.envoy_ext_authz_grpc.path=${policy.entrypoint}`,
      '--set',
      'decision_logs.console=false',
      ...files,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, GOMAXPROCS: '1' } },
  );
  live.add(child);
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    if (stderr.length < 100_000) stderr += c.toString('utf8');
  });
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      live.delete(child);
      resolve();
    }),
  );
  const stop = async (): Promise<void> => {
    if (!exited) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exit;
      clearTimeout(killer);
    }
  };
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (/address already in use/i.test(stderr)) {
      await stop();
      return { portTaken: stderr.trim() };
    }
    if (exited) return { refused: stderr.trim() || 'exited' };
    // Healthy once every plugin (the ext_authz gRPC server included) reports OK.
    const ok = await fetch(`http://127.0.0.1:${httpPort}/health?plugins`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { port, stop };
    await sleep(50);
  }
  await stop();
  throw new Error(`opa-envoy-plugin not healthy in 20 s: ${stderr}`);
}

/** Gatehouse without an identity provider (a plain OPA-Envoy-compatible authorizer). */
export async function startGatehouseFor(
  opa: string,
  policy: PolicyCase,
  dir: string,
): Promise<Served | Refused> {
  try {
    const { gatehouse } = await startTestGatehouse(
      {
        dir,
        entrypoint: policy.entrypoint,
        opa,
        watch: false,
        ...(policy.regoV0 === true ? { rego_version: 'v0' } : {}),
      },
      { log: { level: 'fatal' } },
    );
    if (!gatehouse.readiness().ready) {
      await gatehouse.stop();
      return { refused: 'not ready (policy not loaded)' };
    }
    return { port: gatehouse.grpcPort, stop: () => gatehouse.stop() };
  } catch (err) {
    return { refused: err instanceof Error ? err.message : String(err) };
  }
}
