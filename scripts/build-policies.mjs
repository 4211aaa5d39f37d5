#!/usr/bin/env node
// Compiles policies/*.rego to policies/build/bundle.tar.gz (wasm target) with the OPA CLI.
// Usage: npm run policies [-- --entrypoint envoy/authz/allow] ; OPA from $GATEHOUSE_OPA_BIN, $OPA, .tools/bin/opa or PATH.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function findOpa() {
  const candidates = [
    process.env.GATEHOUSE_OPA_BIN,
    process.env.OPA,
    join(root, '.tools', 'bin', 'opa'),
    ...(process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'opa')),
  ];
  for (const candidate of candidates) {
    if (!candidate) continue;
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

const args = process.argv.slice(2);
const at = args.indexOf('--entrypoint');
const entrypoint = at >= 0 ? args[at + 1] : 'envoy/authz/allow';
const opa = findOpa();
if (opa === undefined) {
  console.error(
    'build-policies: opa not found (set $GATEHOUSE_OPA_BIN, run `npm run tools`, or put opa on PATH)',
  );
  process.exit(1);
}
const src = join(root, 'policies');
const out = join(src, 'build', 'bundle.tar.gz');
mkdirSync(dirname(out), { recursive: true });
try {
  execFileSync(
    opa,
    [
      'build',
      '-t',
      'wasm',
      '-e',
      entrypoint,
      '--ignore',
      '*_test.rego',
      '--ignore',
      'build',
      '--ignore',
      'examples',
      '-o',
      out,
      '--',
      'policies',
    ],
    { stdio: 'inherit', cwd: root },
  );
} catch {
  process.exit(1);
}
console.log(`build-policies: wrote ${out} (entrypoint ${entrypoint})`);
