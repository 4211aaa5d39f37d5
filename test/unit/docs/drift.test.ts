import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { configKeys } from '../../../src/config/validate.js';
import { ERRORS, ERROR_CODES } from '../../../src/errors/codes.js';
import { repoPath } from '../../support/paths.js';

const errorsDoc = readFileSync(repoPath('docs', 'reference', 'errors.md'), 'utf8');
const configDoc = readFileSync(repoPath('docs', 'reference', 'config.md'), 'utf8');

/** Rows of a markdown table whose first cell is a `code` span. */
function documentedNames(markdown: string): string[] {
  return [...markdown.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]!);
}

test('every error code is documented, with its gRPC and HTTP status', () => {
  for (const code of ERROR_CODES) {
    const row = errorsDoc.split('\n').find((line) => line.startsWith(`| \`${code}\` |`));
    assert.ok(row, `${code} is missing from docs/reference/errors.md`);
    const spec = ERRORS[code];
    assert.match(
      row,
      new RegExp(`\\(${spec.grpc}\\) \\| ${spec.http} \\|`),
      `${code}: documented statuses differ from the code`,
    );
  }
});

test('nothing documented as an error code is missing from the code', () => {
  const known = new Set<string>(ERROR_CODES);
  for (const name of documentedNames(errorsDoc))
    assert.ok(known.has(name), `docs list ${name}, which the code does not have`);
});

test('every config key is documented, and nothing documented is missing', () => {
  const keys = configKeys();
  const documented = documentedNames(configDoc);
  assert.deepEqual([...documented].sort(), [...keys].sort());
});
