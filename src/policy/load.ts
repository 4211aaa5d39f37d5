/**
 * Loading a policy: an OPA wasm bundle, or a Rego directory compiled with `opa build`, into
 * an evaluator bound to one entrypoint.
 *
 * Everything that can be checked is checked here, at start or reload, so the Check path never
 * meets it: the entrypoint must exist in the module, and every builtin the module imports must
 * be answerable by the host (SDK or Gatehouse). Evaluation itself is synchronous.
 *
 * A Rego directory is also analysed for the parts of `input` its modules can read
 * (src/policy/input-paths.ts, on OPA's own ASTs), and only those are handed to the module
 * (src/policy/input-projection.ts): serialising the input and parsing it again inside the module
 * was a third of a Check's CPU (docs/performance.md, "Ninth round"). Any doubt — a bundle (whose
 * Rego sources lack the rules compiled to wasm), a file read that is not the one compiled, a
 * module OPA cannot parse, a use of `input` the analysis does not narrow — hands over the whole
 * input, as before.
 */
import { createHash } from 'node:crypto';
import { posix, sep } from 'node:path';
import { instantiatePolicy, type SdkPolicy } from '../deps/opa-wasm.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { readBundle, readBundleFile, type PolicyBundle } from './bundle.js';
import { createBuiltins, EvalContext, HOST_BUILTINS, type NanoClock } from './builtins/index.js';
import { compileRegoDir, type RegoVersion } from './compile.js';
import { inputPathsOf, type InputPaths } from './input-paths.js';
import { inputProjector } from './input-projection.js';
import {
  MAX_ANALYSED_MODULES,
  parseRegoModules,
  readRegoSources,
  type RegoSource,
} from './rego-ast.js';

/** Builtins that would need the network in the middle of a synchronous evaluation. */
const NETWORK_BUILTINS: ReadonlySet<string> = new Set(['http.send', 'net.lookup_ip_addr']);

/** The default entrypoint, as in the OPA-Envoy plugin. */
export const DEFAULT_ENTRYPOINT = 'envoy/authz/allow';

/** Where a policy came from. */
export type PolicySource =
  | { readonly kind: 'bundle'; readonly path: string }
  | { readonly kind: 'dir'; readonly path: string }
  | { readonly kind: 'memory' };

/** A policy ready to evaluate. Immutable; a reload produces a new one. */
export interface LoadedPolicy {
  /** The manifest revision, or `sha256:<hex>` of the wasm module and data when the bundle sets none. */
  readonly revision: string;
  /** The slash-separated entrypoint evaluated, e.g. `envoy/authz/allow`. */
  readonly entrypoint: string;
  /** Every entrypoint the module exports. */
  readonly entrypoints: readonly string[];
  /** Host builtins the module imports, sorted. */
  readonly builtinsRequired: readonly string[];
  /** Where it was loaded from. */
  readonly source: PolicySource;
  /**
   * The parts of the input handed to the module: `'all'`, or the paths the policy can read
   * (src/policy/input-paths.ts). The decision is the same either way; only the cost differs.
   */
  readonly inputPaths: InputPaths;
  /**
   * Evaluates the entrypoint for `input`: the decision value, or `undefined` when the rule is
   * undefined. Synchronous; `time.now_ns()` is fixed for the duration of one call.
   *
   * @throws GatehouseError `ERR_POLICY_EVAL` when the policy aborts (e.g. conflicting rule
   *   values) or a builtin throws; the original error is the `cause`.
   */
  evaluate(input: unknown): unknown;
}

/** wasm memory bounds, in 64 KiB pages. */
export interface PolicyMemoryOptions {
  /** Initial pages (default 32 = 2 MiB). */
  readonly initialPages?: number;
  /** Maximum pages (default 8192 = 512 MiB); an input needing more fails the evaluation. */
  readonly maximumPages?: number;
}

/** Options shared by every way of loading a policy. */
export interface EvaluatorOptions {
  /** Slash-separated entrypoint; a leading `data/` or `/` is ignored. */
  readonly entrypoint: string;
  /** The wall clock for `time.now_ns` (tests freeze it). */
  readonly clock?: NanoClock;
  /** wasm memory bounds. */
  readonly memory?: PolicyMemoryOptions;
  /**
   * The parts of `input` the policy's modules can read ({@link inputPathsOf}); only these are
   * handed to the module. Default `'all'`: the whole input.
   */
  readonly inputPaths?: InputPaths;
}

