/**
 * A hand-written decoder for `envoy.service.auth.v3.CheckRequest`: the same message objects as
 * protobuf-es `fromBinary(CheckRequestSchema, bytes)`, built without its per-field dispatch.
 *
 * protobuf-es reads every field through a compiled reader looked up in a Map, creates each
 * sub-message through its reflective `create`, and decodes every string longer than 32 bytes with
 * a `TextDecoder` call; a production-shaped request (twenty headers, a 1 KB body) is dozens of
 * those. This reads the fields Envoy sends (peers and their socket addresses, request time, the
 * HTTP request with its headers, `header_map`, context extensions, the TLS SNI) with a switch per
 * message, and hands anything rare (metadata Structs, pipe and internal addresses) to protobuf-es
 * `mergeFromBinary` for that sub-message's bytes, so no rare path is hand-written.
 *
 * Stricter than protobuf-es on purpose, and never different: the hand path accepts only what a
 * conforming encoder writes (the declared wire type for each known field, 32-bit varints of at
 * most five bytes whose value fits, one-byte bools, sub-messages that end exactly at their
 * length, no groups, no negative int32). Anything else —
 * a truncated or overlong varint, a length past the end, invalid UTF-8, a wire-type mismatch, a
 * group — makes it give up, and protobuf-es `fromBinary` decodes the whole message instead: the
 * caller gets exactly what protobuf-es gives (its message, or its exception; the server answers
 * the latter with INTERNAL "request message could not be decoded"). Never a half-decoded request.
 *
 * Reproduced from protobuf-es 2.x (pinned by test/unit/wire/check-request.test.ts): object key
 * order as `create` writes it (absent message fields appear when first read), repeated occurrences
 * of a message field merge into one object, last one wins for scalars and oneofs, map entries
 * with a missing key or value get the zero value, a `__proto__` map key is an own property,
 * `bytes` are views into the input, int64 is a bigint, unknown fields are kept in `$unknown`
 * (`{ no, wireType, data }`, in wire order) except inside map entries, where they are dropped,
 * and strings are strict UTF-8 (a leading U+FEFF kept).
 *
 * Strings, most of the work, are sliced by Node's native UTF-8 decoder instead of a `TextDecoder`
 * call each, and short ones (header names, most header values) come from a small cache of recent
 * strings keyed by their bytes, which also hands V8 the same property-key string for a header name
 * on every request.
 *
 * Measured with bench/decode-micro.ts (CPU per decode, same run, medians of 7 interleaved rounds,
 * loaded shared 2-core machine): fromBinary ÷ this 1.73× for the traffic stage's 3.3 KB request
 * (1,000 distinct requests round-robin) and 2.91× for the check-level request (docs/performance.md,
 * "Fifth round").
 */
import {
  create,
  fromBinary,
  mergeFromBinary,
  type DescMessage,
  type Message,
  type MessageShape,
  type UnknownField,
} from '@bufbuild/protobuf';
import type { WireType } from '@bufbuild/protobuf/wire';
import type { Timestamp } from '@bufbuild/protobuf/wkt';
import {
  EnvoyInternalAddressSchema,
  PipeSchema,
  type Address,
  type SocketAddress,
} from '../gen/envoy/config/core/v3/address_pb.js';
import {
  MetadataSchema,
  type HeaderMap,
  type HeaderValue,
} from '../gen/envoy/config/core/v3/base_pb.js';
import type {
  AttributeContext,
  AttributeContext_HttpRequest,
  AttributeContext_Peer,
  AttributeContext_Request,
  AttributeContext_TLSSession,
} from '../gen/envoy/service/auth/v3/attribute_context_pb.js';
import {
  CheckRequestSchema,
  type CheckRequest,
} from '../gen/envoy/service/auth/v3/external_auth_pb.js';

/**
 * Decode a CheckRequest from its protobuf encoding.
 *
 * @throws Error exactly when protobuf-es `fromBinary(CheckRequestSchema, bytes)` throws (it is
 *   what decides every input the hand path does not take).
 */
export function decodeCheckRequest(bytes: Uint8Array): CheckRequest {
  return decodeCheckRequestFast(bytes) ?? fromBinary(CheckRequestSchema, bytes);
}

/**
 * The hand path alone: the message, or `undefined` where it leaves the input to protobuf-es (the
 * differential test counts both).
 */
