/**
 * A protobuf message as the OPA-Envoy plugin puts it in the policy input: its `protomap` mapper
 * (`envoyauth/protomap.go`, which v1.10.0-envoy uses for v3 CheckRequests), not `protojson`.
 *
 * The reference for the hand-written fast path (./attributes-json.ts), which the differential
 * test compares against this over fixtures and random requests; the conformance test compares
 * both with the real plugin.
 *
 * The mapping, field by field (`msg.Range` visits populated fields only):
 * - names are JSON names (lowerCamelCase); fields at their default (`""`, `0`, `false`, empty list
 *   or map) are omitted, a set message field is present even when empty, and a set oneof member
 *   is present even when its value is the default;
 * - 32- and 64-bit integers and floats are **numbers** (`request.http.size: 15`); enums are
 *   their **numbers** (`protocol: 1` for UDP);
 * - `bytes` are standard base64 with padding (OPA's JSON round trip of a Go `[]byte`);
 * - messages nest by the same rules — a `google.protobuf.Timestamp` is `{seconds, nanos}`, a
 *   `google.protobuf.Any` is `{typeUrl, value}` with `value` in base64 (never unpacked);
 * - a `google.protobuf.Struct` is its plain JSON object (Go's `AsMap`).
 */
import { toJson, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import { reflect, type ReflectMessage } from '@bufbuild/protobuf/reflect';
import { StructSchema, type Struct } from '@bufbuild/protobuf/wkt';
import type { JsonObject, JsonValue } from './types.js';

// Node >= 21: a value JSON.stringify writes verbatim (as json.ts uses for exact body numbers).
const rawJSON = (JSON as unknown as { rawJSON?: (text: string) => unknown }).rawJSON;

/**
 * `message` as the plugin's `protomap` maps it.
 *
 * @throws Error for a non-finite float (OPA cannot hold it; the plugin fails the request too).
 * @example protomap(TimestampSchema, create(TimestampSchema, { seconds: 1n })); // { seconds: 1 }
 */
export function protomap<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>,
): JsonObject {
  return mapMessage(reflect(schema, message));
}

function mapMessage(r: ReflectMessage): JsonObject {
  if (r.desc.typeName === 'google.protobuf.Struct')
    return toJson(StructSchema, r.message as Struct) as JsonObject;
  const out: Record<string, JsonValue> = {};
  for (const field of r.fields) {
    if (!r.isSet(field)) continue;
    let value: JsonValue;
    switch (field.fieldKind) {
      case 'message':
        value = mapMessage(r.get(field));
        break;
      case 'list': {
        const items: JsonValue[] = [];
        for (const item of r.get(field)) items.push(mapValue(item));
        value = items;
        break;
      }
      case 'map': {
        const entries: Record<string, JsonValue> = {};
        for (const [key, item] of r.get(field)) setOwn(entries, String(key), mapValue(item));
        value = entries;
        break;
      }
      default:
        value = mapValue(r.get(field));
    }
    setOwn(out, field.jsonName, value);
  }
  return out;
}

/** A scalar, enum number or message (as a list item, a map value or a field). */
function mapValue(value: unknown): JsonValue {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new Error(`protomap: non-finite number ${String(value)}`);
      return value;
    case 'bigint':
      return int64(value);
    default:
      if (value instanceof Uint8Array) return base64(value);
      return mapMessage(value as ReflectMessage);
  }
}

/** A 64-bit integer as a JSON number with all its digits (OPA numbers are exact). */
export function int64(value: bigint): JsonValue {
  if (value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER))
    return Number(value);
  if (rawJSON === undefined)
    throw new Error('protomap: 64-bit integer beyond 2^53 needs JSON.rawJSON (Node >= 21)');
  return rawJSON(value.toString()) as JsonValue;
}

/** Standard base64 with padding, as Go's encoding/json writes a `[]byte`. */
export function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** A `__proto__` key must become an own property, not a prototype. */
function setOwn(target: Record<string, JsonValue>, key: string, value: JsonValue): void {
  if (key === '__proto__')
    Object.defineProperty(target, key, {
      value,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  else target[key] = value;
}
