import type { Socket } from 'node:net';
import { HpackDecoder, HpackError } from './hpack.js';
import {
  ACK,
  DEFAULT_WINDOW,
  FRAME_HEADER,
  Flag,
  FrameType,
  H2Error,
  MAX_MAX_FRAME_SIZE,
  MAX_WINDOW,
  MIN_MAX_FRAME_SIZE,
  PREFACE,
  Setting,
  buildFrame,
  wordsFrame,
} from './frames.js';
import { H2Stream, type StreamHost } from './stream.js';

/** What one connection allows its peer (config `grpc.*` and the message limits). */
export interface H2Limits {
  /** SETTINGS_MAX_CONCURRENT_STREAMS: streams beyond it are refused with REFUSED_STREAM. */
  readonly maxConcurrentStreams: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE: a larger header list has its stream reset. */
  readonly maxHeaderListSize: number;
  /** The receive window of each stream and of the connection (octets). */
  readonly windowSize: number;
  /** Octets queued to a peer that does not read before the connection is cut off. */
  readonly maxQueuedOutput: number;
  /**
   * Request data the connection's open streams may hold at once (what arrived on streams whose
   * request has not ended); the stream whose data passes it is reset with ENHANCE_YOUR_CALM.
   * The windows are replenished as data arrives, so this, not flow control, bounds the memory.
   */
  readonly maxBufferedInput: number;
}

/** What a connection tells its owner. */
export interface H2Events {
  /** A request's headers arrived: the handler sets the stream's callbacks synchronously. */
  onStream(stream: H2Stream): void;
  /** The number of streams holding a slot went from 0 to 1 (`true`) or from 1 to 0 (`false`). */
  onBusy?(busy: boolean): void;
  /** The socket closed; every stream has been told. */
  onClose?(): void;
}

/** How many recently closed stream identifiers are remembered (to tell closed from never opened). */
const RECENTLY_CLOSED = 512;
/** A compressed header block larger than this ends the connection (CONTINUATION floods). */
const MAX_HEADER_BLOCK = 65_536;
/** How long a closing connection waits for the peer to take the GOAWAY before it is destroyed. */
const CLOSE_GRACE_MS = 1_000;

enum Phase {
  /** Waiting for the 24-octet preface. */
  Preface,
  /** Waiting for the peer's first frame, which must be SETTINGS. */
  FirstSettings,
  Frames,
  /** A connection error was sent; nothing more is read. */
  Failed,
}

/**
 * One server-side HTTP/2 connection (RFC 9113) over a socket, for a gRPC service: streams,
 * flow control in both directions, SETTINGS, PING, GOAWAY, and HPACK header blocks
 * (./hpack.ts). No server push, no priorities (PRIORITY frames are checked and ignored), no
 * extended CONNECT.
 *
 * Everything a peer does wrong is answered as RFC 9113 says: a connection error (GOAWAY and
 * the socket closed) or a stream error (RST_STREAM). Bounded against hostile peers: streams per
 * connection (a stream reset by the peer keeps its slot until the service is done with it, so
 * rapid resets cannot pile up work), header blocks (compressed and decoded), and output queued
 * for a peer that does not read.
 *
 * Frames to send are collected during a turn of the event loop and written together.
 */
export class H2Connection implements StreamHost {
  readonly socket: Socket;
  private readonly limits: H2Limits;
  private readonly events: H2Events;
  private readonly decoder = new HpackDecoder(4096);
  private readonly streams = new Map<number, H2Stream>();
  /** Recently closed streams: true for those Gatehouse reset (frames on them are ignored). */
  private readonly recentlyClosed = new Map<number, boolean>();
  private phase = Phase.Preface;
  /** The start of a frame not yet complete, in chunks, and how many octets it needs. */
  private input: Buffer[] = [];
  private inputLength = 0;
  private inputNeeded = 0;
  private lastStreamId = 0;
  /** Streams holding a slot: open, or reset by the peer while the service still works on them. */
  private slots = 0;
  /** Request data held by streams whose request has not ended (see H2Limits.maxBufferedInput). */
  private buffered = 0;
  /** A header block being continued: its stream, fragments so far, and the flags of its HEADERS. */
  private continuing:
    | { id: number; fragments: Buffer[]; size: number; endStream: boolean; selfDependent: boolean }
    | undefined;
  // Flow control.
  private receiveWindow = DEFAULT_WINDOW;
  private sendWindow = DEFAULT_WINDOW;
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrameSize = MIN_MAX_FRAME_SIZE;
  // Output.
  private output: Buffer[] = [];
  private flushScheduled = false;
  private goawaySent = false;
  /** The socket was ended after GOAWAY (once). */
  private ending = false;
  private closed = false;
  /** Streams with frames to send (at the end of the turn, or when a window opens), in order. */
  private readonly pending = new Set<H2Stream>();

