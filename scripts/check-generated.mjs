#!/usr/bin/env node
// Checks that the checked-in generated code (src/gen) is exactly what `buf generate` produces
// from proto/ today. Regenerates into a temporary directory with the project's own
// buf.gen.yaml (`--output` prepends the temp dir to its `out: src/gen`), then compares the two
// trees byte for byte.
//
// Exit 0: fresh. Exit 1: stale, missing or extra files (listed), with the fix to run.
// Exit 2: generation itself failed (buf or the plugin could not run).
//
// Usage: npm run gen:check   (or: node scripts/check-generated.mjs)

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = dirname(dirname(fileURLToPath(import.meta.url)));
const genDir = join(repoRoot, 'src', 'gen');
const binDir = join(repoRoot, 'node_modules', '.bin');
const bufEntry = join(repoRoot, 'node_modules', '@bufbuild', 'buf', 'bin', 'buf');

/** Every regular file under `root`, as sorted POSIX-style relative paths. */
function listFiles(root) {
  if (!existsSync(root)) return [];
  const out = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) out.push(relative(root, full).split(sep).join('/'));
    }
  };
  walk(root);
  return out.sort();
}

function generate(outBase) {
  // buf resolves the `local: protoc-gen-es` plugin from PATH, and the plugin's shebang resolves
  // `node` from PATH: put the project's bin folder (and this Node) first so the check does not
  // depend on how it was started (npm run, node --test, a bare shell).
  const env = {
    ...process.env,
    PATH: [binDir, dirname(process.execPath), process.env.PATH ?? ''].join(delimiter),
  };
  return spawnSync(process.execPath, [bufEntry, 'generate', '--output', outBase], {
    cwd: repoRoot,
    env,
    encoding: 'utf8',
  });
}

function main() {
  if (!existsSync(bufEntry)) {
    console.error(`gen:check: buf not found at ${relative(repoRoot, bufEntry)}; run npm ci`);
    return 2;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-gen-check-'));
  try {
    const result = generate(tmp);
    if (result.error !== undefined || result.status !== 0) {
      console.error('gen:check: buf generate failed');
      if (result.error !== undefined) console.error(String(result.error));
      if (result.stderr) console.error(result.stderr.trimEnd());
      return 2;
    }
    const freshDir = join(tmp, 'src', 'gen');
    const fresh = listFiles(freshDir);
    const current = listFiles(genDir);
    const currentSet = new Set(current);
    const freshSet = new Set(fresh);

    const missing = fresh.filter((f) => !currentSet.has(f));
    const extra = current.filter((f) => !freshSet.has(f));
    const stale = fresh.filter(
      (f) =>
        currentSet.has(f) && !readFileSync(join(freshDir, f)).equals(readFileSync(join(genDir, f))),
    );

    if (missing.length + extra.length + stale.length === 0) {
      console.log(`gen:check: src/gen is up to date (${fresh.length} files)`);
      return 0;
    }
    for (const f of stale) console.error(`stale:   src/gen/${f}`);
    for (const f of missing) console.error(`missing: src/gen/${f}`);
    for (const f of extra) console.error(`extra:   src/gen/${f}`);
    console.error(
      'gen:check: src/gen does not match proto/; run `npm run gen` and commit the result',
    );
    return 1;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

process.exitCode = main();
