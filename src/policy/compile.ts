/**
 * Compiling a directory of Rego to a wasm bundle with the `opa` CLI.
 *
 * Runs `opa build -t wasm -e <entrypoint>… --ignore '*_test.rego' [--v0-compatible] <dir> -o <tmp>/bundle.tar.gz`
 * without a shell, with a timeout, and reads the bundle back. OPA's own error text goes into
 * the thrown error's message: it reaches the operator at start or reload, never a client.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatehouseError } from '../errors/gatehouse-error.js';

/** Options for {@link compileRegoDir}. */
export interface CompileOptions {
  /** Directory of `.rego` (and `data.json`/`data.yaml`) files. */
  readonly dir: string;
  /** Slash-separated entrypoints, e.g. `['envoy/authz/allow']`. At least one. */
  readonly entrypoints: readonly string[];
  /** The `opa` binary; defaults to `opa` on `PATH`. */
  readonly opaPath?: string;
  /** Kill `opa` after this many milliseconds (default 60 000). */
  readonly timeoutMs?: number;
  /** Sets the bundle revision (`opa build --revision`). */
  readonly revision?: string;
  /** Rego syntax of the sources (default `v1`); `v0` adds `--v0-compatible`. */
  readonly regoVersion?: RegoVersion;
}

/** The Rego syntax a directory is written in: OPA 1.x (`v1`) or pre-1.0 (`v0`). */
export type RegoVersion = 'v0' | 'v1';

/** Files and folders `opa build` must not load from a policy directory. */
export const IGNORED_POLICY_FILES: readonly string[] = Object.freeze([
  '*_test.rego',
  '.*',
  'build',
]);

const MAX_OUTPUT = 4 * 1024 * 1024;

interface ExecResult {
  readonly error: (Error & { code?: unknown; killed?: boolean; signal?: unknown }) | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(file: string, args: readonly string[], timeout: number): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { timeout, maxBuffer: MAX_OUTPUT, windowsHide: true, encoding: 'utf8' },
      (error, stdout, stderr) => {
        resolve({ error, stdout, stderr });
      },
    );
  });
}

/** OPA's wording when `-e` names nothing: `entrypoint "x/y" does not refer to a rule or policy decision`. */
const MISSING_ENTRYPOINT = /entrypoint "([^"]*)" does not refer to a rule or policy decision/;

/**
 * Compiles a Rego directory to a wasm bundle and returns the gzipped bundle bytes.
 *
 * @throws GatehouseError `ERR_POLICY_ENTRYPOINT` when an entrypoint names no rule;
 *   `ERR_POLICY_COMPILE` when `opa` is missing, times out or rejects the policy (its stderr
 *   is in the message).
 * @example
 *   const bytes = await compileRegoDir({ dir: 'policies', entrypoints: ['envoy/authz/allow'] });
 */
export async function compileRegoDir(options: CompileOptions): Promise<Buffer> {
  if (options.entrypoints.length === 0) {
    throw new GatehouseError('ERR_POLICY_COMPILE', {
      message: 'compiling a policy needs at least one entrypoint',
    });
  }
  const opa = options.opaPath ?? 'opa';
  const timeout = options.timeoutMs ?? 60_000;
  const work = await mkdtemp(join(tmpdir(), 'gatehouse-policy-'));
  const out = join(work, 'bundle.tar.gz');
  const args = ['build', '-t', 'wasm'];
  for (const entrypoint of options.entrypoints) args.push('-e', entrypoint);
  for (const pattern of IGNORED_POLICY_FILES) args.push('--ignore', pattern);
  if (options.revision !== undefined) args.push('--revision', options.revision);
  if (options.regoVersion === 'v0') args.push('--v0-compatible');
  args.push('-o', out, '--', options.dir);
  try {
    const { error, stderr, stdout } = await run(opa, args, timeout);
    if (error !== null) {
      if (error.code === 'ENOENT') {
        throw new GatehouseError('ERR_POLICY_COMPILE', {
          cause: error,
          message: `cannot compile ${options.dir}: the OPA CLI (${opa}) was not found; install opa or configure a prebuilt bundle`,
        });
      }
      if (error.killed === true) {
        throw new GatehouseError('ERR_POLICY_COMPILE', {
          cause: error,
          message: `opa build of ${options.dir} did not finish within ${timeout} ms`,
        });
      }
      const detail = (stderr.trim() || stdout.trim() || error.message).slice(0, 8192);
      const missing = MISSING_ENTRYPOINT.exec(detail);
      if (missing !== null) {
        throw new GatehouseError('ERR_POLICY_ENTRYPOINT', {
          cause: error,
          message: `policy entrypoint \`${missing[1] ?? ''}\` does not refer to a rule in ${options.dir}`,
        });
      }
      throw new GatehouseError('ERR_POLICY_COMPILE', {
        cause: error,
        message: `opa build of ${options.dir} failed:\n${detail}`,
      });
    }
    try {
      return await readFile(out);
    } catch (err) {
      throw new GatehouseError('ERR_POLICY_COMPILE', {
        cause: err,
        message: `opa build of ${options.dir} wrote no bundle`,
      });
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