export function decodeCheckRequestFast(bytes: Uint8Array): CheckRequest | undefined {
  try {
    return new Decoder(bytes).checkRequest();
  } catch {
    // Malformed or unusual (see above), invalid UTF-8 (the strict TextDecoder), or refused by
    // protobuf-es in a rare sub-message: protobuf-es decides for the whole message.
    return undefined;
  }
}

/** protobuf-es's default `recursionLimit` (makeReadContext): the deepest message nesting read. */
const RECURSION_LIMIT = 100;

const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;

/**
 * Thrown to leave the hand path; never escapes decodeCheckRequest. One instance, thrown again each
 * time: a fallback must not pay for a stack trace.
 */
class GiveUp extends Error {}
const GIVE_UP = new GiveUp('left to protobuf-es');
const giveUp = (): never => {
  throw GIVE_UP;
};

/**
 * `Buffer.prototype.utf8Slice(start, end)`: what `buf.toString('utf8', start, end)` calls after
 * checking its arguments; undocumented, but in every Node release, and about half the cost of
 * `toString` for a header-sized string. `toString` if it is ever gone (the test pins it).
 */
type Utf8Slice = (this: Buffer, start: number, end: number) => string;
const nativeUtf8Slice = (Buffer.prototype as { utf8Slice?: Utf8Slice }).utf8Slice;
/** True when the native slice is in use (for the test that pins it). */
export const NATIVE_UTF8_SLICE = typeof nativeUtf8Slice === 'function';
const utf8Slice: Utf8Slice = NATIVE_UTF8_SLICE
  ? (nativeUtf8Slice as Utf8Slice)
  : function (this: Buffer, start: number, end: number): string {
      return this.toString('utf8', start, end);
    };

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

class Decoder {
  private pos = 0;
  private readonly len: number;
  /** The input as a Buffer, for its native UTF-8 slicing. */
  private readonly text: Buffer;
  /** This request's number, for the cache of recent strings (see `interned`). */
  private readonly requestNumber: number;

  constructor(private readonly buf: Uint8Array) {
    this.len = buf.length;
    this.text = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    requests = (requests + 1) | 0;
    this.requestNumber = requests;
  }

  checkRequest(): CheckRequest {
    const m: CheckRequest = { $typeName: 'envoy.service.auth.v3.CheckRequest' };
    const end = this.len;
    let unknown = m.$unknown;
    while (this.pos < end) {
      const tag = this.tag();
      if (tag === ((1 << 3) | LEN)) m.attributes = this.attributes(m.attributes);
      else unknown = this.unknown(unknown, tag, CHECK_REQUEST);
    }
    return finish(m, unknown);
  }

  private attributes(into: AttributeContext | undefined): AttributeContext {
    const m: AttributeContext = into ?? {
      $typeName: 'envoy.service.auth.v3.AttributeContext',
      contextExtensions: {},
    };
    const end = this.end();
    let unknown = m.$unknown;
    while (this.pos < end) {
      const tag = this.tag();
      switch (tag) {
        case (1 << 3) | LEN:
          m.source = this.peer(m.source);
          break;
        case (2 << 3) | LEN:
          m.destination = this.peer(m.destination);
          break;
        case (4 << 3) | LEN:
          m.request = this.request(m.request);
          break;
        case (10 << 3) | LEN:
          this.stringEntry(m.contextExtensions);
          break;
        case (11 << 3) | LEN:
          m.metadataContext = this.library(MetadataSchema, m.metadataContext, 3);
          break;
        case (12 << 3) | LEN:
          m.tlsSession = this.tlsSession(m.tlsSession);
          break;
        case (13 << 3) | LEN:
          m.routeMetadataContext = this.library(MetadataSchema, m.routeMetadataContext, 3);
          break;
        default:
          unknown = this.unknown(unknown, tag, ATTRIBUTE_CONTEXT);
      }
    }
    this.close(end);
    return finish(m, unknown);
  }

  private peer(into: AttributeContext_Peer | undefined): AttributeContext_Peer {
    const m: AttributeContext_Peer = into ?? {
      $typeName: 'envoy.service.auth.v3.AttributeContext.Peer',
      service: '',
      labels: {},
      principal: '',
      certificate: '',
    };
    const end = this.end();
    let unknown = m.$unknown;
    while (this.pos < end) {
      const tag = this.tag();
      switch (tag) {
        case (1 << 3) | LEN:
          m.address = this.address(m.address);
          break;
        case (2 << 3) | LEN:
          m.service = this.string();
          break;
        case (3 << 3) | LEN:
          this.stringEntry(m.labels);
          break;
        case (4 << 3) | LEN:
          m.principal = this.string();
          break;
        case (5 << 3) | LEN:
          m.certificate = this.string();
          break;
        default:
          unknown = this.unknown(unknown, tag, PEER);
      }
    }
    this.close(end);
    return finish(m, unknown);
  }

