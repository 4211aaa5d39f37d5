/**
 * A hand-written `AttributeContext` → protobuf-JSON converter for the Check path.
 *
 * protobuf-es's reflective `toJson` walks descriptors for every field of every request; this
 * writes the fields Envoy actually sends (peers with socket addresses, the HTTP request, context
 * extensions, the TLS SNI, empty metadata) directly, producing exactly what `toJson` produces:
 * lowerCamelCase names, fields at their default omitted (oneof members always written), int64 as
 * decimal strings, bytes as standard base64, enums by name, timestamps in RFC 3339 with 0, 3, 6
 * or 9 fractional digits. Anything rarer (pipe or internal addresses, non-empty metadata with
 * Structs or typed `Any`s, `header_map`, unknown enum values, out-of-range timestamps) is handed
 * to `toJson` for that sub-message, so the output is the same by construction; the differential
 * test (test/unit/input/attributes-json.test.ts) checks both over fixtures and random requests.
 */
import { toJson, type Registry } from '@bufbuild/protobuf';
import { TimestampSchema, type Timestamp } from '@bufbuild/protobuf/wkt';
import { AddressSchema, type Address, type SocketAddress } from '../gen/envoy/config/core/v3/address_pb.js';
import { HeaderMapSchema, MetadataSchema, type Metadata } from '../gen/envoy/config/core/v3/base_pb.js';
import type {
  AttributeContext,
  AttributeContext_HttpRequest,
  AttributeContext_Peer,
  AttributeContext_Request,
} from '../gen/envoy/service/auth/v3/attribute_context_pb.js';
import type { JsonObject } from './types.js';

type Out = Record<string, unknown>;

/**
 * `toJson(AttributeContextSchema, attributes, { registry })`, faster.
 *
 * @throws Error exactly when `toJson` throws (the fallback throws it).
 */
export function attributesJson(a: AttributeContext, registry: Registry): JsonObject {
  const out: Out = {};
  if (a.source !== undefined) out['source'] = peer(a.source, registry);
  if (a.destination !== undefined) out['destination'] = peer(a.destination, registry);
  if (a.request !== undefined) out['request'] = request(a.request, registry);
  const ext = stringMap(a.contextExtensions);
  if (ext !== undefined) out['contextExtensions'] = ext;
  if (a.metadataContext !== undefined) out['metadataContext'] = metadata(a.metadataContext, registry);
  if (a.routeMetadataContext !== undefined) out['routeMetadataContext'] = metadata(a.routeMetadataContext, registry);
  if (a.tlsSession !== undefined) out['tlsSession'] = a.tlsSession.sni === '' ? {} : { sni: a.tlsSession.sni };
  return out as JsonObject;
}

function peer(p: AttributeContext_Peer, registry: Registry): Out {
  const out: Out = {};
  if (p.address !== undefined) out['address'] = address(p.address, registry);
  if (p.service !== '') out['service'] = p.service;
  const labels = stringMap(p.labels);
  if (labels !== undefined) out['labels'] = labels;
  if (p.principal !== '') out['principal'] = p.principal;
  if (p.certificate !== '') out['certificate'] = p.certificate;
  return out;
}

function address(a: Address, registry: Registry): unknown {
  const which = a.address;
  if (which.case === undefined) return {};
  if (which.case === 'socketAddress') {
    const s = socketAddress(which.value);
    if (s !== undefined) return { socketAddress: s };
  }
  return toJson(AddressSchema, a, { registry });
}

/** `undefined` when the protocol is not a known enum value (toJson then decides). */
function socketAddress(s: SocketAddress): Out | undefined {
  const out: Out = {};
  if (s.protocol !== 0) {
    if (s.protocol !== 1) return undefined;
    out['protocol'] = 'UDP';
  }
  if (s.address !== '') out['address'] = s.address;
  const port = s.portSpecifier;
  if (port.case === 'portValue') out['portValue'] = port.value;
  else if (port.case === 'namedPort') out['namedPort'] = port.value;
  if (s.resolverName !== '') out['resolverName'] = s.resolverName;
  if (s.ipv4Compat) out['ipv4Compat'] = true;
  if (s.networkNamespaceFilepath !== '') out['networkNamespaceFilepath'] = s.networkNamespaceFilepath;
  return out;
}

function request(r: AttributeContext_Request, registry: Registry): Out {
  const out: Out = {};
  if (r.time !== undefined) out['time'] = timestamp(r.time);
  if (r.http !== undefined) out['http'] = http(r.http, registry);
  return out;
}

function http(h: AttributeContext_HttpRequest, registry: Registry): Out {
  const out: Out = {};
  if (h.id !== '') out['id'] = h.id;
  if (h.method !== '') out['method'] = h.method;
  const headers = stringMap(h.headers);
  if (headers !== undefined) out['headers'] = headers;
  if (h.headerMap !== undefined) out['headerMap'] = toJson(HeaderMapSchema, h.headerMap, { registry });
  if (h.path !== '') out['path'] = h.path;
  if (h.host !== '') out['host'] = h.host;
  if (h.scheme !== '') out['scheme'] = h.scheme;
  if (h.query !== '') out['query'] = h.query;
  if (h.fragment !== '') out['fragment'] = h.fragment;
  if (h.size !== 0n) out['size'] = h.size.toString();
  if (h.protocol !== '') out['protocol'] = h.protocol;
  if (h.body !== '') out['body'] = h.body;
  if (h.rawBody.length > 0) out['rawBody'] = Buffer.from(h.rawBody.buffer, h.rawBody.byteOffset, h.rawBody.byteLength).toString('base64');
  return out;
}

function metadata(m: Metadata, registry: Registry): unknown {
  for (const _ in m.filterMetadata) return toJson(MetadataSchema, m, { registry });
  for (const _ in m.typedFilterMetadata) return toJson(MetadataSchema, m, { registry });
  return {};
}

/** A copy of a `map<string, string>`, or undefined when empty (omitted). */
function stringMap(map: { readonly [key: string]: string }): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  for (const key in map) {
    out ??= {};
    const value = map[key] as string;
    // A `__proto__` key must become an own property (as toJson writes it), not a prototype.
    if (key === '__proto__') Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
    else out[key] = value;
  }
  return out;
}

/** 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, in milliseconds (protobuf-es's bounds). */
const TIMESTAMP_MS_MIN = Date.parse('0001-01-01T00:00:00Z');
const TIMESTAMP_MS_MAX = Date.parse('9999-12-31T23:59:59Z');

/** RFC 3339, as protobuf-es writes a Timestamp; out-of-range values go to toJson (which throws). */
function timestamp(t: Timestamp): string {
  const ms = Number(t.seconds) * 1000;
  if (!(ms >= TIMESTAMP_MS_MIN && ms <= TIMESTAMP_MS_MAX) || t.nanos < 0 || t.nanos > 999_999_999) {
    return toJson(TimestampSchema, t) as string;
  }
  let z = 'Z';
  if (t.nanos > 0) {
    const nanos = (t.nanos + 1_000_000_000).toString().substring(1);
    if (nanos.endsWith('000000')) z = `.${nanos.substring(0, 3)}Z`;
    else if (nanos.endsWith('000')) z = `.${nanos.substring(0, 6)}Z`;
    else z = `.${nanos}Z`;
  }
  if (ms !== lastMs) {
    lastMs = ms;
    lastBase = new Date(ms).toISOString().slice(0, -'.000Z'.length);
  }
  return lastBase + z;
}

/** The last second formatted (requests arrive many per second): `YYYY-MM-DDTHH:MM:SS`. */
let lastMs = Number.NaN;
let lastBase = '';