  constructor(socket: Socket, limits: H2Limits, events: H2Events) {
    this.socket = socket;
    this.limits = limits;
    this.events = events;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', () => socket.destroy());
    socket.once('close', () => this.onSocketClose());
    // Our SETTINGS, and the connection window raised to the same size as each stream's.
    const settings = Buffer.allocUnsafe(18);
    settings.writeUInt16BE(Setting.MAX_CONCURRENT_STREAMS, 0);
    settings.writeUInt32BE(limits.maxConcurrentStreams, 2);
    settings.writeUInt16BE(Setting.INITIAL_WINDOW_SIZE, 6);
    settings.writeUInt32BE(limits.windowSize, 8);
    settings.writeUInt16BE(Setting.MAX_HEADER_LIST_SIZE, 12);
    settings.writeUInt32BE(limits.maxHeaderListSize, 14);
    this.queue(buildFrame(FrameType.SETTINGS, 0, 0, settings));
    if (limits.windowSize > DEFAULT_WINDOW) {
      this.queue(wordsFrame(FrameType.WINDOW_UPDATE, 0, limits.windowSize - DEFAULT_WINDOW));
      this.receiveWindow = limits.windowSize;
    }
  }

  /** Whether the connection is closing or closed (GOAWAY sent or the socket gone). */
  get closing(): boolean {
    return this.goawaySent || this.closed;
  }

  /**
   * Close gracefully: GOAWAY (NO_ERROR) naming the last stream accepted, so streams in flight
   * finish and the peer opens no more; the socket ends once none is left.
   */
  close(): void {
    if (this.closed) return;
    if (!this.goawaySent) {
      this.goawaySent = true;
      this.queue(wordsFrame(FrameType.GOAWAY, 0, this.lastStreamId, H2Error.NO_ERROR));
    }
    this.endIfDone();
  }

  /** Destroy the socket now (the end of a shutdown's grace, a peer that does not read). */
  destroy(): void {
    this.flush();
    this.socket.destroy();
  }

  // ---- Input ------------------------------------------------------------------------------

  private receive(chunk: Buffer): void {
    if (this.phase === Phase.Failed) return;
    let data = chunk;
    if (this.input.length > 0) {
      // A partial frame waits for the octets it needs; they are joined once, not per chunk (a
      // peer sending a byte at a time must not make each byte copy all before it).
      this.input.push(chunk);
      this.inputLength += chunk.length;
      if (this.inputLength < this.inputNeeded) return;
      data = Buffer.concat(this.input, this.inputLength);
      this.input = [];
      this.inputLength = 0;
    }
    try {
      this.parse(data);
    } catch {
      // A fault of Gatehouse's own while handling the peer's frames: that connection ends (its
      // requests are not answered, so Envoy denies or retries them), never the process.
      this.fail(H2Error.INTERNAL_ERROR);
    }
  }

