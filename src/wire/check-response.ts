/**
 * A hand-written encoder for `envoy.service.auth.v3.CheckResponse`: the same bytes as protobuf-es
 * `toBinary(CheckResponseSchema, response)`, written in one pass into one buffer.
 *
 * protobuf-es writes through a chunked writer that forks and joins for every nested message (each
 * header is two) and encodes each string with a `TextEncoder` call. This sizes the response first
 * and writes it directly, for what Gatehouse's answers hold: a status code, OK or denied responses
 * with ASCII headers (and the `append` wrapper), removals, query parameters, a body, and dynamic
 * metadata (a Struct of JSON values: the decision id, the policy's own). Anything else — status
 * details, the deprecated `OkHttpResponse.dynamic_metadata`, unknown fields, a non-ASCII string, a
 * non-finite number, a negative enum, a value of the wrong type — is left to `toBinary` for the
 * whole response, which also throws where it would throw. The differential test (test/unit/wire/check-response.test.ts)
 * holds the two to the same bytes.
 *
 * Measured with bench/decode-micro.ts (CPU per encode, same run, medians of 7 interleaved rounds,
 * loaded shared 2-core machine): toBinary ÷ this 2.29× for a six-header allow of 633 bytes
 * (docs/performance.md, "Fifth round").
 */
import { types } from 'node:util';
import { toBinary } from '@bufbuild/protobuf';
import type {
  HeaderValue,
  HeaderValueOption,
  QueryParameter,
} from '../gen/envoy/config/core/v3/base_pb.js';
import {
  CheckResponseSchema,
  type CheckResponse,
  type DeniedHttpResponse,
  type OkHttpResponse,
} from '../gen/envoy/service/auth/v3/external_auth_pb.js';
import type { Status } from '../gen/google/rpc/status_pb.js';

/**
 * Encode a CheckResponse.
 *
 * @throws Error exactly when protobuf-es `toBinary(CheckResponseSchema, response)` throws.
 */
export function encodeCheckResponse(response: CheckResponse): Uint8Array {
  return encodeCheckResponseFast(response) ?? toBinary(CheckResponseSchema, response);
}

/** The hand path alone: `undefined` where it leaves the response to protobuf-es. */
export function encodeCheckResponseFast(response: CheckResponse): Uint8Array | undefined {
  sizes.length = 0;
  next = 0;
  try {
    const out = new Uint8Array(checkResponseSize(response));
    const end = writeCheckResponse(out, 0, response);
    if (end !== out.length) return undefined;
    return out;
  } catch {
    return undefined;
  }
}

/**
 * The size of every nested message, in the order they are written (a slot is taken before the
 * message's children are sized): the writing pass reads them back instead of sizing again.
 */
const sizes: number[] = [];
let next = 0;
const reserve = (): number => sizes.push(0) - 1;
const sized = (slot: number, size: number): number => {
  sizes[slot] = size;
  return size;
};
const nextSize = (): number => sizes[next++] as number;

/**
 * One instance, thrown again each time: a fallback must not pay for a stack trace (an Error built
 * per call was 3.4% of a traffic profile when every allow fell back).
 */
class GiveUp extends Error {}
const GIVE_UP = new GiveUp('left to protobuf-es');
const giveUp = (): never => {
  throw GIVE_UP;
};

/** Deeper Structs are left to protobuf-es (which recurses as deep as the value goes). */
const MAX_STRUCT_DEPTH = 64;

/** A message as protobuf-es would take it: the expected type, no unknown fields to carry. */
function plainMessage(m: { $typeName: string; $unknown?: unknown }, typeName: string): void {
  if (m.$typeName !== typeName || m.$unknown !== undefined) giveUp();
}

/** A present message field: own and defined (protobuf-es's explicit-presence test). */
function present<K extends string>(m: Partial<Record<K, unknown>>, key: K): boolean {
  const value = m[key];
  if (value === undefined) return false;
  if (!Object.hasOwn(m, key)) giveUp();
  return true;
}

const varintSize = (n: number): number =>
  n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;

/** A non-negative int32 (an enum or code): negatives are ten-byte varints, left to protobuf-es. */
function uint31(n: unknown): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0x7fffffff) giveUp();
  return n as number;
}

