/**
 * HTTP/2 wire constants (RFC 9113 §6, §7, §11) and the frame header.
 *
 * A frame is a 9-octet header — 24-bit payload length, 8-bit type, 8-bit flags, a reserved bit
 * and a 31-bit stream identifier — followed by the payload.
 */

export const FRAME_HEADER = 9;

/** The client connection preface (RFC 9113 §3.4), before its first SETTINGS frame. */
export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export enum FrameType {
  DATA = 0x0,
  HEADERS = 0x1,
  PRIORITY = 0x2,
  RST_STREAM = 0x3,
  SETTINGS = 0x4,
  PUSH_PROMISE = 0x5,
  PING = 0x6,
  GOAWAY = 0x7,
  WINDOW_UPDATE = 0x8,
  CONTINUATION = 0x9,
}

/** The ACK flag of SETTINGS and PING (the same bit as END_STREAM on DATA and HEADERS). */
export const ACK = 0x1;

export enum Flag {
  END_STREAM = 0x1,
  END_HEADERS = 0x4,
  PADDED = 0x8,
  PRIORITY = 0x20,
}

/** Error codes of RST_STREAM and GOAWAY (RFC 9113 §7). */
export enum H2Error {
  NO_ERROR = 0x0,
  PROTOCOL_ERROR = 0x1,
  INTERNAL_ERROR = 0x2,
  FLOW_CONTROL_ERROR = 0x3,
  SETTINGS_TIMEOUT = 0x4,
  STREAM_CLOSED = 0x5,
  FRAME_SIZE_ERROR = 0x6,
  REFUSED_STREAM = 0x7,
  CANCEL = 0x8,
  COMPRESSION_ERROR = 0x9,
  CONNECT_ERROR = 0xa,
  ENHANCE_YOUR_CALM = 0xb,
  INADEQUATE_SECURITY = 0xc,
  HTTP_1_1_REQUIRED = 0xd,
}

export enum Setting {
  HEADER_TABLE_SIZE = 0x1,
  ENABLE_PUSH = 0x2,
  MAX_CONCURRENT_STREAMS = 0x3,
  INITIAL_WINDOW_SIZE = 0x4,
  MAX_FRAME_SIZE = 0x5,
  MAX_HEADER_LIST_SIZE = 0x6,
}

/** The initial flow-control window of a connection and, until SETTINGS say otherwise, a stream. */
export const DEFAULT_WINDOW = 65_535;
/** The largest flow-control window (2^31 - 1). */
export const MAX_WINDOW = 0x7fff_ffff;
/** SETTINGS_MAX_FRAME_SIZE's initial value and lower bound; Gatehouse never raises its own. */
export const MIN_MAX_FRAME_SIZE = 16_384;
/** SETTINGS_MAX_FRAME_SIZE's upper bound (2^24 - 1). */
export const MAX_MAX_FRAME_SIZE = 0xff_ffff;

/** Write a frame header into `out` at `at`; returns the offset just past it. */
export function writeFrameHeader(
  out: Buffer,
  at: number,
  length: number,
  type: FrameType,
  flags: number,
  streamId: number,
): number {
  out[at] = length >>> 16;
  out[at + 1] = (length >>> 8) & 0xff;
  out[at + 2] = length & 0xff;
  out[at + 3] = type;
  out[at + 4] = flags;
  out.writeUInt32BE(streamId, at + 5);
  return at + FRAME_HEADER;
}

/** A whole frame: header and `payload`. */
export function buildFrame(
  type: FrameType,
  flags: number,
  streamId: number,
  payload?: Uint8Array,
): Buffer {
  const length = payload?.byteLength ?? 0;
  const out = Buffer.allocUnsafe(FRAME_HEADER + length);
  writeFrameHeader(out, 0, length, type, flags, streamId);
  if (payload !== undefined) out.set(payload, FRAME_HEADER);
  return out;
}

/** A frame whose payload is 32-bit words (RST_STREAM, WINDOW_UPDATE, GOAWAY without debug data). */
export function wordsFrame(type: FrameType, streamId: number, ...words: readonly number[]): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER + 4 * words.length);
  writeFrameHeader(out, 0, 4 * words.length, type, 0, streamId);
  for (let i = 0; i < words.length; i++) out.writeUInt32BE(words[i]!, FRAME_HEADER + 4 * i);
  return out;
}