  private parse(data: Buffer): void {
    let at = 0;
    if (this.phase === Phase.Preface) {
      const have = Math.min(data.length, PREFACE.length);
      if (data.compare(PREFACE, 0, have, 0, have) !== 0) {
        this.fail(H2Error.PROTOCOL_ERROR);
        return;
      }
      if (data.length < PREFACE.length) {
        this.keep(data, PREFACE.length);
        return;
      }
      at = PREFACE.length;
      this.phase = Phase.FirstSettings;
    }
    while (this.phase !== Phase.Failed && data.length - at >= FRAME_HEADER) {
      const length = (data[at]! << 16) | (data[at + 1]! << 8) | data[at + 2]!;
      if (length > MIN_MAX_FRAME_SIZE) {
        // Gatehouse never raises SETTINGS_MAX_FRAME_SIZE above its initial value.
        this.fail(H2Error.FRAME_SIZE_ERROR);
        return;
      }
      if (data.length - at < FRAME_HEADER + length) {
        this.keep(data.subarray(at), FRAME_HEADER + length);
        return;
      }
      const type = data[at + 3]!;
      const flags = data[at + 4]!;
      const id = data.readUInt32BE(at + 5) & 0x7fff_ffff;
      const payload = data.subarray(at + FRAME_HEADER, at + FRAME_HEADER + length);
      at += FRAME_HEADER + length;
      this.frame(type, flags, id, payload);
    }
    if (this.phase !== Phase.Failed && at < data.length) this.keep(data.subarray(at), FRAME_HEADER);
  }

  /** Keep the start of a frame (or of the preface) until `needed` octets of it have arrived. */
  private keep(partial: Buffer, needed: number): void {
    // A copy, so the rest of the socket's chunk can go.
    this.input = [Buffer.from(partial)];
    this.inputLength = partial.length;
    this.inputNeeded = needed;
  }

  private frame(type: number, flags: number, id: number, payload: Buffer): void {
    if (this.phase === Phase.FirstSettings) {
      if (type !== FrameType.SETTINGS || (flags & ACK) !== 0) {
        this.fail(H2Error.PROTOCOL_ERROR);
        return;
      }
      this.phase = Phase.Frames;
    }
    if (
      this.continuing !== undefined &&
      (type !== FrameType.CONTINUATION || id !== this.continuing.id)
    ) {
      this.fail(H2Error.PROTOCOL_ERROR);
      return;
    }
    switch (type) {
      case FrameType.DATA:
        this.onData(flags, id, payload);
        return;
      case FrameType.HEADERS:
        this.onHeaders(flags, id, payload);
        return;
      case FrameType.PRIORITY:
        this.onPriority(id, payload);
        return;
      case FrameType.RST_STREAM:
        this.onReset(id, payload);
        return;
      case FrameType.SETTINGS:
        this.onSettings(flags, id, payload);
        return;
      case FrameType.PUSH_PROMISE:
        // A client never pushes (RFC 9113 §8.4).
        this.fail(H2Error.PROTOCOL_ERROR);
        return;
      case FrameType.PING:
        this.onPing(flags, id, payload);
        return;
      case FrameType.GOAWAY:
        this.onGoaway(id, payload);
        return;
      case FrameType.WINDOW_UPDATE:
        this.onWindowUpdate(id, payload);
        return;
      case FrameType.CONTINUATION:
        this.onContinuation(flags, id, payload);
        return;
      default:
      // Unknown frame types are ignored (RFC 9113 §4.1, §5.5).
    }
  }

  /** The payload without padding, or undefined after a connection error for bad padding. */
  private unpad(flags: number, payload: Buffer, skip = 0): Buffer | undefined {
    if ((flags & Flag.PADDED) === 0) return skip === 0 ? payload : payload.subarray(skip);
    if (payload.length < 1) {
      this.fail(H2Error.FRAME_SIZE_ERROR);
      return undefined;
    }
    const pad = payload[0]!;
    if (pad >= payload.length - skip) {
      this.fail(H2Error.PROTOCOL_ERROR);
      return undefined;
    }
    return payload.subarray(1 + skip, payload.length - pad);
  }

  /** An identifier above every stream the peer opened: the stream is idle. */
  private isIdle(id: number): boolean {
    return id > this.lastStreamId;
  }

