import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { TestContext } from 'node:test';
import { repoRoot } from './paths.js';

/** External programs the tests drive. */
export type ToolName = 'envoy' | 'opa' | 'chromium' | 'kubeconform' | 'h2spec' | 'redis-server';

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Locates an external tool: `GATEHOUSE_<NAME>_BIN` if set, then `<repo>/.tools/bin/<name>`
 * (where `scripts/install-tools.sh` puts it), then `PATH`.
 *
 * @returns the executable's path, or `undefined` when it is nowhere to be found.
 * @throws Error when `GATEHOUSE_<NAME>_BIN` is set but is not executable (a typo must not
 *   silently fall back to another copy).
 * @example const envoy = findTool('envoy');
 */
export function findTool(name: ToolName): string | undefined {
  const envVar = `GATEHOUSE_${name.toUpperCase().replaceAll('-', '_')}_BIN`;
  const fromEnv = process.env[envVar];
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!isExecutable(fromEnv)) throw new Error(`${envVar}=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  const pinned = join(repoRoot, '.tools', 'bin', name);
  if (isExecutable(pinned)) return pinned;
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/**
 * A tool a test cannot run without. Returns its path; when it is missing, the test is skipped
 * with a hint (`t.skip`, and `undefined` is returned, so the caller must `return`), except under
 * `CI=true`, where nothing may skip silently and the test fails instead.
 *
 * @throws Error when the tool is missing and `process.env.CI === 'true'`.
 * @example
 * test('validates', (t) => {
 *   const envoy = requireTool(t, 'envoy');
 *   if (envoy === undefined) return;
 *   // ...
 * });
 */
export function requireTool(t: TestContext, name: ToolName): string | undefined {
  const found = findTool(name);
  if (found !== undefined) return found;
  const hint =
    `${name} not found (GATEHOUSE_${name.toUpperCase().replaceAll('-', '_')}_BIN, .tools/bin, PATH): ` +
    'run `bash scripts/install-tools.sh`';
  if (process.env['CI'] === 'true') throw new Error(`${hint} (CI=true: not skipping)`);
  t.skip(hint);
  return undefined;
}
