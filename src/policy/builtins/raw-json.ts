/**
 * Returning exact JSON text from a builtin.
 *
 * The SDK serialises a builtin's return value with `JSON.stringify`, unless it is an
 * `ArrayBuffer`, which it hands to OPA's JSON parser as is. Nanosecond timestamps exceed
 * 2^53, so builtins that return them use this to keep every digit.
 */

const encoder = new TextEncoder();

/** Wraps JSON text so the SDK passes it to the policy verbatim. */
export function rawJson(text: string): ArrayBuffer {
  const bytes = encoder.encode(text);
  // A fresh, exactly-sized ArrayBuffer (never a view into a pooled buffer).
  const out = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(out).set(bytes);
  return out;
}

/** An integer result: a plain number when exact, else its exact JSON text. */
export function exactInteger(value: bigint): number | ArrayBuffer {
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : rawJson(value.toString());
}

/** `JSON.rawJSON` (Node ≥ 21): a value `JSON.stringify` writes as the given text. */
const rawJSON = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;

/**
 * An integer result that may sit inside an object or array: a plain number when exact, else a
 * `JSON.rawJSON` value, which the SDK's `JSON.stringify` writes digit for digit.
 */
export function exactNestedInteger(value: bigint): unknown {
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : rawJSON(value.toString());
}
