/** Helpers for the operations tests: a small policy, an in-process Gatehouse, metrics reading. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadConfig } from '../../../src/config/load.js';
import { createLogger } from '../../../src/log/logger.js';
import { startGatehouse, type Gatehouse } from '../../../src/server/start.js';
import { LogSink } from '../../support/gatehouse.js';

/** Allows /public/…, denies everything else with a reason. */
export const POLICY = `package envoy.authz

import rego.v1

default allow := {"allowed": false, "reasons": ["not public"]}

allow := {"allowed": true, "reasons": ["public path"]} if input.parsed_path[0] == "public"

alternative := true
`;

/** A fresh folder holding `authz.rego` with `source`. */
export function policyDir(source = POLICY): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-ops-policy-'));
  writeFileSync(join(dir, 'authz.rego'), source);
  return dir;
}

/** A config document for loopback, free ports, `policy` compiled from `dir` with `opa`. */
export function configDoc(
  dir: string,
  opa: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    grpc: { address: '127.0.0.1', port: 0, drain_delay_ms: 0, shutdown_grace_ms: 1000 },
    http: { address: '127.0.0.1', port: 0 },
    policy: { dir, opa, watch: false },
    log: { level: 'info' },
    ...overrides,
  };
}

/** Write `doc` as YAML to a fresh file. */
export function writeConfig(doc: Record<string, unknown>, file?: string): string {
  const path = file ?? join(mkdtempSync(join(tmpdir(), 'gatehouse-ops-config-')), 'config.yaml');
  writeFileSync(path, stringify(doc));
  return path;
}

/** Start Gatehouse in this process from a config file (so reload re-reads it); logs go to a sink. */
export async function startFromFile(
  configFile: string,
): Promise<{ gatehouse: Gatehouse; logs: LogSink }> {
  const config = await loadConfig(configFile);
  const logs = new LogSink();
  const gatehouse = await startGatehouse(
    config,
    createLogger({ level: config.log.level, destination: logs }),
    { configFile },
  );
  return { gatehouse, logs };
}

/** GET a path on the HTTP listener. */
export async function get(
  port: number,
  path: string,
): Promise<{ status: number; text: string; type: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return {
    status: res.status,
    text: await res.text(),
    type: res.headers.get('content-type') ?? '',
  };
}

/** The value of one sample in Prometheus text (labels must match exactly, in any order). */
export function sample(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const pair of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      got[pair[1]!] = pair[2]!;
    const want = Object.entries(labels);
    if (want.length === Object.keys(got).length && want.every(([k, v]) => got[k] === v))
      return Number(m[3]);
  }
  return undefined;
}

/** Poll `fn` until it returns true (or fail after `ms`). */
export async function until(
  fn: () => boolean | Promise<boolean>,
  ms = 15_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