  private onData(flags: number, id: number, payload: Buffer): void {
    if (id === 0) {
      this.fail(H2Error.PROTOCOL_ERROR);
      return;
    }
    if (this.isIdle(id)) {
      this.fail(H2Error.PROTOCOL_ERROR);
      return;
    }
    // The whole payload, padding included, counts against the windows (RFC 9113 §6.9.1).
    if (payload.length > this.receiveWindow) {
      this.fail(H2Error.FLOW_CONTROL_ERROR);
      return;
    }
    this.receiveWindow -= payload.length;
    this.replenishConnection();
    const data = this.unpad(flags, payload);
    if (data === undefined) return;
    const stream = this.streams.get(id);
    if (stream === undefined) {
      // Data the peer sent before it saw our RST_STREAM is ignored (RFC 9113 §5.1, closed).
      if (this.recentlyClosed.get(id) !== true) this.streamError(id, H2Error.STREAM_CLOSED);
      return;
    }
    if (stream.remoteEnded) {
      this.streamError(id, H2Error.STREAM_CLOSED);
      return;
    }
    if (payload.length > stream.receiveWindow) {
      this.streamError(id, H2Error.FLOW_CONTROL_ERROR);
      return;
    }
    stream.receiveWindow -= payload.length;
    if (this.buffered + data.length > this.limits.maxBufferedInput) {
      this.streamError(id, H2Error.ENHANCE_YOUR_CALM);
      return;
    }
    this.buffered += data.length;
    stream.held += data.length;
    const end = (flags & Flag.END_STREAM) !== 0;
    if (!stream.receive(data, end)) {
      // More or fewer octets than its content-length (RFC 9113 §8.1.1).
      this.streamError(id, H2Error.PROTOCOL_ERROR);
      return;
    }
    if (!end && stream.receiveWindow < this.limits.windowSize / 2) {
      this.queue(
        wordsFrame(FrameType.WINDOW_UPDATE, id, this.limits.windowSize - stream.receiveWindow),
      );
      stream.receiveWindow = this.limits.windowSize;
    }
    if (end) this.remoteEnded(stream);
  }

  private replenishConnection(): void {
    if (this.receiveWindow >= this.limits.windowSize / 2) return;
    this.queue(wordsFrame(FrameType.WINDOW_UPDATE, 0, this.limits.windowSize - this.receiveWindow));
    this.receiveWindow = this.limits.windowSize;
  }

  private onHeaders(flags: number, id: number, payload: Buffer): void {
    if (id === 0 || id % 2 === 0) {
      this.fail(H2Error.PROTOCOL_ERROR);
      return;
    }
    const priority = (flags & Flag.PRIORITY) !== 0 ? 5 : 0;
    if (payload.length < priority + ((flags & Flag.PADDED) !== 0 ? 1 : 0)) {
      this.fail(H2Error.FRAME_SIZE_ERROR);
      return;
    }
    const fragment = this.unpad(flags, payload, priority);
    if (fragment === undefined) return;
    let selfDependent = false;
    if (priority !== 0) {
      const at = (flags & Flag.PADDED) !== 0 ? 1 : 0;
      selfDependent = (payload.readUInt32BE(at) & 0x7fff_ffff) === id;
    }
    const endStream = (flags & Flag.END_STREAM) !== 0;
    if ((flags & Flag.END_HEADERS) === 0) {
      if (fragment.length > MAX_HEADER_BLOCK) {
        this.fail(H2Error.ENHANCE_YOUR_CALM);
        return;
      }
      // Copied: the socket's chunk it points into is not kept.
      const fragments = [Buffer.from(fragment)];
      this.continuing = { id, fragments, size: fragment.length, endStream, selfDependent };
      return;
    }
    this.headerBlock(id, fragment, endStream, selfDependent);
  }

  private onContinuation(flags: number, id: number, payload: Buffer): void {
    const block = this.continuing;
    if (block === undefined || id !== block.id) {
      this.fail(H2Error.PROTOCOL_ERROR);
      return;
    }
    block.size += payload.length;
    if (block.size > MAX_HEADER_BLOCK) {
      this.fail(H2Error.ENHANCE_YOUR_CALM);
      return;
    }
    block.fragments.push(Buffer.from(payload));
    if ((flags & Flag.END_HEADERS) === 0) return;
    this.continuing = undefined;
    this.headerBlock(id, Buffer.concat(block.fragments), block.endStream, block.selfDependent);
  }