  private address(into: Address | undefined): Address {
    const m: Address = into ?? {
      $typeName: 'envoy.config.core.v3.Address',
      address: { case: undefined },
    };
    const end = this.end();
    let unknown = m.$unknown;
    while (this.pos < end) {
      const tag = this.tag();
      const now = m.address;
      switch (tag) {
        case (1 << 3) | LEN:
          m.address = {
            case: 'socketAddress',
            value: this.socketAddress(now.case === 'socketAddress' ? now.value : undefined),
          };
          break;
        case (2 << 3) | LEN:
          m.address = {
            case: 'pipe',
            value: this.library(PipeSchema, now.case === 'pipe' ? now.value : undefined, 5),
          };
          break;
        case (3 << 3) | LEN:
          m.address = {
            case: 'envoyInternalAddress',
            value: this.library(
              EnvoyInternalAddressSchema,
              now.case === 'envoyInternalAddress' ? now.value : undefined,
              5,
            ),
          };
          break;
        default:
          unknown = this.unknown(unknown, tag, ADDRESS);
      }
    }
    this.close(end);
    return finish(m, unknown);
  }

  private socketAddress(into: SocketAddress | undefined): SocketAddress {
    const m: SocketAddress = into ?? {
      $typeName: 'envoy.config.core.v3.SocketAddress',
      protocol: 0,
      address: '',
      portSpecifier: { case: undefined },
      resolverName: '',
      ipv4Compat: false,
      networkNamespaceFilepath: '',
    };
    const end = this.end();
    let unknown = m.$unknown;
    while (this.pos < end) {
      const tag = this.tag();
      switch (tag) {
        case (1 << 3) | VARINT:
          m.protocol = this.varint32() | 0; // an open enum: any int32
          break;
        case (2 << 3) | LEN:
          m.address = this.string();
          break;
        case (3 << 3) | VARINT:
          m.portSpecifier = { case: 'portValue', value: this.varint32() };
          break;
        case (4 << 3) | LEN:
          m.portSpecifier = { case: 'namedPort', value: this.string() };
          break;
        case (5 << 3) | LEN:
          m.resolverName = this.string();
          break;
        case (6 << 3) | VARINT:
          m.ipv4Compat = this.bool();
          break;
        case (7 << 3) | LEN:
          m.networkNamespaceFilepath = this.string();
          break;
        default:
          unknown = this.unknown(unknown, tag, SOCKET_ADDRESS);
      }
    }
    this.close(end);
    return finish(m, unknown);
  }

  private request(into: AttributeContext_Request | undefined): AttributeContext_Request {
    const m: AttributeContext_Request = into ?? {
      $typeName: 'envoy.service.auth.v3.AttributeContext.Request',
    };
    const end = this.end();
    let unknown = m.$unknown;
    while (this.pos < end) {
      const tag = this.tag();
      if (tag === ((1 << 3) | LEN)) m.time = this.timestamp(m.time);
      else if (tag === ((2 << 3) | LEN)) m.http = this.http(m.http);
      else unknown = this.unknown(unknown, tag, REQUEST);
    }
    this.close(end);
    return finish(m, unknown);
  }

  private timestamp(into: Timestamp | undefined): Timestamp {
    const m: Timestamp = into ?? { $typeName: 'google.protobuf.Timestamp', seconds: 0n, nanos: 0 };
    const end = this.end();
    let unknown = m.$unknown;
    while (this.pos < end) {
      const tag = this.tag();
      if (tag === ((1 << 3) | VARINT)) m.seconds = this.int64();
      else if (tag === ((2 << 3) | VARINT)) m.nanos = this.varint32() | 0;
      else unknown = this.unknown(unknown, tag, TIMESTAMP);
    }
    this.close(end);
    return finish(m, unknown);
  }

