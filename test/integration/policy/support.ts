/** Helpers for policy tests that drive the real OPA CLI. */
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileRegoDir } from '../../../src/policy/compile.js';
import { testdata } from '../../support/paths.js';

/** A policy fixture directory under `test/testdata/policies/`. */
export function fixture(name: string): string {
  return testdata('policies', name);
}

/** Runs `opa` and resolves with stdout; rejects with stderr on a non-zero exit. */
export function runOpa(opa: string, args: readonly string[], cwd?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      opa,
      args,
      { cwd, maxBuffer: 16 * 1024 * 1024, timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error !== null)
          reject(new Error(`opa ${args.join(' ')} failed: ${stderr || stdout || error.message}`));
        else resolve(stdout);
      },
    );
  });
}

/** `opa eval -f json` of `query` over `files`: the first expression's value, or undefined. */
export async function opaEval(
  opa: string,
  query: string,
  files: readonly string[],
  input?: unknown,
): Promise<unknown> {
  const args = ['eval', '-f', 'json'];
  for (const file of files) args.push('-d', file);
  if (input !== undefined) {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-opa-input-'));
    const path = join(dir, 'input.json');
    await writeFile(path, JSON.stringify(input));
    args.push('-i', path);
  }
  args.push(query);
  const out = JSON.parse(await runOpa(opa, args)) as {
    result?: Array<{ expressions: Array<{ value: unknown }> }>;
  };
  return out.result?.[0]?.expressions[0]?.value;
}

/** Writes `source` as `policy.rego` in a fresh temporary directory and returns the directory. */
export async function regoDir(source: string, files: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-rego-'));
  await writeFile(join(dir, 'policy.rego'), source);
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  return dir;
}

/** Compiles a Rego directory to bundle bytes. */
export function buildBundle(
  opa: string,
  dir: string,
  entrypoints: readonly string[],
  revision?: string,
): Promise<Buffer> {
  return compileRegoDir({
    dir,
    entrypoints,
    opaPath: opa,
    ...(revision === undefined ? {} : { revision }),
  });
}
