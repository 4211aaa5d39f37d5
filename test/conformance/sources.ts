/**
 * Where the conformance test's cases come from, read unchanged from the reference build's own
 * source: the OPA-Envoy plugin's module (its `_test.go` files) and the OPA module it embeds (the
 * docs' Envoy and Istio tutorials), both as `scripts/lib/opa-envoy-plugin.sh` downloaded them
 * from the Go module proxy and recorded them in `.tools/bench/`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromJson, type JsonValue } from '@bufbuild/protobuf';
import { parse as parseYaml } from 'yaml';
import {
  CheckRequestSchema,
  type CheckRequest,
} from '../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import { repoPath } from '../support/paths.js';

/** The reference build: its binary and the source folders it was built from. */
export interface Reference {
  readonly bin: string;
  readonly version: string;
  /** The plugin module (github.com/open-policy-agent/opa-envoy-plugin@v<version>). */
  readonly pluginDir: string;
  /** The OPA module the plugin embeds (its docs hold the tutorials). */
  readonly opaDir: string;
}

/** The reference build as installed, or why it is not there. */
export function findReference(): Reference | string {
  const dir = repoPath('.tools', 'bench');
  const bin = join(dir, 'opa-envoy-plugin');
  const read = (name: string): string | undefined =>
    existsSync(join(dir, name)) ? readFileSync(join(dir, name), 'utf8').trim() : undefined;
  const version = read('opa-envoy-plugin.version');
  const pluginDir = read('opa-envoy-plugin.src');
  const opaDir = read('opa-envoy-plugin.opa-src');
  if (!existsSync(bin) || version === undefined) return `${bin} not built`;
  if (pluginDir === undefined || !existsSync(pluginDir))
    return 'the plugin module source is not recorded or gone';
  if (opaDir === undefined || !existsSync(opaDir))
    return 'the OPA module source is not recorded or gone';
  return { bin, version, pluginDir, opaDir };
}

/** A request fed to both systems. */
export interface RequestCase {
  /** Stable id: where it comes from (`internal/internal_test.go:40`). */
  readonly id: string;
  readonly request: CheckRequest;
}

/** A policy fed to both systems, unchanged. */
export interface PolicyCase {
  readonly id: string;
  readonly rego: string;
  /** Extra data documents (`data.json`), as both systems load them. */
  readonly data?: unknown;
  /** The rule whose value is the decision, e.g. `envoy/authz/result`. */
  readonly entrypoint: string;
  /** The requests to evaluate it with; default: every extracted request. */
  readonly requests?: readonly RequestCase[];
  /** Run it with `--v0-compatible` / `rego_version: v0`. */
  readonly regoV0?: boolean;
}