  private http(into: AttributeContext_HttpRequest | undefined): AttributeContext_HttpRequest {
    const m: AttributeContext_HttpRequest = into ?? {
      $typeName: 'envoy.service.auth.v3.AttributeContext.HttpRequest',
      id: '',
      method: '',
      headers: {},
      path: '',
      host: '',
      scheme: '',
      query: '',
      fragment: '',
      size: 0n,
      protocol: '',
      body: '',
      rawBody: EMPTY_BYTES,
    };
    const end = this.end();
    let unknown = m.$unknown;
    while (this.pos < end) {
      const tag = this.tag();
      switch (tag) {
        case (1 << 3) | LEN:
          m.id = this.string();
          break;
        case (2 << 3) | LEN:
          m.method = this.string();
          break;
        case (3 << 3) | LEN:
          this.stringEntry(m.headers);
          break;
        case (4 << 3) | LEN:
          m.path = this.string();
          break;
        case (5 << 3) | LEN:
          m.host = this.string();
          break;
        case (6 << 3) | LEN:
          m.scheme = this.string();
          break;
        case (7 << 3) | LEN:
          m.query = this.string();
          break;
        case (8 << 3) | LEN:
          m.fragment = this.string();
          break;
        case (9 << 3) | VARINT:
          m.size = this.int64();
          break;
        case (10 << 3) | LEN:
          m.protocol = this.string();
          break;
        case (11 << 3) | LEN:
          m.body = this.string();
          break;
        case (12 << 3) | LEN:
          m.rawBody = this.bytes();
          break;
        case (13 << 3) | LEN:
          m.headerMap = this.headerMap(m.headerMap);
          break;
        default:
          unknown = this.unknown(unknown, tag, HTTP_REQUEST);
      }
    }
    this.close(end);
    return finish(m, unknown);
  }

  private headerMap(into: HeaderMap | undefined): HeaderMap {
    const m: HeaderMap = into ?? { $typeName: 'envoy.config.core.v3.HeaderMap', headers: [] };
    const end = this.end();
    let unknown = m.$unknown;
    while (this.pos < end) {
      const tag = this.tag();
      if (tag === ((1 << 3) | LEN)) m.headers.push(this.headerValue());
      else unknown = this.unknown(unknown, tag, HEADER_MAP);
    }
    this.close(end);
    return finish(m, unknown);
  }

  private headerValue(): HeaderValue {
    const m: HeaderValue = {
      $typeName: 'envoy.config.core.v3.HeaderValue',
      key: '',
      value: '',
      rawValue: EMPTY_BYTES,
    };
    const end = this.end();
    let unknown = m.$unknown;
    while (this.pos < end) {
      const tag = this.tag();
      if (tag === ((1 << 3) | LEN)) m.key = this.string();
      else if (tag === ((2 << 3) | LEN)) m.value = this.string();
      else if (tag === ((3 << 3) | LEN)) m.rawValue = this.bytes();
      else unknown = this.unknown(unknown, tag, HEADER_VALUE);
    }
    this.close(end);
    return finish(m, unknown);
  }

  private tlsSession(into: AttributeContext_TLSSession | undefined): AttributeContext_TLSSession {
    const m: AttributeContext_TLSSession = into ?? {
      $typeName: 'envoy.service.auth.v3.AttributeContext.TLSSession',
      sni: '',
    };
    const end = this.end();
    let unknown = m.$unknown;
    while (this.pos < end) {
      const tag = this.tag();
      if (tag === ((1 << 3) | LEN)) m.sni = this.string();
      else unknown = this.unknown(unknown, tag, TLS_SESSION);
    }
    this.close(end);
    return finish(m, unknown);
  }

  /**
   * A rare sub-message, decoded by protobuf-es into `into` (merging, as a repeated message field
   * does) from its bytes. `depth` is the sub-message's nesting (CheckRequest is 1): protobuf-es
   * counts nesting from the outermost message, so the limit left for this one is what it would be.
   */
  private library<D extends DescMessage>(
    schema: D,
    into: MessageShape<D> | undefined,
    depth: number,
  ): MessageShape<D> {
    const end = this.end();
    const m = into ?? create(schema);
    mergeFromBinary(schema, m, this.buf.subarray(this.pos, end), {
      recursionLimit: RECURSION_LIMIT + 1 - depth,
    });
    this.pos = end;
    return m;
  }