/** An ASCII string's size as a field (tag, length, bytes); non-ASCII is found when writing. */
function stringField(s: unknown, always = false): number {
  if (typeof s !== 'string') giveUp();
  const n = (s as string).length;
  if (n === 0 && !always) return 0;
  return 1 + varintSize(n) + n;
}

function messageField(size: number): number {
  return 1 + varintSize(size) + size;
}

/**
 * Sized in the order written, which is field-number order: status (1), denied (2) or ok (3),
 * dynamic metadata (4), error (5).
 */
function checkResponseSize(r: CheckResponse): number {
  plainMessage(r, 'envoy.service.auth.v3.CheckResponse');
  let size = 0;
  if (present(r, 'status')) size += messageField(statusSize(r.status as Status));
  const h = r.httpResponse;
  if (h.case === 'okResponse') size += messageField(okSize(h.value));
  else if (h.case === 'deniedResponse') size += messageField(deniedSize(h.value));
  else if (h.case !== undefined && h.case !== 'errorResponse') giveUp();
  if (present(r, 'dynamicMetadata')) size += messageField(structSize(r.dynamicMetadata, 0));
  if (h.case === 'errorResponse') size += messageField(deniedSize(h.value));
  return size;
}

/** A JSON object as protobuf-es writes a Struct field: one map entry per own key, in key order. */
function structSize(o: unknown, depth: number): number {
  const slot = reserve();
  if (!plainObject(o) || depth > MAX_STRUCT_DEPTH) giveUp();
  let size = 0;
  for (const key of Object.keys(o as object)) {
    const entry = reserve();
    // A data property only: an accessor could answer the writing pass differently.
    const own = Object.getOwnPropertyDescriptor(o, key);
    if (own === undefined || !('value' in own)) giveUp();
    const value: unknown = (own as PropertyDescriptor).value;
    size += messageField(
      sized(entry, stringField(key, true) + messageField(valueSize(value, depth))),
    );
  }
  return sized(slot, size);
}

/** A google.protobuf.Value: its one `kind` is written even when zero (a oneof member). */
function valueSize(v: unknown, depth: number): number {
  const slot = reserve();
  switch (typeof v) {
    case 'number':
      if (!Number.isFinite(v)) giveUp();
      return sized(slot, 1 + 8);
    case 'string':
      return sized(slot, stringField(v, true));
    case 'boolean':
      return sized(slot, 2);
    case 'object':
      if (v === null) return sized(slot, 2);
      if (Array.isArray(v)) return sized(slot, messageField(listSize(v, depth + 1)));
      return sized(slot, messageField(structSize(v, depth + 1)));
    default:
      return giveUp();
  }
}

function listSize(list: unknown[], depth: number): number {
  const slot = reserve();
  if (depth > MAX_STRUCT_DEPTH) giveUp();
  let size = 0;
  for (let i = 0; i < list.length; i++) size += messageField(valueSize(list[i], depth));
  return sized(slot, size);
}

/** What a JSON parser returns for an object: no class, no proxy (accessors: see structSize). */
function plainObject(o: unknown): boolean {
  if (typeof o !== 'object' || o === null || Array.isArray(o) || types.isProxy(o)) return false;
  const proto: unknown = Object.getPrototypeOf(o);
  return proto === Object.prototype || proto === null;
}

function statusSize(s: Status): number {
  const slot = reserve();
  plainMessage(s, 'google.rpc.Status');
  if (s.details.length > 0) giveUp();
  const code = uint31(s.code);
  return sized(slot, (code === 0 ? 0 : 1 + varintSize(code)) + stringField(s.message));
}

function okSize(o: OkHttpResponse): number {
  const slot = reserve();
  plainMessage(o, 'envoy.service.auth.v3.OkHttpResponse');
  if (present(o, 'dynamicMetadata')) giveUp();
  let size = 0;
  for (const h of o.headers) size += messageField(optionSize(h));
  for (const n of o.headersToRemove) size += stringField(n, true);
  for (const h of o.responseHeadersToAdd) size += messageField(optionSize(h));
  for (const q of o.queryParametersToSet) size += messageField(queryParameterSize(q));
  for (const n of o.queryParametersToRemove) size += stringField(n, true);
  return sized(slot, size);
}

