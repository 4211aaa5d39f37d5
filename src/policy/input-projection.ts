/**
 * The policy input cut down to the parts the policy can read ({@link InputPaths}), so that only
 * those are serialised for the wasm module and parsed again by it.
 *
 * Cheap by construction: it copies only the objects on the way to a kept path and shares the
 * kept subtrees (nothing under a kept path is copied or visited). A value on the way that is not
 * a plain object (an array, a string, a class instance, an object with `toJSON`, a `JSON.rawJSON`
 * number) is kept whole, so it serialises exactly as before; a constant key cannot select anything
 * inside an array or a scalar, and a policy that indexes one reads it whole anyway.
 */
import type { InputPaths } from './input-paths.js';

/** A trie of kept paths: `true` keeps the whole value there. */
type Trie = true | ReadonlyMap<string, Trie>;

function trieOf(paths: readonly (readonly string[])[]): Trie {
  const root = new Map<string, Trie>();
  for (const path of paths) {
    let node: Map<string, Trie> | undefined = root;
    for (let i = 0; i < path.length && node !== undefined; i++) {
      const key = path[i] as string;
      if (i === path.length - 1) {
        node.set(key, true);
        break;
      }
      const next = node.get(key);
      if (next === true)
        node = undefined; // already kept whole
      else if (next === undefined) {
        const child = new Map<string, Trie>();
        node.set(key, child);
        node = child;
      } else node = next as Map<string, Trie>;
    }
  }
  return root;
}

/** `JSON.isRawJSON` (Node ≥ 21; the body parser keeps long numbers exact with `JSON.rawJSON`). */
const isRawJson = (JSON as unknown as { isRawJSON?: (value: unknown) => boolean }).isRawJSON;

/** Plain JSON object: serialised key by key, so keeping some of its keys is exact. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return (
    (proto === Object.prototype || proto === null) &&
    !('toJSON' in value) &&
    isRawJson?.(value) !== true
  );
}

function project(value: unknown, trie: Trie): unknown {
  if (trie === true || !isPlainObject(value)) return value;
  // No prototype: a kept key named `__proto__` stays an ordinary key.
  const out = Object.create(null) as Record<string, unknown>;
  for (const [key, child] of trie) {
    if (!Object.hasOwn(value, key)) continue;
    const v = value[key];
    if (v !== undefined) out[key] = project(v, child);
  }
  return out;
}

/**
 * A function that cuts an input down to `paths`; the identity for `'all'`.
 *
 * @example
 *   const cut = inputProjector([['identity'], ['parsed_path']]);
 *   cut(input); // { identity: input.identity, parsed_path: input.parsed_path }
 */
export function inputProjector(paths: InputPaths): (input: unknown) => unknown {
  if (paths === 'all') return (input) => input;
  const cut = paths.map(beforeReplacementCharacter);
  if (cut.some((path) => path.length === 0)) return (input) => input;
  const trie = trieOf(cut);
  return (input) => project(input, trie);
}

/**
 * A path cut before its first key holding U+FFFD, so that the object holding that key is kept
 * whole. The module is handed every lone surrogate as U+FFFD (src/deps/opa-wasm.ts), so a
 * policy's key `"\ufffd"` (or `"\ud800"`, which OPA parses as U+FFFD) reads an input key
 * `"\ud800"` too, and one of several keys that become the same text: matching such keys here,
 * before that replacement, would drop what the policy reads in the whole input.
 */
function beforeReplacementCharacter(path: readonly string[]): readonly string[] {
  const i = path.findIndex((key) => key.includes('\uFFFD'));
  return i < 0 ? path : path.slice(0, i);
}
