/** The `workers` key: default, range, and what a cluster needs from the identity configuration. */
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { parseConfig } from '../../../src/config/load.js';
import { resolveWorkers } from '../../../src/workers/ipc.js';

const base = { policy: { dir: tmpdir() } };
const parse = (doc: Record<string, unknown>) => parseConfig(stringify(doc), tmpdir());

test('workers: default 1 (one process), 0 = one per available CPU, negative or fractional refused naming the key', () => {
  assert.equal(parse(base).workers, 1);
  assert.equal(parse({ ...base, workers: 4 }).workers, 4);
  assert.equal(resolveWorkers(0) >= 1, true);
  assert.equal(resolveWorkers(3), 3);
  assert.throws(() => parse({ ...base, workers: -1 }), /workers/);
  assert.throws(() => parse({ ...base, workers: 1.5 }), /workers/);
  assert.throws(() => parse({ ...base, workers: 'two' }), /workers/);
});

test('workers > 1 with identity needs real keys: generated development keys would differ per worker', () => {
  const identity = { issuer: 'http://127.0.0.1:1', client_id: 'gatehouse' };
  assert.equal(parse({ ...base, development: true, identity }).workers, 1);
  assert.throws(
    () => parse({ ...base, development: true, identity, workers: 2 }),
    /workers: more than one worker needs keys\.signing and session\.secret/,
  );
  assert.throws(() => parse({ ...base, development: true, identity, workers: 0 }), /workers:/);
});
