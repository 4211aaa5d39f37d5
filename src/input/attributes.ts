import {
  AttributeContextSchema,
  type AttributeContext,
} from '../gen/envoy/service/auth/v3/attribute_context_pb.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { attributesJson } from './attributes-json.js';
import { protomap } from './protomap.js';
import type { JsonObject } from './types.js';

/**
 * `input.attributes`: the AttributeContext as the OPA-Envoy plugin's `protomap` writes it —
 * lowerCamelCase JSON names (`contextExtensions`, `socketAddress`, `portValue`, `rawBody`), fields
 * at their default value omitted, integers (also 64-bit: `request.http.size`) and enums as
 * numbers, bytes as base64, a Timestamp as `{seconds, nanos}`, an Any as `{typeUrl, value}`, a
 * Struct as plain JSON. docs/reference/input.md lists every field.
 *
 * Written by a hand-written converter (./attributes-json.ts) that produces exactly what
 * {@link protomap} does; {@link attributesToJsonReflective} is the reference.
 *
 * @throws {GatehouseError} `ERR_REQUEST_INVALID` when the attributes cannot be written as JSON
 *   (a NaN or infinite number in metadata).
 */
export function attributesToJson(attributes: AttributeContext): JsonObject {
  try {
    return attributesJson(attributes);
  } catch (err: unknown) {
    throw new GatehouseError('ERR_REQUEST_INVALID', { cause: err });
  }
}

/** The reference conversion: the reflective protomap (the differential test compares against it). */
export function attributesToJsonReflective(attributes: AttributeContext): JsonObject {
  try {
    return protomap(AttributeContextSchema, attributes);
  } catch (err: unknown) {
    throw new GatehouseError('ERR_REQUEST_INVALID', { cause: err });
  }
}
