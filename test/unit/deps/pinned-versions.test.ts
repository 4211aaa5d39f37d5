/**
 * The dependency adapters (src/deps/) reach into internals written for one exact version of
 * their dependency. These tests pin that version in every place it is decided — the adapter's
 * constant, package.json, package-lock.json and the installed package — and check that no
 * other module reaches into those dependencies.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { OPA_WASM_VERSION } from '../../../src/deps/opa-wasm.js';
import { PINO_VERSION } from '../../../src/deps/pino.js';
import { installedVersion, requireVersion } from '../../../src/deps/version-guard.js';
import { hasCode } from '../../../src/errors/gatehouse-error.js';
import { repoPath } from '../../support/paths.js';

const ADAPTERS = [
  {
    name: '@open-policy-agent/opa-wasm',
    version: OPA_WASM_VERSION,
    adapter: 'src/deps/opa-wasm.ts',
  },
  { name: 'pino', version: PINO_VERSION, adapter: 'src/deps/pino.ts' },
] as const;

function readJson<T>(...parts: string[]): T {
  return JSON.parse(readFileSync(repoPath(...parts), 'utf8')) as T;
}

for (const { name, version, adapter } of ADAPTERS) {
  describe(`${name} is pinned to ${version}, the version ${adapter} was written for`, () => {
    test('node_modules holds that version', () => {
      const manifest = readJson<{ version: string }>('node_modules', name, 'package.json');
      assert.equal(manifest.version, version);
      assert.equal(installedVersion(name), version);
    });

    test('package-lock.json locks that version', () => {
      const lock = readJson<{ packages: Record<string, { version?: string }> }>(
        'package-lock.json',
      );
      assert.equal(lock.packages[`node_modules/${name}`]?.version, version);
      assert.equal(
        (lock.packages[''] as { dependencies?: Record<string, string> }).dependencies?.[name],
        version,
        'the lock file records the exact pin',
      );
    });

    test('package.json asks for exactly that version (no range)', () => {
      const pkg = readJson<{ dependencies: Record<string, string> }>('package.json');
      assert.equal(pkg.dependencies[name], version);
    });

    test('the adapter runs the guard at top level, when it loads, before its other statements reach in', () => {
      const source = readFileSync(repoPath(adapter), 'utf8');
      const guard = source.search(
        new RegExp(`^requireVersion\\('${name}', [A-Z_]+_VERSION, '${adapter}'\\);$`, 'm'),
      );
      assert.ok(guard > 0, `${adapter} calls requireVersion('${name}', …) at top level`);
      const firstReach = source.search(/^const \w+ = createRequire/m);
      assert.ok(
        firstReach === -1 || firstReach > guard,
        'the builtin table is read after the guard',
      );
    });

    test('the guard refuses any other version, naming the package and the adapter', () => {
      assert.doesNotThrow(() => requireVersion(name, version, adapter));
      assert.throws(
        () => requireVersion(name, `${version}-other`, adapter),
        (err: unknown) => {
          assert.ok(hasCode(err, 'ERR_INTERNAL'));
          assert.match((err as Error).message, new RegExp(`${name} ${version} is installed`));
          assert.match((err as Error).message, new RegExp(adapter));
          return true;
        },
      );
    });
  });
}

/** Every .ts file under src/, relative to the repository root. */
function sourceFiles(dir = repoPath('src')): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (entry.name.endsWith('.ts')) out.push(relative(repoPath(), path));
  }
  return out;
}

describe('only the adapters reach into dependency internals', () => {
  const internals: ReadonlyArray<readonly [string, RegExp, readonly string[]]> = [
    ['the OPA SDK module', /from '@open-policy-agent\/opa-wasm'/, ['src/deps/opa-wasm.ts']],
    [
      "a dependency's files loaded by path (the OPA SDK builtin table)",
      /createRequire|require\.resolve|packageDir\(/,
      ['src/deps/opa-wasm.ts', 'src/deps/version-guard.ts'],
    ],
    [
      "the OPA SDK's LoadedPolicy fields",
      /\b(wasmInstance|dataHeapPtr|dataAddr|minorVersion|opa_eval|opa_json_dump)\b/,
      ['src/deps/opa-wasm.ts'],
    ],
    ["pino's symbols", /pino\.symbols|Symbol\.for\('pino/, ['src/deps/pino.ts']],
  ];
  const files = sourceFiles().map((file) => ({
    file,
    text: readFileSync(repoPath(file), 'utf8'),
  }));
  for (const [what, pattern, adapters] of internals) {
    test(`${what}: only in ${adapters.join(', ')}`, () => {
      const users = files.filter(({ text }) => pattern.test(text)).map(({ file }) => file);
      assert.deepEqual(users.sort(), [...adapters].sort());
    });
  }
});