  /** One `map<string, string>` entry into `record`. */
  private stringEntry(record: Record<string, string>): void {
    const end = this.end();
    let key = '';
    let value = '';
    while (this.pos < end) {
      const tag = this.tag();
      if (tag === ((1 << 3) | LEN)) key = this.string();
      else if (tag === ((2 << 3) | LEN)) value = this.string();
      else if (tag >>> 3 === 1 || tag >>> 3 === 2) giveUp();
      else this.skip(tag); // protobuf-es drops unknown fields of a map entry
    }
    this.close(end);
    if (key === '__proto__')
      Object.defineProperty(record, key, {
        value,
        writable: true,
        enumerable: true,
        configurable: true,
      });
    else record[key] = value;
  }

  /** The end of the length-delimited record that starts here. */
  private end(): number {
    const length = this.varint32();
    const end = this.pos + length;
    if (end > this.len) giveUp();
    return end;
  }

  /** A sub-message must end exactly where its length said (protobuf-es reads on past it). */
  private close(end: number): void {
    if (this.pos !== end) giveUp();
  }

  /** A tag: field number ≥ 1, wire type as written (checked by each message's switch). */
  private tag(): number {
    const tag = this.varint32();
    if (tag >>> 3 === 0) giveUp();
    return tag;
  }

  /** An unsigned varint of at most five bytes whose value fits in 32 bits. */
  private varint32(): number {
    const buf = this.buf;
    let pos = this.pos;
    if (pos >= this.len) giveUp();
    let b = buf[pos++] as number;
    if (b < 0x80) {
      this.pos = pos;
      return b;
    }
    let value = b & 0x7f;
    for (let shift = 7; shift < 28; shift += 7) {
      if (pos >= this.len) giveUp();
      b = buf[pos++] as number;
      value |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        return value;
      }
    }
    if (pos >= this.len) giveUp();
    b = buf[pos++] as number;
    if (b > 0x0f) giveUp(); // more than 32 bits, or a sixth byte
    this.pos = pos;
    return (value | (b << 28)) >>> 0;
  }

  /** A signed 64-bit varint (at most ten bytes), as protobuf-es returns it: a bigint. */
  private int64(): bigint {
    const buf = this.buf;
    const start = this.pos;
    let pos = start;
    let lo = 0;
    let hi = 0;
    for (let i = 0; ; i++) {
      if (i === 10 || pos >= this.len) giveUp();
      const b = buf[pos++] as number;
      const bits = b & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= (bits & 0x0f) << 28;
        hi = bits >> 4;
      } else {
        if (i === 9 && bits > 1) giveUp(); // beyond 64 bits
        hi |= bits << (7 * i - 32);
      }
      if (b < 0x80) break;
    }
    this.pos = pos;
    if (hi === 0 && lo >= 0) return BigInt(lo);
    return BigInt.asIntN(64, (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
  }

  private bool(): boolean {
    if (this.pos >= this.len) giveUp();
    const b = this.buf[this.pos++] as number;
    if (b >= 0x80) giveUp(); // a multi-byte bool: protobuf-es decides
    return b !== 0;
  }

  private bytes(): Uint8Array {
    const end = this.end();
    const start = this.pos;
    this.pos = end;
    return this.buf.subarray(start, end);
  }

  /**
   * A string, strict UTF-8 as protobuf-es decodes it: Node's native UTF-8 slice, checked for
   * replacement characters; short ones through the cache of recent strings.
   */
  private string(): string {
    const end = this.end();
    const start = this.pos;
    this.pos = end;
    if (end - start <= INTERN_MAX_BYTES) return this.interned(start, end);
    return this.decode(start, end);
  }

  private decode(start: number, end: number): string {
    const text = utf8Slice.call(this.text, start, end);
    // Invalid UTF-8 decodes to U+FFFD here; protobuf-es refuses it (a string field is strict).
    // A U+FFFD written as such is valid: the strict decoder tells the two apart.
    if (text.includes('\uFFFD')) return strictUtf8.decode(this.buf.subarray(start, end));
    return text;
  }

  /**
   * A short string through the cache of recent ones: header names and most header values repeat
   * from request to request, and hashing and comparing a few bytes here costs less than a native
   * decode (and than making a fresh string into a property key, for a map key).
   *
   * A string enters the cache the second time its hash is seen in a row at its slot, in another
   * request than the first time: a value unique to one request (a trace or request id, a
   * timestamp) is decoded and never copied in, even when the request carries it twice (Envoy's
   * `x-request-id` header and the request's `id` are the same value). Copied in, it would outlive
   * a few young-generation collections, be promoted, and become old-space garbage when the next
   * one took its slot — work for every full GC — and it would evict a value that repeats.
   */
  private interned(start: number, end: number): string {
    const buf = this.buf;
    let hash = 0x811c9dc5;
    for (let i = start; i < end; i++) hash = Math.imul(hash ^ (buf[i] as number), 0x01000193);
    const slot = (hash >>> 0) & (INTERN_SLOTS - 1);
    const hit = internBytes[slot];
    if (hit !== undefined && hit.length === end - start) {
      let i = 0;
      while (i < hit.length && hit[i] === buf[start + i]) i++;
      if (i === hit.length) return internText[slot] as string;
    }
    const text = this.decode(start, end);
    if (internSeen[slot] !== (hash | 0) || internSeenIn[slot] === this.requestNumber) {
      internSeen[slot] = hash;
      internSeenIn[slot] = this.requestNumber;
      return text;
    }
    // A copy: the request's buffer (a Buffer, whose slice is a view) may be pooled, large or
    // written again; the cache must neither keep it alive nor change under it.
    internBytes[slot] = new Uint8Array(buf.subarray(start, end));
    internText[slot] = text;
    return text;
  }

  /**
   * An unknown field, kept as protobuf-es keeps it; groups are left to protobuf-es, and so is a
   * known field (`known`: a bit per field number) with another wire type than its own.
   */
  private unknown(into: UnknownField[] | undefined, tag: number, known: number): UnknownField[] {
    const no = tag >>> 3;
    if (no < 32 && ((known >>> no) & 1) === 1) giveUp();
    const list = into ?? [];
    list.push({ no, wireType: (tag & 7) as WireType, data: this.skip(tag) });
    return list;
  }

  private skip(tag: number): Uint8Array {
    const start = this.pos;
    switch (tag & 7) {
      case VARINT:
        for (let i = 0; ; i++) {
          if (i === 10 || this.pos >= this.len) giveUp();
          if ((this.buf[this.pos++] as number) < 0x80) break;
        }
        break;
      case I64:
        this.pos += 8;
        break;
      case LEN:
        this.pos = this.end();
        break;
      case I32:
        this.pos += 4;
        break;
      default:
        giveUp(); // groups (3, 4) and the invalid wire types 6 and 7
    }
    if (this.pos > this.len) giveUp();
    return this.buf.subarray(start, this.pos);
  }
}

