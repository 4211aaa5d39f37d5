/**
 * The builtins `@open-policy-agent/opa-wasm` implements in JS itself, and Gatehouse's
 * replacement of its `sprintf`.
 *
 * The SDK dispatches a builtin call to its own table first and only then to the custom
 * builtins passed to `loadPolicy`, so a custom `sprintf` would never be called. Its table is
 * the CommonJS module `src/builtins/index.js`; we reach the same cached module object through
 * `createRequire` and replace the one entry whose behaviour differs from OPA (sprintf-js has
 * no `%q`, prints objects as `[object Object]`, ignores Go's `%v` rules). This runs once, at
 * import, before any policy is loaded; the SDK version is pinned in package.json.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { sprintf } from './sprintf.js';

type BuiltinTable = Record<string, (...args: never[]) => unknown>;

function sdkTable(): BuiltinTable {
  const require = createRequire(import.meta.url);
  const main = require.resolve('@open-policy-agent/opa-wasm'); // …/src/index.cjs
  return require(join(dirname(main), 'builtins', 'index.js')) as BuiltinTable;
}

const table = sdkTable();
table['sprintf'] = sprintf as (...args: never[]) => unknown;

/** Names of the builtins the SDK answers from its own JS table (with our `sprintf`). */
export const SDK_BUILTINS: readonly string[] = Object.freeze(Object.keys(table).sort());

/** True when the SDK's table holds Gatehouse's `sprintf` (checked by tests). */
export function sdkSprintfIsGatehouse(): boolean {
  return table['sprintf'] === (sprintf as unknown);
}