/** Every raw (backquoted) string literal of a Go file, with its line. */
function rawStrings(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  const re = /`([^`]*)`/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    out.push({ line: text.slice(0, m.index).split('\n').length, text: m[1] ?? '' });
  }
  return out;
}

/** Go's `util.Unmarshal` reads these as YAML (a JSON superset: trailing commas, tabs). */
function checkRequestFrom(text: string): CheckRequest | undefined {
  let value: unknown;
  try {
    value = parseYaml(text.replace(/\t/g, '  '));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || !('attributes' in value)) return undefined;
  // Go's encoding/json with the generated structs' tags: proto field names; unknown ones ignored.
  return fromJson(CheckRequestSchema, value as JsonValue, { ignoreUnknownFields: true });
}

/**
 * The CheckRequests of the plugin's own tests: every raw string literal of
 * `envoyauth/request_test.go` and `internal/internal_test.go` that is a CheckRequest, and every
 * path given to `createExtReqWithPath` (as that helper builds them).
 */
export function pluginRequests(ref: Reference): RequestCase[] {
  const out: RequestCase[] = [];
  for (const file of ['envoyauth/request_test.go', 'internal/internal_test.go']) {
    const text = readFileSync(join(ref.pluginDir, file), 'utf8');
    for (const raw of rawStrings(text)) {
      if (raw.text.includes('%s')) continue; // a fmt template, not a request
      const request = checkRequestFrom(raw.text);
      if (request !== undefined) out.push({ id: `${file}:${raw.line}`, request });
    }
    const re = /createExtReqWithPath\("((?:[^"\\]|\\.)*)"\)/g;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const path = JSON.parse(`"${m[1] ?? ''}"`) as string;
      const request = fromJson(CheckRequestSchema, { attributes: { request: { http: { path } } } });
      out.push({ id: `${file}:${text.slice(0, m.index).split('\n').length}`, request });
    }
  }
  return out;
}

/** The policy modules of the plugin's `internal/internal_test.go`, each with the rule its test queries. */
export function pluginPolicies(ref: Reference): PolicyCase[] {
  const file = 'internal/internal_test.go';
  const text = readFileSync(join(ref.pluginDir, file), 'utf8');
  const out: PolicyCase[] = [];
  for (const raw of rawStrings(text)) {
    const rego = raw.text.trim();
    const pkg = /^package\s+([\w.]+)/.exec(rego)?.[1];
    if (pkg === undefined) continue;
    // The plugin's tests query `result` where the module defines it, else `allow`
    // (testAuthzServerWithModule's path argument).
    const rule = /^\s*result\b/m.test(rego) ? 'result' : 'allow';
    out.push({ id: `${file}:${raw.line}`, rego, entrypoint: `${pkg.replace(/\./g, '/')}/${rule}` });
  }
  return out;
}

/** A fenced ```rego block of a docs page whose first lines match `marker`, dedented. */
function regoBlock(ref: Reference, page: string, marker: RegExp): PolicyCase & { rego: string } {
  const path = join(ref.opaDir, 'docs', 'docs', 'envoy', page);
  const text = readFileSync(path, 'utf8');
  const re = /^([ \t]*)```rego[^\n]*\n([\s\S]*?)^\1```/gm;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const indent = m[1] ?? '';
    const body = (m[2] ?? '')
      .split('\n')
      .map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l))
      .join('\n');
    if (!marker.test(m[0])) continue;
    const pkg = /^package\s+([\w.]+)/m.exec(body)?.[1] ?? '';
    return {
      id: `opa docs ${page}:${text.slice(0, m.index).split('\n').length}`,
      rego: body,
      entrypoint: `${pkg.replace(/\./g, '/')}/allow`,
    };
  }
  throw new Error(`${path}: no rego block matching ${String(marker)}`);
}

/** The policy of the OPA docs' standalone Envoy tutorial (JWT RBAC, `io.jwt.decode_verify`). */
export function envoyTutorialPolicy(ref: Reference): PolicyCase {
  return regoBlock(ref, 'tutorial-standalone-envoy.md', /# policy\.rego/);
}

/** The policy of the OPA docs' Istio tutorial (Basic auth RBAC). */
export function istioTutorialPolicy(ref: Reference): PolicyCase {
  return regoBlock(ref, 'tutorial-istio.md', /title="authz\.rego"/);
}

/** The tutorials' bearer tokens (HS256, secret "secret"), as the Envoy tutorial exports them. */
export function envoyTutorialTokens(ref: Reference): { alice: string; bob: string } {
  const text = readFileSync(
    join(ref.opaDir, 'docs', 'docs', 'envoy', 'tutorial-standalone-envoy.md'),
    'utf8',
  );
  const token = (name: string): string => {
    const value = new RegExp(`export ${name}_TOKEN="([^"]+)"`).exec(text)?.[1];
    if (value === undefined) throw new Error(`tutorial-standalone-envoy.md: no ${name}_TOKEN`);
    return value;
  };
  return { alice: token('ALICE'), bob: token('BOB') };
}

/**
 * The Rego v0 policy of the plugin's own `quick_start.yaml` (the `opa-policy` ConfigMap), run with
 * `--v0-compatible` by the plugin and `policy.rego_version: v0` by Gatehouse.
 */
export function quickStartPolicy(ref: Reference): PolicyCase {
  const file = 'quick_start.yaml';
  const text = readFileSync(join(ref.pluginDir, file), 'utf8');
  const m = /^( *)policy\.rego: \|\n((?:\1 +.*\n|\n)+)/m.exec(text);
  if (m === null) throw new Error(`${file}: no policy.rego`);
  const lines = (m[2] ?? '').split('\n');
  const indent = Math.min(
    ...lines.filter((l) => l.trim() !== '').map((l) => l.length - l.trimStart().length),
  );
  const rego = lines.map((l) => l.slice(indent)).join('\n');
  return {
    id: `${file}:${text.slice(0, m.index).split('\n').length}`,
    rego,
    entrypoint: 'envoy/authz/allow',
    regoV0: true,
  };
}