function deniedSize(d: DeniedHttpResponse): number {
  const slot = reserve();
  plainMessage(d, 'envoy.service.auth.v3.DeniedHttpResponse');
  let size = 0;
  if (present(d, 'status')) {
    const status = d.status as NonNullable<DeniedHttpResponse['status']>;
    plainMessage(status, 'envoy.type.v3.HttpStatus');
    const code = uint31(status.code);
    size += messageField(sized(reserve(), code === 0 ? 0 : 1 + varintSize(code)));
  }
  for (const h of d.headers) size += messageField(optionSize(h));
  return sized(slot, size + stringField(d.body));
}

function optionSize(o: HeaderValueOption): number {
  const slot = reserve();
  plainMessage(o, 'envoy.config.core.v3.HeaderValueOption');
  let size = 0;
  if (present(o, 'header')) size += messageField(headerSize(o.header as HeaderValue));
  // A BoolValue wrapper: written when set, `false` as an empty message.
  if (present(o, 'append')) {
    if (typeof o.append !== 'boolean') giveUp();
    size += o.append ? 4 : 2;
  }
  const action = uint31(o.appendAction);
  if (action !== 0) size += 1 + varintSize(action);
  if (typeof o.keepEmptyValue !== 'boolean') giveUp();
  if (o.keepEmptyValue) size += 2;
  return sized(slot, size);
}

function headerSize(h: HeaderValue): number {
  const slot = reserve();
  plainMessage(h, 'envoy.config.core.v3.HeaderValue');
  if (!(h.rawValue instanceof Uint8Array)) giveUp();
  const raw = h.rawValue.length;
  return sized(
    slot,
    stringField(h.key) + stringField(h.value) + (raw === 0 ? 0 : 1 + varintSize(raw) + raw),
  );
}

function queryParameterSize(q: QueryParameter): number {
  const slot = reserve();
  plainMessage(q, 'envoy.config.core.v3.QueryParameter');
  return sized(slot, stringField(q.key) + stringField(q.value));
}

// Writing: the values were checked while sizing; each writer returns the new offset.

function writeVarint(out: Uint8Array, at: number, n: number): number {
  let p = at;
  let v = n;
  while (v >= 0x80) {
    out[p++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[p++] = v;
  return p;
}

function writeString(out: Uint8Array, at: number, tag: number, s: string, always = false): number {
  const n = s.length;
  if (n === 0 && !always) return at;
  out[at] = tag;
  let p = writeVarint(out, at + 1, n);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) giveUp(); // UTF-8 of more than one byte: protobuf-es
    out[p++] = c;
  }
  return p;
}

function writeMessageHeader(out: Uint8Array, at: number, tag: number, size: number): number {
  out[at] = tag;
  return writeVarint(out, at + 1, size);
}

function writeCheckResponse(out: Uint8Array, at: number, r: CheckResponse): number {
  let p = at;
  if (r.status !== undefined) p = writeStatus(out, p, r.status);
  const h = r.httpResponse;
  if (h.case === 'deniedResponse') p = writeDenied(out, p, (2 << 3) | 2, h.value);
  else if (h.case === 'okResponse') p = writeOk(out, p, h.value);
  if (r.dynamicMetadata !== undefined) p = writeStruct(out, p, (4 << 3) | 2, r.dynamicMetadata);
  if (h.case === 'errorResponse') p = writeDenied(out, p, (5 << 3) | 2, h.value);
  return p;
}

function writeStruct(out: Uint8Array, at: number, tag: number, o: object): number {
  let p = writeMessageHeader(out, at, tag, nextSize());
  for (const key of Object.keys(o)) {
    p = writeMessageHeader(out, p, (1 << 3) | 2, nextSize());
    p = writeString(out, p, (1 << 3) | 2, key, true);
    p = writeValue(out, p, (2 << 3) | 2, (o as Record<string, unknown>)[key]);
  }
  return p;
}

/** Scratch for a double's eight little-endian bytes. */
const float64 = new DataView(new ArrayBuffer(8));

