import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRegistry, type Registry } from '@bufbuild/protobuf';
import { file_google_protobuf_duration, file_google_protobuf_struct } from '@bufbuild/protobuf/wkt';
import { GatehouseError } from '../../../src/errors/gatehouse-error.js';
import { testdata } from '../../support/paths.js';

/** Read a JSON fixture from test/testdata/input/. */
export function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(testdata('input', name), 'utf8')) as T;
}

/**
 * Plain-JSON view of a value: null-prototype objects become ordinary ones (with `__proto__` as an
 * own key, as JSON.parse makes it), so deepStrictEqual compares data, not prototypes.
 */
export function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}

/** Assert that `fn` throws a GatehouseError with `code` (never looks at the message). */
export function assertCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof GatehouseError, `expected a GatehouseError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

/** Types the fixtures' `google.protobuf.Any` values (`"@type"`) are written in, for `fromJson`. */
export const FIXTURE_REGISTRY: Registry = createRegistry(
  file_google_protobuf_duration,
  file_google_protobuf_struct,
);