/** Options for {@link loadPolicy}: exactly one of `bundle` and `dir`. */
export interface LoadPolicyOptions extends EvaluatorOptions {
  /** Path of a `bundle.tar.gz` built with `opa build -t wasm`. */
  readonly bundle?: string;
  /** A directory of `.rego` to compile with `opa build` (`*_test.rego` ignored). */
  readonly dir?: string;
  /** The `opa` binary for `dir` (default: `opa` on `PATH`). */
  readonly opaPath?: string;
  /** Time limit for `opa build`, in milliseconds. */
  readonly compileTimeoutMs?: number;
  /** Rego syntax of `dir` (default `v1`); `v0` compiles with `opa build --v0-compatible`. */
  readonly regoVersion?: RegoVersion;
}

/** Normalises `data.envoy.authz.allow`-free slash paths: strips `/` and a `data/` prefix. */
export function normaliseEntrypoint(entrypoint: string): string {
  let ep = entrypoint.trim().replace(/^\/+|\/+$/g, '');
  if (ep.startsWith('data/')) ep = ep.slice('data/'.length);
  return ep;
}

function revisionOf(bundle: PolicyBundle): string {
  if (bundle.manifest !== undefined && bundle.manifest.revision !== '')
    return bundle.manifest.revision;
  const hash = createHash('sha256')
    .update(bundle.wasm)
    .update('\0')
    .update(JSON.stringify(bundle.data))
    .digest('hex');
  return `sha256:${hash}`;
}

function evalCause(err: unknown): Error {
  // The SDK throws bare strings (from `opa_abort`) or plain objects; keep them readable in logs.
  if (err instanceof Error) return err;
  if (typeof err === 'string') return new Error(err);
  if (typeof err === 'object' && err !== null && 'message' in err)
    return new Error(String((err as { message: unknown }).message));
  return new Error(String(err));
}

/**
 * Instantiates a bundle's wasm module and binds it to one entrypoint.
 *
 * @throws GatehouseError `ERR_POLICY_LOAD` (module cannot be instantiated),
 *   `ERR_POLICY_ENTRYPOINT` (no such entrypoint; the message lists the available ones),
 *   `ERR_POLICY_BUILTIN_MISSING` (the module needs a builtin the host lacks; named).
 */