function writeValue(out: Uint8Array, at: number, tag: number, v: unknown): number {
  let p = writeMessageHeader(out, at, tag, nextSize());
  if (typeof v === 'number') {
    out[p++] = (2 << 3) | 1;
    float64.setFloat64(0, v, true);
    for (let i = 0; i < 8; i++) out[p++] = float64.getUint8(i);
    return p;
  }
  if (typeof v === 'string') return writeString(out, p, (3 << 3) | 2, v, true);
  if (typeof v === 'boolean') {
    out[p++] = (4 << 3) | 0;
    out[p++] = v ? 1 : 0;
    return p;
  }
  if (v === null) {
    out[p++] = (1 << 3) | 0;
    out[p++] = 0;
    return p;
  }
  if (Array.isArray(v)) {
    p = writeMessageHeader(out, p, (6 << 3) | 2, nextSize());
    for (let i = 0; i < v.length; i++) p = writeValue(out, p, (1 << 3) | 2, v[i]);
    return p;
  }
  return writeStruct(out, p, (5 << 3) | 2, v as object);
}

function writeStatus(out: Uint8Array, at: number, s: Status): number {
  let p = writeMessageHeader(out, at, (1 << 3) | 2, nextSize());
  if (s.code !== 0) {
    out[p++] = (1 << 3) | 0;
    p = writeVarint(out, p, s.code);
  }
  return writeString(out, p, (2 << 3) | 2, s.message);
}

function writeOk(out: Uint8Array, at: number, o: OkHttpResponse): number {
  let p = writeMessageHeader(out, at, (3 << 3) | 2, nextSize());
  for (const h of o.headers) p = writeOption(out, p, (2 << 3) | 2, h);
  for (const n of o.headersToRemove) p = writeString(out, p, (5 << 3) | 2, n, true);
  for (const h of o.responseHeadersToAdd) p = writeOption(out, p, (6 << 3) | 2, h);
  for (const q of o.queryParametersToSet) {
    p = writeMessageHeader(out, p, (7 << 3) | 2, nextSize());
    p = writeString(out, p, (1 << 3) | 2, q.key);
    p = writeString(out, p, (2 << 3) | 2, q.value);
  }
  for (const n of o.queryParametersToRemove) p = writeString(out, p, (8 << 3) | 2, n, true);
  return p;
}

function writeDenied(out: Uint8Array, at: number, tag: number, d: DeniedHttpResponse): number {
  let p = writeMessageHeader(out, at, tag, nextSize());
  if (d.status !== undefined) {
    const code = d.status.code;
    p = writeMessageHeader(out, p, (1 << 3) | 2, nextSize());
    if (code !== 0) {
      out[p++] = (1 << 3) | 0;
      p = writeVarint(out, p, code);
    }
  }
  for (const h of d.headers) p = writeOption(out, p, (2 << 3) | 2, h);
  return writeString(out, p, (3 << 3) | 2, d.body);
}

function writeOption(out: Uint8Array, at: number, tag: number, o: HeaderValueOption): number {
  let p = writeMessageHeader(out, at, tag, nextSize());
  const h = o.header;
  if (h !== undefined) {
    p = writeMessageHeader(out, p, (1 << 3) | 2, nextSize());
    p = writeString(out, p, (1 << 3) | 2, h.key);
    p = writeString(out, p, (2 << 3) | 2, h.value);
    const raw = h.rawValue;
    if (raw.length > 0) {
      out[p] = (3 << 3) | 2;
      p = writeVarint(out, p + 1, raw.length);
      out.set(raw, p);
      p += raw.length;
    }
  }
  if (o.append !== undefined) {
    out[p++] = (2 << 3) | 2;
    if (o.append) {
      out[p++] = 2;
      out[p++] = (1 << 3) | 0;
      out[p++] = 1;
    } else out[p++] = 0;
  }
  if (o.appendAction !== 0) {
    out[p++] = (3 << 3) | 0;
    p = writeVarint(out, p, o.appendAction);
  }
  if (o.keepEmptyValue) {
    out[p++] = (4 << 3) | 0;
    out[p++] = 1;
  }
  return p;
}
