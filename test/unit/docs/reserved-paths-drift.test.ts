import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { PATHS } from '../../../src/pages/pages.js';
import { repoPath } from '../../support/paths.js';

const doc = readFileSync(repoPath('docs', 'reference', 'reserved-paths.md'), 'utf8');

/** Table rows whose first cell is a path in a code span: `| `/.gatehouse/…` | METHOD | …`. */
const rows = [...doc.matchAll(/^\| `(\/[^`]*)` \| ([^|]+) \|/gm)].map((m) => ({
  path: m[1]!,
  method: m[2]!.trim(),
}));
const documented = new Set(rows.map((r) => r.path));

test('every reserved path in PATHS is documented', () => {
  for (const [name, path] of Object.entries(PATHS))
    assert.ok(
      documented.has(path),
      `PATHS.${name} (${path}) is missing from docs/reference/reserved-paths.md`,
    );
});

test('nothing documented as a reserved path is missing from PATHS', () => {
  const known = new Set<string>(Object.values(PATHS));
  for (const path of documented)
    assert.ok(
      known.has(path),
      `docs/reference/reserved-paths.md lists ${path}, which PATHS does not have`,
    );
});

test('every documented row names its method', () => {
  assert.ok(rows.length >= Object.keys(PATHS).length);
  for (const { path, method } of rows)
    assert.match(method, /^(GET|HEAD|POST)(, (GET|HEAD|POST))*$/, `${path}: method "${method}"`);
});

test('sign-out is documented for both GET (a form) and POST (same-origin)', () => {
  const methods = rows.filter((r) => r.path === PATHS.signOut).map((r) => r.method);
  assert.deepEqual(methods.sort(), ['GET, HEAD', 'POST']);
});
