/**
 * The Rego modules of a policy directory, and their ASTs as OPA parses them.
 *
 * {@link readRegoSources} reads the `.rego` files `opa build` loads from a directory (the
 * patterns of {@link IGNORED_POLICY_FILES} skipped, as `opa build --ignore` does: on each file
 * and folder name below the directory). {@link parseRegoModules} runs
 * `opa parse --format json [--v0-compatible]` on each, without a shell and with a timeout: the
 * AST is OPA's own, never a hand-written parser's. The caller checks that the files read are the
 * ones `opa build` put into the bundle (src/policy/load.ts), so a difference in file selection
 * costs the projection, never soundness.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IGNORED_POLICY_FILES, type RegoVersion } from './compile.js';

/** One Rego module read from a policy directory. */
export interface RegoSource {
  /** Path below the directory, `/`-separated. */
  readonly path: string;
  /** The module text as read. */
  readonly text: string;
}

/** `*` and `?` of a `--ignore` pattern as a whole-name regular expression. */
function globRegExp(pattern: string): RegExp {
  const body = pattern
    .split('')
    .map((c) => (c === '*' ? '[^/]*' : c === '?' ? '[^/]' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`);
}

const IGNORED = IGNORED_POLICY_FILES.map(globRegExp);

/** Most modules analysed; a bigger directory is evaluated with the whole input. */
export const MAX_ANALYSED_MODULES = 256;

/** Deeper than any real policy tree; a symlink loop ends here (and the analysis with it). */
const MAX_DEPTH = 32;

async function collect(
  dir: string,
  rel: string,
  depth: number,
  sources: RegoSource[],
): Promise<void> {
  if (depth > MAX_DEPTH) throw new Error(`policy directory deeper than ${MAX_DEPTH} levels`);
  for (const entry of await readdir(join(dir, rel), { withFileTypes: true })) {
    if (IGNORED.some((re) => re.test(entry.name))) continue;
    const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
    const full = join(dir, path);
    // `opa build` follows symbolic links to files and folders (a Kubernetes ConfigMap volume is
    // made of them: `policy.rego -> ..data/policy.rego`).
    const target = entry.isSymbolicLink() ? await stat(full) : entry;
    if (target.isDirectory()) await collect(dir, path, depth + 1, sources);
    else if (target.isFile() && entry.name.endsWith('.rego'))
      sources.push({ path, text: await readFile(full, 'utf8') });
  }
}

/**
 * Reads the `.rego` modules `opa build` loads from `dir`, sorted by path.
 *
 * @throws the file system's error when the directory cannot be read, or a tree deeper than
 *   {@link MAX_DEPTH} levels (a symlink loop).
 */
export async function readRegoSources(dir: string): Promise<RegoSource[]> {
  const sources: RegoSource[] = [];
  await collect(dir, '', 0, sources);
  return sources.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Options for {@link parseRegoModules}. */
export interface ParseOptions {
  /** The `opa` binary; defaults to `opa` on `PATH`. */
  readonly opaPath?: string;
  /** Rego syntax of the sources (default `v1`); `v0` adds `--v0-compatible`, as `opa build` does. */
  readonly regoVersion?: RegoVersion;
  /** Kill each `opa parse` after this many milliseconds (default 60 000). */
  readonly timeoutMs?: number;
}

function parseOne(opa: string, args: readonly string[], timeout: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    execFile(
      opa,
      args,
      { timeout, maxBuffer: 64 * 1024 * 1024, windowsHide: true, encoding: 'utf8' },
      (error, stdout) => {
        if (error !== null) reject(error);
        else {
          try {
            resolve(JSON.parse(stdout));
          } catch (err) {
            reject(err);
          }
        }
      },
    );
  });
}

/**
 * The JSON AST of each module, in order, from `opa parse --format json`.
 *
 * @throws when `opa` is missing, times out, rejects a module or prints something that is not
 *   JSON; the caller then evaluates with the whole input.
 */
export async function parseRegoModules(
  sources: readonly RegoSource[],
  options: ParseOptions = {},
): Promise<unknown[]> {
  const opa = options.opaPath ?? 'opa';
  const timeout = options.timeoutMs ?? 60_000;
  const work = await mkdtemp(join(tmpdir(), 'gatehouse-parse-'));
  try {
    const asts: unknown[] = [];
    // Parse exactly the text read (and compared), not whatever the file holds by now.
    for (const [i, source] of sources.entries()) {
      const file = join(work, `${i}.rego`);
      await writeFile(file, source.text);
      const args = ['parse', '--format', 'json', '--json-include', '-comments'];
      if (options.regoVersion === 'v0') args.push('--v0-compatible');
      args.push('--', file);
      asts.push(await parseOne(opa, args, timeout));
    }
    return asts;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
