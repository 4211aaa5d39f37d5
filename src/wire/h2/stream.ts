import { FRAME_HEADER, Flag, FrameType, writeFrameHeader } from './frames.js';

/** What a stream needs from its connection. */
export interface StreamHost {
  /** Frames were added to the stream's output: send what the windows allow. */
  send(stream: H2Stream): void;
  /** The service is done with the stream (see {@link H2Stream.release}). */
  release(stream: H2Stream): void;
  /** Queue bytes for the socket. */
  queue(bytes: Buffer): void;
}

/** A frame waiting to be sent: a header block or data, possibly ending the stream. */
interface Pending {
  readonly headers: boolean;
  bytes: Buffer;
  readonly end: boolean;
}

/**
 * One request stream of an {@link H2Connection}, as the service sees it: the request's headers,
 * its data as it arrives (`onData`, then `onEnd`), and the response: a header block, data, and
 * the trailers that end it. `onClose` tells the service the stream was reset (by the peer, a
 * protocol error, or the connection's end) before the response ended; whatever it sends after
 * that is dropped.
 *
 * The stream holds one of its connection's SETTINGS_MAX_CONCURRENT_STREAMS slots from its
 * headers until both the protocol is done with it and the service is: the service lets go by
 * ending the response or by calling {@link release}. A peer that resets streams it just opened
 * therefore cannot make the service work on more than that many at once.
 */
export class H2Stream {
  readonly id: number;
  readonly headers: Readonly<Record<string, string>>;
  onData: ((chunk: Buffer) => void) | undefined;
  onEnd: (() => void) | undefined;
  onClose: (() => void) | undefined;
  /** Octets the peer may still send on this stream. */
  receiveWindow = 0;
  /** Octets of DATA this stream may still send. */
  sendWindow = 0;
  remoteEnded = false;
  localEnded = false;
  /** Reset (by either side) or cut off with its connection. */
  reset = false;
  /** Request data this stream holds until its request ends (the connection's budget). */
  held = 0;
  /** Whether the service still owns the stream (until it ends the response or releases it). */
  serviceBusy = true;
  slotReleased = false;
  private readonly host: StreamHost;
  private readonly contentLength: number;
  private received = 0;
  private output: Pending[] = [];
  private headersQueued = false;

  constructor(
    host: StreamHost,
    id: number,
    headers: Readonly<Record<string, string>>,
    contentLength: number,
  ) {
    this.host = host;
    this.id = id;
    this.headers = headers;
    this.contentLength = contentLength;
  }

  /** Whether the response can no longer be sent (reset, or already ended). */
  get closed(): boolean {
    return this.reset || this.localEnded;
  }

  /** Whether the response's headers have been sent (or queued). */
  get headersSent(): boolean {
    return this.headersQueued;
  }

  /**
   * Connection side: request data arrived. False when it breaks the declared content-length
   * (more than it, or the end before all of it): a stream error.
   */
  receive(data: Buffer, end: boolean): boolean {
    this.received += data.length;
    if (
      this.contentLength >= 0 &&
      (this.received > this.contentLength || (end && this.received !== this.contentLength))
    )
      return false;
    if (data.length > 0) this.onData?.(data);
    return true;
  }

  /** Send the response's header block (HPACK-encoded); `end` for a headers-only response. */
  respond(block: Buffer, end = false): void {
    if (this.closed || this.headersQueued) {
      this.release();
      return;
    }
    this.headersQueued = true;
    this.push({ headers: true, bytes: block, end });
  }

  /** Send response data (after {@link respond}); `end` ends the response with it (no trailers). */
  write(data: Buffer, end = false): void {
    if (this.closed) {
      if (end) this.release();
      return;
    }
    if (!this.headersQueued || (data.length === 0 && !end)) return;
    this.push({ headers: false, bytes: data, end });
  }

  /** End the response with a trailers block (HPACK-encoded). */
  end(trailers: Buffer): void {
    if (this.closed) {
      this.release();
      return;
    }
    this.headersQueued = true;
    this.push({ headers: true, bytes: trailers, end: true });
  }

  /** A unary answer at once: headers, one message's data, trailers. */
  respondUnary(headers: Buffer, data: Buffer, trailers: Buffer): void {
    if (this.closed || this.headersQueued) {
      this.release();
      return;
    }
    this.headersQueued = true;
    this.output.push({ headers: true, bytes: headers, end: false });
    this.output.push({ headers: false, bytes: data, end: false });
    this.push({ headers: true, bytes: trailers, end: true });
  }

  /**
   * The service is done with the stream without ending its response (the stream was reset,
   * or it gives up): its slot is freed once the protocol is done with it too.
   */
  release(): void {
    if (!this.serviceBusy) return;
    this.serviceBusy = false;
    this.host.release(this);
  }

  private push(item: Pending): void {
    if (item.end) {
      this.localEnded = true;
      this.serviceBusy = false;
    }
    this.output.push(item);
    this.host.send(this);
    if (item.end) this.host.release(this);
  }

  /** Connection side: whether frames are still waiting for a window. */
  hasOutput(): boolean {
    return this.output.length > 0;
  }

  /** Connection side: the stream was reset; nothing more is sent. */
  discardOutput(): void {
    this.output = [];
  }

  /**
   * Connection side: frame what may be sent now — header blocks always, data up to `budget`
   * octets in frames of at most `maxFrame` — into one buffer handed to `host.queue`.
   * Returns the data octets used.
   */
  writeInto(budget: number, maxFrame: number): number {
    let size = 0;
    let used = 0;
    let count = 0;
    for (const item of this.output) {
      if (item.headers) {
        size += FRAME_HEADER + item.bytes.length;
        count++;
        continue;
      }
      if (item.bytes.length === 0) {
        // An empty DATA frame that ends the stream: no window needed.
        size += FRAME_HEADER;
        count++;
        continue;
      }
      const n = Math.min(item.bytes.length, budget - used);
      if (n <= 0) break;
      size += Math.ceil(n / maxFrame) * FRAME_HEADER + n;
      used += n;
      if (n < item.bytes.length) break;
      count++;
    }
    if (size === 0) return 0;
    const out = Buffer.allocUnsafe(size);
    let at = 0;
    let left = used;
    for (let i = 0; i < this.output.length && at < size; i++) {
      const item = this.output[i]!;
      if (item.headers) {
        at = writeFrameHeader(
          out,
          at,
          item.bytes.length,
          FrameType.HEADERS,
          Flag.END_HEADERS | (item.end ? Flag.END_STREAM : 0),
          this.id,
        );
        at += item.bytes.copy(out, at);
        continue;
      }
      if (item.bytes.length === 0) {
        at = writeFrameHeader(out, at, 0, FrameType.DATA, item.end ? Flag.END_STREAM : 0, this.id);
        continue;
      }
      const n = Math.min(item.bytes.length, left);
      for (let sent = 0; sent < n; ) {
        const chunk = Math.min(maxFrame, n - sent);
        const last = sent + chunk === item.bytes.length;
        at = writeFrameHeader(
          out,
          at,
          chunk,
          FrameType.DATA,
          last && item.end ? Flag.END_STREAM : 0,
          this.id,
        );
        at += item.bytes.copy(out, at, sent, sent + chunk);
        sent += chunk;
      }
      left -= n;
      if (n < item.bytes.length) item.bytes = item.bytes.subarray(n);
    }
    this.output.splice(0, count);
    this.host.queue(out);
    return used;
  }
}