  /** A complete header block on stream `id`: a new request, or trailers. */
  private headerBlock(id: number, block: Buffer, endStream: boolean, selfDependent: boolean): void {
    // Decoded first, whatever becomes of the stream: the decoder's table must follow the peer's.
    let decoded: { fields: string[]; oversize: boolean };
    try {
      decoded = this.decoder.decode(block, this.limits.maxHeaderListSize);
    } catch (err) {
      if (!(err instanceof HpackError)) throw err;
      this.fail(H2Error.COMPRESSION_ERROR);
      return;
    }
    const existing = this.streams.get(id);
    if (existing !== undefined) {
      if (existing.remoteEnded) {
        this.streamError(id, H2Error.STREAM_CLOSED);
        return;
      }
      // Trailers: they end the stream and carry no pseudo-header.
      if (
        !endStream ||
        selfDependent ||
        decoded.fields.some((f, i) => i % 2 === 0 && f.startsWith(':'))
      ) {
        this.streamError(id, H2Error.PROTOCOL_ERROR);
        return;
      }
      if (!existing.receive(EMPTY, true)) {
        this.streamError(id, H2Error.PROTOCOL_ERROR);
        return;
      }
      this.remoteEnded(existing);
      return;
    }
    if (!this.isIdle(id)) {
      const closedBy = this.recentlyClosed.get(id);
      if (closedBy === true) return; // sent before the peer saw our RST_STREAM
      this.fail(closedBy === false ? H2Error.STREAM_CLOSED : H2Error.PROTOCOL_ERROR);
      return;
    }
    this.lastStreamId = id;
    if (selfDependent) {
      this.streamError(id, H2Error.PROTOCOL_ERROR);
      return;
    }
    if (this.goawaySent || this.slots >= this.limits.maxConcurrentStreams) {
      this.streamError(id, H2Error.REFUSED_STREAM);
      return;
    }
    if (decoded.oversize) {
      this.streamError(id, H2Error.ENHANCE_YOUR_CALM);
      return;
    }
    const request = requestHeaders(decoded.fields);
    if (request === undefined) {
      this.streamError(id, H2Error.PROTOCOL_ERROR);
      return;
    }
    const stream = new H2Stream(this, id, request.headers, request.contentLength);
    stream.receiveWindow = this.limits.windowSize;
    stream.sendWindow = this.peerInitialWindow;
    this.streams.set(id, stream);
    this.slots++;
    if (this.slots === 1) this.events.onBusy?.(true);
    this.events.onStream(stream);
    if (endStream) {
      if (!stream.receive(EMPTY, true)) {
        this.streamError(id, H2Error.PROTOCOL_ERROR);
        return;
      }
      this.remoteEnded(stream);
    }
  }

  private remoteEnded(stream: H2Stream): void {
    stream.remoteEnded = true;
    this.letGo(stream);
    // Answered already (and every frame of the answer sent): the stream is closed both ways.
    if (stream.localEnded && !stream.hasOutput()) this.forget(stream);
    stream.onEnd?.();
  }

  private onPriority(id: number, payload: Buffer): void {
    if (id === 0) {
      this.fail(H2Error.PROTOCOL_ERROR);
      return;
    }
    if (payload.length !== 5) {
      this.streamError(id, H2Error.FRAME_SIZE_ERROR);
      return;
    }
    if ((payload.readUInt32BE(0) & 0x7fff_ffff) === id)
      this.streamError(id, H2Error.PROTOCOL_ERROR);
  }

  private onReset(id: number, payload: Buffer): void {
    if (payload.length !== 4) {
      this.fail(H2Error.FRAME_SIZE_ERROR);
      return;
    }
    if (id === 0 || this.isIdle(id)) {
      this.fail(H2Error.PROTOCOL_ERROR);
      return;
    }
    const stream = this.streams.get(id);
    if (stream === undefined) return;
    this.closeStream(stream);
  }

