/**
 * The version guard every dependency adapter runs before it reaches into its dependency's
 * internals: private fields, symbols and module tables are not part of a package's contract
 * and may change in any release, so an adapter works only with the exact version it was
 * written (and tested) for.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { GatehouseError } from '../errors/gatehouse-error.js';

const require = createRequire(import.meta.url);

/**
 * The folder of the installed package `name`, as Node resolves it from Gatehouse: the nearest
 * folder above its main module whose package.json has that name (packages whose `exports` hide
 * `package.json` included).
 *
 * @throws Error when the package is not installed.
 */
export function packageDir(name: string): string {
  let dir = dirname(require.resolve(name));
  for (;;) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: unknown;
      };
      if (manifest.name === name) return dir;
    } catch {
      // no package.json here: keep climbing
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`package.json of ${name} not found`);
    dir = parent;
  }
}

/** The `version` of the installed package `name` (its package.json). */
export function installedVersion(name: string): string {
  const manifest = JSON.parse(readFileSync(join(packageDir(name), 'package.json'), 'utf8')) as {
    version?: unknown;
  };
  return String(manifest.version);
}

/**
 * Refuse to run an adapter against another version of its dependency than the one it was
 * written for. Called once, when the adapter module loads, so a mismatch stops the start.
 *
 * @throws GatehouseError `ERR_INTERNAL` naming the package, both versions and the adapter.
 */
export function requireVersion(name: string, expected: string, adapter: string): void {
  const installed = installedVersion(name);
  if (installed === expected) return;
  throw new GatehouseError('ERR_INTERNAL', {
    message: `${name} ${installed} is installed, but ${adapter} reaches into its internals and was written for ${expected}: review the adapter against the new version, then update the version it names (and package.json, package-lock.json)`,
  });
}
