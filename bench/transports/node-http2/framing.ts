import type { Duplex } from 'node:stream';
import { GrpcCode } from '../../../src/errors/codes.js';

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
 * Read the single message of a unary (or server-streaming) request: exactly one uncompressed
 * length-prefixed message, at most `maxBytes` long, then the end of the stream. A message
 * declared larger than the limit is refused as soon as its prefix arrives, before it is buffered.
 * The whole message must arrive within `deadlineMs` of the call (0: no deadline); a peer that
 * sends half a message and stops gets DEADLINE_EXCEEDED instead of holding the stream and its
 * buffer. `done` is called once, unless the peer resets the stream first (then nobody is waiting).
 */
export function readUnary(
  stream: Duplex,
  maxBytes: number,
  done: (err: GrpcError | undefined, message?: Uint8Array) => void,
  deadlineMs = 0,
): void {
  let chunks: Buffer[] | undefined;
  let first: Buffer | undefined;
  let received = 0;
  let finished = false;
  let timer: NodeJS.Timeout | undefined;
  const finish = (err: GrpcError | undefined, message?: Uint8Array): void => {
    if (finished) return;
    finished = true;
    if (timer !== undefined) clearTimeout(timer);
    stream.off('data', onData);
    stream.off('end', onEnd);
    stream.off('close', onClose);
    done(err, message);
  };
  const onClose = (): void => {
    // Reset by the peer before the message was complete: nobody is waiting for an answer.
    finished = true;
    if (timer !== undefined) clearTimeout(timer);
  };
  const onData = (chunk: Buffer): void => {
    if (first === undefined) first = chunk;
    else {
      chunks ??= [first];
      chunks.push(chunk);
    }
    received += chunk.length;
    if (received >= PREFIX) {
      const head = first.length >= PREFIX ? first : Buffer.concat(chunks ?? [first]);
      const declared = head.readUInt32BE(1);
      if (declared > maxBytes) {
        finish({
          code: GrpcCode.RESOURCE_EXHAUSTED,
          message: `request message larger than ${maxBytes} bytes`,
        });
        return;
      }
      if (received > PREFIX + declared)
        finish({
          code: GrpcCode.INTERNAL,
          message: 'more than one request message for a unary call',
        });
    }
  };
  const onEnd = (): void => {
    const all =
      first === undefined ? Buffer.alloc(0) : chunks === undefined ? first : Buffer.concat(chunks);
    if (all.length < PREFIX) {
      finish({ code: GrpcCode.INTERNAL, message: 'no request message' });
      return;
    }
    if (all[0] !== 0) {
      // grpc-encoding was identity (or absent), so a compressed message is a protocol error.
      finish({ code: GrpcCode.INTERNAL, message: 'compressed message without a grpc-encoding' });
      return;
    }
    const length = all.readUInt32BE(1);
    if (all.length !== PREFIX + length) {
      finish({ code: GrpcCode.INTERNAL, message: 'request message truncated' });
      return;
    }
    finish(undefined, all.subarray(PREFIX));
  };
  stream.on('data', onData);
  stream.on('end', onEnd);
  stream.once('close', onClose);
  if (deadlineMs > 0) {
    timer = setTimeout(
      () =>
        finish({
          code: GrpcCode.DEADLINE_EXCEEDED,
          message: `request message not received within ${deadlineMs} ms`,
        }),
      deadlineMs,
    );
    timer.unref();
  }
}
