import { GrpcCode } from '../../errors/codes.js';

/** A gRPC status to answer with instead of a message. */
export interface GrpcError {
  readonly code: GrpcCode;
  readonly message: string;
}

/** gRPC's message prefix: a compressed-flag byte and a 4-byte big-endian length. */
const PREFIX = 5;

/** One uncompressed length-prefixed gRPC message holding `body`. */
export function frame(body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(PREFIX + body.byteLength);
  out[0] = 0;
  out.writeUInt32BE(body.byteLength, 1);
  out.set(body, PREFIX);
  return out;
}

/**
 * The single message of a unary (or server-streaming) request, as its data arrives: exactly one
 * uncompressed length-prefixed message, at most `maxBytes` long, then the end of the stream. A
 * message declared larger than the limit is refused as soon as its prefix arrives, before it is
 * buffered; a second message as soon as its first octet does.
 */
export class UnaryReader {
  private readonly maxBytes: number;
  /** The 5-octet prefix as it arrives, then the message's length from it. */
  private readonly prefix = Buffer.alloc(PREFIX);
  private declared = -1;
  /** Everything received, in a buffer that doubles as it fills (each octet copied O(1) times). */
  private data: Buffer = EMPTY;
  private received = 0;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /** Take a chunk of the stream's data; an error means the request is refused now. */
  push(chunk: Buffer): GrpcError | undefined {
    if (this.received < PREFIX) chunk.copy(this.prefix, this.received, 0, PREFIX - this.received);
    const total = this.received + chunk.length;
    if (this.declared < 0 && total >= PREFIX) {
      this.declared = this.prefix.readUInt32BE(1);
      if (this.declared > this.maxBytes)
        return {
          code: GrpcCode.RESOURCE_EXHAUSTED,
          message: `request message larger than ${this.maxBytes} bytes`,
        };
    }
    if (this.declared >= 0 && total > PREFIX + this.declared)
      return { code: GrpcCode.INTERNAL, message: 'more than one request message for a unary call' };
    if (this.received === 0) {
      // The usual case, the whole message in one DATA frame: kept as it is, not copied.
      this.data = chunk;
      this.received = total;
      return undefined;
    }
    if (total > this.data.length) {
      // Grown by doubling, never past what the prefix declared (nor before it is known).
      const cap = this.declared >= 0 ? PREFIX + this.declared : PREFIX;
      const grown = Buffer.allocUnsafe(Math.max(total, Math.min(cap, 2 * this.data.length)));
      this.data.copy(grown, 0, 0, this.received);
      this.data = grown;
    }
    chunk.copy(this.data, this.received);
    this.received = total;
    return undefined;
  }

  /** The stream ended: the message, or what is wrong with it. */
  finish(): { readonly error: GrpcError } | { readonly message: Buffer } {
    if (this.received < PREFIX)
      return { error: { code: GrpcCode.INTERNAL, message: 'no request message' } };
    if (this.prefix[0] !== 0) {
      // grpc-encoding was identity (or absent), so a compressed message is a protocol error.
      return {
        error: { code: GrpcCode.INTERNAL, message: 'compressed message without a grpc-encoding' },
      };
    }
    if (this.received !== PREFIX + this.declared)
      return { error: { code: GrpcCode.INTERNAL, message: 'request message truncated' } };
    return { message: this.data.subarray(PREFIX, this.received) };
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * Read deadlines for request messages, all of the same length: one timer for all of them,
 * rather than one per request. An entry fires `expire` once `deadlineMs` after it was added,
 * unless removed first; expiry is checked every quarter of the deadline (at most once a second,
 * at least every 10 ms), so an entry fires up to a quarter late.
 */
export class Deadlines {
  private readonly deadlineMs: number;
  private readonly entries = new Set<{ readonly at: number; readonly expire: () => void }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(deadlineMs: number) {
    this.deadlineMs = deadlineMs;
  }

  /** The deadline's length (ms; 0: none). */
  get lengthMs(): number {
    return this.deadlineMs;
  }

  /** Start a deadline; the returned function cancels it (0 ms: no deadline, a no-op). */
  add(expire: () => void): () => void {
    if (this.deadlineMs <= 0) return noop;
    const entry = { at: performance.now() + this.deadlineMs, expire };
    this.entries.add(entry);
    if (this.timer === undefined) {
      const period = Math.max(10, Math.min(1000, this.deadlineMs / 4));
      this.timer = setInterval(() => this.sweep(), period);
      this.timer.unref();
    }
    return () => {
      this.entries.delete(entry);
    };
  }

  private sweep(): void {
    const now = performance.now();
    // Entries are in the order they were added, and all last as long: the expired come first.
    for (const entry of this.entries) {
      if (entry.at > now) break;
      this.entries.delete(entry);
      entry.expire();
    }
    if (this.entries.size === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}

const noop = (): void => undefined;