  private onSettings(flags: number, id: number, payload: Buffer): void {
    if (id !== 0) {
      this.fail(H2Error.PROTOCOL_ERROR);
      return;
    }
    if ((flags & ACK) !== 0) {
      if (payload.length !== 0) this.fail(H2Error.FRAME_SIZE_ERROR);
      return;
    }
    if (payload.length % 6 !== 0) {
      this.fail(H2Error.FRAME_SIZE_ERROR);
      return;
    }
    // The last INITIAL_WINDOW_SIZE of the frame is applied once, after the loop: applying each
    // would walk every stream per entry (a frame can hold 2,730 of them).
    let initialWindow = -1;
    for (let at = 0; at < payload.length; at += 6) {
      const setting = payload.readUInt16BE(at);
      const value = payload.readUInt32BE(at + 2);
      switch (setting) {
        case Setting.ENABLE_PUSH:
          if (value > 1) {
            this.fail(H2Error.PROTOCOL_ERROR);
            return;
          }
          break;
        case Setting.INITIAL_WINDOW_SIZE:
          if (value > MAX_WINDOW) {
            this.fail(H2Error.FLOW_CONTROL_ERROR);
            return;
          }
          initialWindow = value;
          break;
        case Setting.MAX_FRAME_SIZE:
          if (value < MIN_MAX_FRAME_SIZE || value > MAX_MAX_FRAME_SIZE) {
            this.fail(H2Error.PROTOCOL_ERROR);
            return;
          }
          this.peerMaxFrameSize = value;
          break;
        default:
        // HEADER_TABLE_SIZE: Gatehouse's encoder never indexes; the rest are advisory or unknown.
      }
    }
    if (initialWindow >= 0 && initialWindow !== this.peerInitialWindow) {
      const delta = initialWindow - this.peerInitialWindow;
      this.peerInitialWindow = initialWindow;
      for (const stream of this.streams.values()) {
        stream.sendWindow += delta;
        if (stream.sendWindow > MAX_WINDOW) {
          this.fail(H2Error.FLOW_CONTROL_ERROR);
          return;
        }
      }
    }
    this.queue(buildFrame(FrameType.SETTINGS, ACK, 0));
    this.scheduleFlush();
  }

  private onPing(flags: number, id: number, payload: Buffer): void {
    if (id !== 0) {
      this.fail(H2Error.PROTOCOL_ERROR);
      return;
    }
    if (payload.length !== 8) {
      this.fail(H2Error.FRAME_SIZE_ERROR);
      return;
    }
    if ((flags & ACK) === 0) this.queue(buildFrame(FrameType.PING, ACK, 0, payload));
  }

  private onGoaway(id: number, payload: Buffer): void {
    if (id !== 0) {
      this.fail(H2Error.PROTOCOL_ERROR);
      return;
    }
    if (payload.length < 8) {
      this.fail(H2Error.FRAME_SIZE_ERROR);
      return;
    }
    // The peer opens no more streams; the ones in flight finish, then the connection ends.
    this.close();
  }

  private onWindowUpdate(id: number, payload: Buffer): void {
    if (payload.length !== 4) {
      this.fail(H2Error.FRAME_SIZE_ERROR);
      return;
    }
    const increment = payload.readUInt32BE(0) & 0x7fff_ffff;
    if (id === 0) {
      if (increment === 0) {
        this.fail(H2Error.PROTOCOL_ERROR);
        return;
      }
      this.sendWindow += increment;
      if (this.sendWindow > MAX_WINDOW) {
        this.fail(H2Error.FLOW_CONTROL_ERROR);
        return;
      }
      this.scheduleFlush();
      return;
    }
    if (this.isIdle(id)) {
      this.fail(H2Error.PROTOCOL_ERROR);
      return;
    }
    const stream = this.streams.get(id);
    if (stream === undefined) return;
    if (increment === 0) {
      this.streamError(id, H2Error.PROTOCOL_ERROR);
      return;
    }
    stream.sendWindow += increment;
    if (stream.sendWindow > MAX_WINDOW) {
      this.streamError(id, H2Error.FLOW_CONTROL_ERROR);
      return;
    }
    if (this.pending.has(stream)) this.scheduleFlush();
  }

