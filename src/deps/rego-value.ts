/**
 * Rego values a host builtin returns that JSON cannot carry: sets.
 *
 * A host builtin returns JSON values, or a {@link RegoSet} wherever OPA's builtin returns a set
 * (`net.cidr_expand`, `net.cidr_merge`). The adapter (src/deps/opa-wasm.ts) loads a result that
 * holds no set with the module's JSON parser, as the SDK does, and a result that holds one with
 * the module's Rego value parser (`opa_value_parse`), from the text {@link toRegoText} writes.
 */

/** A Rego set returned by a host builtin; its members are JSON values or sets. */
export class RegoSet {
  readonly members: readonly unknown[];

  constructor(members: Iterable<unknown>) {
    this.members = Object.freeze([...members]);
  }
}

/** Whether `value` holds a {@link RegoSet} anywhere (the slow path is needed). */
export function containsSet(value: unknown): boolean {
  if (value instanceof RegoSet) return true;
  if (value === null || typeof value !== 'object' || isRawJson(value)) return false;
  if (Array.isArray(value)) return value.some(containsSet);
  for (const v of Object.values(value)) if (containsSet(v)) return true;
  return false;
}

/**
 * `value` in the syntax of the module's `opa_value_parse`: JSON, plus sets written `{a, b}` and
 * the empty set `set()`. Scalars, arrays and objects follow `JSON.stringify` (object members
 * whose value is `undefined` or a function are left out, in arrays they become `null`).
 */
export function toRegoText(value: unknown): string {
  if (value instanceof RegoSet)
    return value.members.length === 0
      ? 'set()'
      : `{${value.members.map((m) => toRegoText(m)).join(', ')}}`;
  if (Array.isArray(value))
    return `[${value.map((v) => (v === undefined || typeof v === 'function' ? 'null' : toRegoText(v))).join(', ')}]`;
  if (value !== null && typeof value === 'object' && !isRawJson(value) && !hasToJSON(value)) {
    const members: string[] = [];
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined || typeof v === 'function') continue;
      members.push(`${JSON.stringify(k)}: ${toRegoText(v)}`);
    }
    return `{${members.join(', ')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** `JSON.rawJSON` values (exact big integers) are written by `JSON.stringify` as their text. */
const jsonIsRaw = (JSON as unknown as { isRawJSON?: (v: unknown) => boolean }).isRawJSON;
function isRawJson(value: object): boolean {
  return jsonIsRaw?.(value) === true;
}

function hasToJSON(value: object): boolean {
  return typeof (value as { toJSON?: unknown }).toJSON === 'function';
}