const EMPTY_BYTES = new Uint8Array(0);

/** The field numbers of a message, a bit each (all below 32 here). */
const fields = (...numbers: number[]): number => numbers.reduce((bits, n) => bits | (1 << n), 0);
const CHECK_REQUEST = fields(1);
const ATTRIBUTE_CONTEXT = fields(1, 2, 4, 10, 11, 12, 13);
const PEER = fields(1, 2, 3, 4, 5);
const ADDRESS = fields(1, 2, 3);
const SOCKET_ADDRESS = fields(1, 2, 3, 4, 5, 6, 7);
const REQUEST = fields(1, 2);
const TIMESTAMP = fields(1, 2);
const HTTP_REQUEST = fields(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13);
const HEADER_MAP = fields(1);
const HEADER_VALUE = fields(1, 2, 3);
const TLS_SESSION = fields(1);

/** Strings up to this many bytes go through the cache (header names, most header values). */
const INTERN_MAX_BYTES = 64;
/** Slots of the direct-mapped cache (a power of two): at most 4,096 × 64 bytes and their text. */
const INTERN_SLOTS = 4096;
const internBytes: (Uint8Array | undefined)[] = new Array(INTERN_SLOTS);
const internText: (string | undefined)[] = new Array(INTERN_SLOTS);
/** Per slot, the hash of the last string that missed there (see `interned`). */
const internSeen = new Int32Array(INTERN_SLOTS);
/** Per slot, the request that string was seen in. */
const internSeenIn = new Int32Array(INTERN_SLOTS);
/** Requests decoded so far (wrapping): each Decoder's number. */
let requests = 0;

/** The strings the cache of recent strings holds now (for tests). */
export function internedStrings(): ReadonlySet<string> {
  const held = new Set<string>();
  for (const text of internText) if (text !== undefined) held.add(text);
  return held;
}

/** Keep unknown fields as protobuf-es does: assigned after the message's fields, if any. */
function finish<M extends Message>(m: M, unknown: UnknownField[] | undefined): M {
  if (unknown !== undefined && unknown.length > 0) m.$unknown = unknown;
  return m;
}