  // ---- Streams ----------------------------------------------------------------------------

  /** A stream error: RST_STREAM with `code`, and the stream (if open) is closed. */
  private streamError(id: number, code: H2Error): void {
    this.queue(wordsFrame(FrameType.RST_STREAM, id, code));
    const stream = this.streams.get(id);
    if (stream !== undefined) {
      stream.localEnded = true;
      this.closeStream(stream);
    }
    this.rememberClosed(id, true);
  }

  /** The request's data is the service's now (or nobody's): it no longer counts as buffered. */
  private letGo(stream: H2Stream): void {
    this.buffered -= stream.held;
    stream.held = 0;
  }

  /** The stream is closed before it ended normally: reset by either side or the connection. */
  private closeStream(stream: H2Stream): void {
    this.letGo(stream);
    this.pending.delete(stream);
    stream.discardOutput();
    this.forget(stream);
    stream.reset = true;
    stream.onClose?.();
    // A service still answering keeps the slot until it lets go (see release()).
    if (!stream.serviceBusy) this.releaseSlot(stream);
  }

  /** Forget a stream that is closed in both directions (or reset). */
  private forget(stream: H2Stream): void {
    if (this.streams.delete(stream.id)) {
      this.rememberClosed(stream.id, false);
      if (!stream.serviceBusy) this.releaseSlot(stream);
    }
  }

  private rememberClosed(id: number, byUs: boolean): void {
    if (byUs || !this.recentlyClosed.has(id)) this.recentlyClosed.set(id, byUs);
    if (this.recentlyClosed.size > RECENTLY_CLOSED) {
      const oldest = this.recentlyClosed.keys().next().value;
      if (oldest !== undefined) this.recentlyClosed.delete(oldest);
    }
  }

  private releaseSlot(stream: H2Stream): void {
    if (stream.slotReleased) return;
    stream.slotReleased = true;
    this.slots--;
    if (this.slots === 0) {
      this.events.onBusy?.(false);
      this.endIfDone();
    }
  }

  /** StreamHost: the service is done with `stream` (answered, or gave up on it). */
  release(stream: H2Stream): void {
    if (!this.streams.has(stream.id)) this.releaseSlot(stream);
  }

  /**
   * StreamHost: `stream` has frames to send. They are framed when the turn's output is written
   * (or later, when a window opens), so a stream reset by a frame read in the same turn sends
   * nothing more.
   */
  send(stream: H2Stream): void {
    if (this.closed) {
      stream.discardOutput();
      return;
    }
    this.pending.add(stream);
    this.scheduleFlush();
  }

  /** Move what `stream` may send now into the output. */
  private drain(stream: H2Stream): void {
    const budget = Math.max(0, Math.min(this.sendWindow, stream.sendWindow));
    const used = stream.writeInto(budget, this.peerMaxFrameSize);
    this.sendWindow -= used;
    stream.sendWindow -= used;
    if (stream.localEnded && !stream.hasOutput()) {
      if (stream.remoteEnded || stream.reset) this.forget(stream);
      else {
        // Answered before the request ended (an early error): the rest of it is not wanted.
        this.queue(wordsFrame(FrameType.RST_STREAM, stream.id, H2Error.NO_ERROR));
        stream.remoteEnded = true;
        this.forget(stream);
        this.rememberClosed(stream.id, true);
      }
    }
  }

  /** Frame what the pending streams may send, in the order they asked. */
  private drainPending(): void {
    for (const stream of this.pending) {
      this.drain(stream);
      if (!stream.hasOutput()) this.pending.delete(stream);
    }
  }

  // ---- Output -----------------------------------------------------------------------------