export async function loadPolicyFromBundle(
  bundle: PolicyBundle,
  options: EvaluatorOptions & { readonly source?: PolicySource },
): Promise<LoadedPolicy> {
  const entrypoint = normaliseEntrypoint(options.entrypoint);
  const ctx = new EvalContext(options.clock);
  const memory = {
    initial: options.memory?.initialPages ?? 32,
    maximum: options.memory?.maximumPages ?? 8192,
  };
  let policy: SdkPolicy;
  try {
    policy = await instantiatePolicy(bundle.wasm, memory, createBuiltins(ctx));
  } catch (err) {
    throw new GatehouseError('ERR_POLICY_LOAD', {
      cause: evalCause(err),
      message: `policy wasm module cannot be instantiated: ${evalCause(err).message}`,
    });
  }

  const entrypoints = Object.keys(policy.entrypoints).sort();
  const entrypointId = policy.entrypoints[entrypoint];
  if (!Object.hasOwn(policy.entrypoints, entrypoint) || typeof entrypointId !== 'number') {
    throw new GatehouseError('ERR_POLICY_ENTRYPOINT', {
      message: `policy has no entrypoint \`${entrypoint}\`; it has: ${entrypoints.map((e) => `\`${e}\``).join(', ') || '(none)'}`,
    });
  }

  const builtinsRequired = policy.importedBuiltins;
  const missing = builtinsRequired.filter((name) => !HOST_BUILTINS.has(name));
  if (missing.length > 0) {
    const names = missing.map((m) => `\`${m}\``).join(', ');
    const network = missing.filter((m) => NETWORK_BUILTINS.has(m));
    let advice = '';
    if (network.length > 0) {
      advice += `; policies are evaluated synchronously and make no network calls: put the data ${network.map((m) => `\`${m}\``).join(' and ')} would fetch into the policy's data.json (a reload picks up changes), and leave token verification to Gatehouse's identity stage (input.identity)`;
    }
    if (advice === '')
      advice = '; see docs/reference/policy.md#builtins for the builtins Gatehouse provides';
    throw new GatehouseError('ERR_POLICY_BUILTIN_MISSING', {
      message: `policy needs builtin${missing.length > 1 ? 's' : ''} ${names}, which Gatehouse does not provide${advice}`,
    });
  }

  if (Object.keys(bundle.data).length > 0) policy.setData(bundle.data);
  const inputPaths = options.inputPaths ?? 'all';
  const cut = inputProjector(inputPaths);

  return Object.freeze({
    revision: revisionOf(bundle),
    entrypoint,
    entrypoints: Object.freeze(entrypoints),
    builtinsRequired: Object.freeze(builtinsRequired),
    source: options.source ?? { kind: 'memory' },
    inputPaths,
    evaluate(input: unknown): unknown {
      ctx.begin();
      let resultSet: unknown;
      try {
        resultSet = policy.evaluate(cut(input), entrypointId);
      } catch (err) {
        throw new GatehouseError('ERR_POLICY_EVAL', { cause: evalCause(err) });
      }
      if (!Array.isArray(resultSet) || resultSet.length === 0) return undefined;
      const first: unknown = resultSet[0];
      return typeof first === 'object' && first !== null
        ? (first as { result?: unknown }).result
        : undefined;
    },
  });
}

/**
 * Loads a policy from a bundle file or a Rego directory.
 *
 * @throws GatehouseError `ERR_POLICY_LOAD` (unreadable or invalid bundle, or neither/both of
 *   `bundle` and `dir`), `ERR_POLICY_COMPILE` (`opa build` failed or is missing),
 *   `ERR_POLICY_ENTRYPOINT`, `ERR_POLICY_BUILTIN_MISSING`.
 * @example
 *   const policy = await loadPolicy({ bundle: 'policies/build/bundle.tar.gz', entrypoint: 'envoy/authz/allow' });
 *   const decision = policy.evaluate(input); // e.g. { allowed: true, headers: {…} }
 */
export async function loadPolicy(options: LoadPolicyOptions): Promise<LoadedPolicy> {
  const { bundle, dir } = options;
  if ((bundle === undefined) === (dir === undefined)) {
    throw new GatehouseError('ERR_POLICY_LOAD', {
      message: 'configure exactly one of a policy bundle and a policy directory',
    });
  }
  if (bundle !== undefined) {
    return loadPolicyFromBundle(await readBundleFile(bundle), {
      ...options,
      source: { kind: 'bundle', path: bundle },
    });
  }
  const path = dir as string;
  // Read before `opa build` and again after it: a file changed in between is not analysed.
  const before = await readRegoSources(path).catch(() => undefined);
  const bytes = await compileRegoDir({
    dir: path,
    entrypoints: [normaliseEntrypoint(options.entrypoint)],
    ...(options.opaPath === undefined ? {} : { opaPath: options.opaPath }),
    ...(options.compileTimeoutMs === undefined ? {} : { timeoutMs: options.compileTimeoutMs }),
    ...(options.regoVersion === undefined ? {} : { regoVersion: options.regoVersion }),
  });
  const compiled = readBundle(bytes);
  const inputPaths = await analyseDir(path, before, compiled, options);
  return loadPolicyFromBundle(compiled, { ...options, inputPaths, source: { kind: 'dir', path } });
}

/** Where `opa build <dir>` puts the module `<dir>/<path>` in its bundle. */
function bundlePathOf(dir: string, path: string): string {
  return posix.join(dir.split(sep).join('/'), path).replace(/^(\.\/|\/)+/, '');
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * What the directory's modules can read of `input`, or `'all'` when that cannot be known for
 * sure: the sources could not be read, are not exactly the modules `opa build` compiled (their
 * paths against the bundle's; their text against a second read after the build), are too many,
 * or `opa parse` fails on one.
 */
async function analyseDir(
  dir: string,
  before: readonly RegoSource[] | undefined,
  bundle: PolicyBundle,
  options: LoadPolicyOptions,
): Promise<InputPaths> {
  try {
    if (before === undefined || before.length > MAX_ANALYSED_MODULES) return 'all';
    const compiled = before.map((s) => bundlePathOf(dir, s.path)).sort();
    if (!sameList(compiled, bundle.regoPaths)) return 'all';
    const after = await readRegoSources(dir);
    if (
      !sameList(
        before.map((s) => `${s.path}\0${s.text}`),
        after.map((s) => `${s.path}\0${s.text}`),
      )
    )
      return 'all';
    const asts = await parseRegoModules(before, {
      ...(options.opaPath === undefined ? {} : { opaPath: options.opaPath }),
      ...(options.compileTimeoutMs === undefined ? {} : { timeoutMs: options.compileTimeoutMs }),
      ...(options.regoVersion === undefined ? {} : { regoVersion: options.regoVersion }),
    });
    return inputPathsOf(asts);
  } catch {
    return 'all';
  }
}
