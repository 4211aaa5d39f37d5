import { createRegistry, toJson, type Registry } from '@bufbuild/protobuf';
import {
  file_google_protobuf_any,
  file_google_protobuf_duration,
  file_google_protobuf_empty,
  file_google_protobuf_struct,
  file_google_protobuf_timestamp,
  file_google_protobuf_wrappers,
} from '@bufbuild/protobuf/wkt';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { file_envoy_config_core_v3_address } from '../gen/envoy/config/core/v3/address_pb.js';
import { file_envoy_config_core_v3_base } from '../gen/envoy/config/core/v3/base_pb.js';
import {
  AttributeContextSchema,
  file_envoy_service_auth_v3_attribute_context,
  type AttributeContext,
} from '../gen/envoy/service/auth/v3/attribute_context_pb.js';
import { attributesJson } from './attributes-json.js';
import type { JsonObject } from './types.js';

/**
 * The types a `google.protobuf.Any` in the attributes (`metadata_context.typed_filter_metadata`)
 * may be unpacked to by default: the well-known types and the Envoy messages Gatehouse ships.
 */
export const DEFAULT_ATTRIBUTES_REGISTRY: Registry = createRegistry(
  file_google_protobuf_any,
  file_google_protobuf_duration,
  file_google_protobuf_empty,
  file_google_protobuf_struct,
  file_google_protobuf_timestamp,
  file_google_protobuf_wrappers,
  file_envoy_config_core_v3_address,
  file_envoy_config_core_v3_base,
  file_envoy_service_auth_v3_attribute_context,
);

/**
 * `input.attributes`: the AttributeContext in protobuf-JSON, as the plugin's `protojson.Marshal`
 * writes it — lowerCamelCase JSON names (`contextExtensions`, `socketAddress`, `portValue`,
 * `rawBody`), fields at their default value omitted, 64-bit integers as strings, bytes as base64,
 * enums by name, timestamps in RFC 3339.
 *
 * Written by a hand-written converter (./attributes-json.ts) that produces exactly what
 * `toJson(AttributeContextSchema, …)` does; {@link attributesToJsonReflective} is the reference.
 *
 * @throws {GatehouseError} `ERR_REQUEST_INVALID` when the attributes cannot be written as JSON,
 *   e.g. a `typed_filter_metadata` entry whose type is not in `registry` (the plugin's protojson
 *   fails the same way).
 */
export function attributesToJson(attributes: AttributeContext, registry: Registry = DEFAULT_ATTRIBUTES_REGISTRY): JsonObject {
  try {
    return attributesJson(attributes, registry);
  } catch (err: unknown) {
    throw new GatehouseError('ERR_REQUEST_INVALID', { cause: err });
  }
}

/** The reference conversion: protobuf-es `toJson` (the differential test compares against it). */
export function attributesToJsonReflective(attributes: AttributeContext, registry: Registry = DEFAULT_ATTRIBUTES_REGISTRY): JsonObject {
  try {
    return toJson(AttributeContextSchema, attributes, { registry }) as JsonObject;
  } catch (err: unknown) {
    throw new GatehouseError('ERR_REQUEST_INVALID', { cause: err });
  }
}