  /** StreamHost and internal: queue bytes for the socket; written at the end of the turn. */
  queue(bytes: Buffer): void {
    if (this.closed) return;
    this.output.push(bytes);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.pending.size > 0 && !this.closed) this.drainPending();
    if (this.output.length === 0 || this.socket.destroyed) {
      this.output = [];
      return;
    }
    const out = this.output.length === 1 ? this.output[0]! : Buffer.concat(this.output);
    this.output = [];
    this.socket.write(out);
    if (this.socket.writableLength > this.limits.maxQueuedOutput) {
      // The peer does not read what it asks for (PING or SETTINGS floods, a zero window on
      // the socket): cut it off rather than buffer without bound.
      this.socket.destroy();
    }
  }

  /** A connection error: GOAWAY with `code`, nothing more read, the socket ended. */
  private fail(code: H2Error): void {
    if (this.phase === Phase.Failed) return;
    this.phase = Phase.Failed;
    this.input = [];
    this.continuing = undefined;
    // Streams in flight are cut off: nothing of theirs follows the GOAWAY.
    for (const stream of [...this.streams.values()]) this.closeStream(stream);
    if (!this.closed) {
      this.goawaySent = true;
      this.output.push(wordsFrame(FrameType.GOAWAY, 0, this.lastStreamId, code));
      this.flush();
      this.socket.end();
      setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
    }
  }

  /** After GOAWAY: end the socket once no stream holds a slot. */
  private endIfDone(): void {
    if (!this.goawaySent || this.slots > 0 || this.closed || this.phase === Phase.Failed) return;
    if (this.ending) return;
    this.ending = true;
    this.flush();
    this.socket.end();
    setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  private onSocketClose(): void {
    this.closed = true;
    this.output = [];
    for (const stream of [...this.streams.values()]) this.closeStream(stream);
    this.events.onClose?.();
  }
}

const EMPTY = Buffer.alloc(0);

/** A request's header fields, checked as RFC 9113 §8.2 and §8.3 require of a server. */
interface RequestHeaders {
  /** Lowercase names; repeated fields joined with ", " (cookie with "; "). */
  readonly headers: Record<string, string>;
  /** The declared content-length, or -1. */
  readonly contentLength: number;
}

const PSEUDO = new Set([':method', ':scheme', ':path', ':authority']);
const CONNECTION_SPECIFIC = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
]);
/** A lowercase field name: tchar without uppercase (RFC 9110 §5.1, RFC 9113 §8.2.1). */
const FIELD_NAME = /^[a-z0-9!#$%&'*+\-.^_`|~]+$/;
/** NUL, CR and LF may not appear in a value, nor whitespace at either end (RFC 9113 §8.2.1). */
const BAD_VALUE = /[\0\r\n]|^[ \t]|[ \t]$/;

/** The request's headers, or undefined when they are malformed (a stream error). */
export function requestHeaders(fields: readonly string[]): RequestHeaders | undefined {
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  let regular = false;
  let contentLength = -1;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    const value = fields[i + 1]!;
    if (BAD_VALUE.test(value)) return undefined;
    if (name.charCodeAt(0) === 0x3a /* : */) {
      if (regular || !PSEUDO.has(name) || headers[name] !== undefined) return undefined;
      headers[name] = value;
      continue;
    }
    regular = true;
    if (!FIELD_NAME.test(name) || CONNECTION_SPECIFIC.has(name)) return undefined;
    if (name === 'te' && value !== 'trailers') return undefined;
    if (name === 'content-length') {
      if (!/^[0-9]{1,15}$/.test(value) || (contentLength !== -1 && contentLength !== Number(value)))
        return undefined;
      contentLength = Number(value);
    }
    const before = headers[name];
    headers[name] =
      before === undefined ? value : `${before}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  const method = headers[':method'];
  if (method === undefined || method === '') return undefined;
  if (method === 'CONNECT') {
    if (
      headers[':authority'] === undefined ||
      headers[':scheme'] !== undefined ||
      headers[':path'] !== undefined
    )
      return undefined;
  } else if (
    headers[':scheme'] === undefined ||
    headers[':path'] === undefined ||
    headers[':path'] === ''
  ) {
    return undefined;
  }
  return { headers, contentLength };
}
