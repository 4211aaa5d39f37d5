/**
 * The builtins `@open-policy-agent/opa-wasm` implements in JS itself, and Gatehouse's
 * replacement of its `sprintf`.
 *
 * The SDK dispatches a builtin call to its own table first and only then to the custom
 * builtins passed to `loadPolicy`, so a custom `sprintf` would never be called: we replace the
 * one entry of its table whose behaviour differs from OPA (sprintf-js has no `%q`, prints
 * objects as `[object Object]`, ignores Go's `%v` rules). The table is an SDK internal, reached
 * only through src/deps/opa-wasm.ts (which checks the SDK version). This runs once, at import,
 * before any policy is loaded.
 */
import { replaceSdkBuiltin, sdkBuiltin, sdkBuiltinNames } from '../../deps/opa-wasm.js';
import { sprintf } from './sprintf.js';

replaceSdkBuiltin('sprintf', sprintf as (...args: never[]) => unknown);

/** Names of the builtins the SDK answers from its own JS table (with our `sprintf`). */
export const SDK_BUILTINS: readonly string[] = Object.freeze(sdkBuiltinNames());

/** True when the SDK's table holds Gatehouse's `sprintf` (checked by tests). */
export function sdkSprintfIsGatehouse(): boolean {
  return sdkBuiltin('sprintf') === (sprintf as unknown);
}
