import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { listen } from '../../net/listen.js';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { decodeCheckRequest } from '../check-request.js';
import { encodeCheckResponse } from '../check-response.js';
import {
  HealthCheckRequestSchema,
  HealthCheckResponseSchema,
  HealthListRequestSchema,
  HealthListResponseSchema,
  type HealthCheckResponse,
  type HealthListResponse,
} from '../../gen/grpc/health/v1/health_pb.js';
import { HEALTH_SERVICES, ServingStatus, type HealthState } from '../health.js';
import { DEFAULT_GRPC_LIMITS, type GrpcServer, type GrpcServerOptions } from '../types.js';
import { ConnectionGuard } from './connections.js';
import { GrpcCode } from '../../errors/codes.js';
import { Deadlines, frame, UnaryReader, type GrpcError } from './framing.js';
import { H2Connection, type H2Limits } from '../h2/connection.js';
import type { H2Stream } from '../h2/stream.js';
import { encodeHeaderBlock } from '../h2/hpack.js';

/**
 * Serve ext_authz v3 Check and grpc.health.v1 on one port: gRPC over Gatehouse's own HTTP/2.
 *
 * Gatehouse serves four methods, three of them unary, over cleartext HTTP/2 to Envoy. A general
 * gRPC library spends most of a Check's transport time on what those four never need (call
 * objects, metadata maps, interceptors, per-call deadline timers, stream wrappers), and
 * `node:http2` spends most of the rest on its stream objects: this server speaks HTTP/2 itself
 * (src/wire/h2: frames, HPACK, flow control; held to RFC 9113 by h2spec in the tests), reads the
 * one length-prefixed message, decodes it, and answers with HEADERS, one DATA frame and the
 * trailers, written together with the other answers of the same turn. Check requests and responses go through a hand-written codec that gives
 * exactly what protobuf-es gives (src/wire/check-request.ts, src/wire/check-response.ts); health
 * through protobuf-es. Over cleartext HTTP/2, or TLS with optional client
 * certificates (`tls`: mTLS, identities checked as each connection arrives, files reloaded on
 * change with setSecureContext). Everything it refuses, it refuses with a gRPC status, so
 * Envoy (failure_mode_allow: false) denies. `bench/transport.sh` measures it against grpc-js.
 *
 * Bounded against hostile or broken peers (`limits`, config `grpc.*`): HTTP/2
 * SETTINGS_MAX_CONCURRENT_STREAMS per connection, a cap on connections that evicts the
 * longest-idle connection before it refuses anyone (src/wire/http2/connections.ts), an idle
 * timeout (no open stream), and a read deadline per request message (a half-sent message gets
 * DEADLINE_EXCEEDED and its stream is closed).
 *
 * Not supported, on purpose: message compression (Envoy's ext_authz client does not compress;
 * a compressed message is refused with UNIMPLEMENTED and `grpc-accept-encoding: identity`), and
 * client or bidi streaming.
 *
 * @throws Error when the address cannot be bound.
 */
export async function startGrpcServer(options: GrpcServerOptions): Promise<GrpcServer> {
  const bounds = { ...DEFAULT_GRPC_LIMITS, ...options.limits };
  const h2: H2Limits = {
    maxConcurrentStreams: bounds.maxConcurrentStreams,
    maxHeaderListSize: MAX_HEADER_LIST_SIZE,
    // A Check is small; still, one message of the largest allowed size must fit the window.
    windowSize: Math.max(1 << 20, Math.min(0x7fff_ffff, options.maxReceiveMessageBytes + 5)),
    // A peer that stops reading is cut off once this much waits for it.
    maxQueuedOutput: Math.max(4 << 20, 2 * options.maxSendMessageBytes),
    // What node:http2's maxSessionMemory allowed before: two of the largest messages, or 10 MiB.
    maxBufferedInput: Math.max(10 << 20, 2 * (options.maxReceiveMessageBytes + 5)),
  };
  const tls = options.tls;
  const server: Server =
    tls === undefined
      ? createTcpServer()
      : createTlsServer({
          ...tls.serverOptions(),
          ALPNProtocols: ['h2'],
          // A TLS handshake that stalls is a half-sent message too.
          ...(bounds.messageReadTimeoutMs > 0
            ? { handshakeTimeout: bounds.messageReadTimeoutMs }
            : {}),
        });
  if (tls !== undefined) tls.attach(server as Parameters<typeof tls.attach>[0]);
  const onEvent = options.onConnectionEvent ?? (() => undefined);
  const guard = new ConnectionGuard(
    { maxConnections: bounds.maxConnections, idleTimeoutMs: bounds.idleTimeoutMs },
    onEvent,
  );
  const inflight = new Set<Promise<unknown>>();
  const watchers = new Set<H2Stream>();
  const lifecycle = { closing: false };
  const limits: Limits = {
    maxReceive: options.maxReceiveMessageBytes,
    maxSend: options.maxSendMessageBytes,
    deadlines: new Deadlines(bounds.messageReadTimeoutMs),
  };

  const route = (stream: H2Stream): void => {
    const path = stream.headers[':path'];
    const refusal = requestRefusal(stream.headers);
    if (refusal !== undefined) {
      afterRequest(stream, limits, () => {
        if (refusal.http !== undefined) respondHttpError(stream, refusal.http, refusal.message);
        else respondError(stream, refusal);
      });
      return;
    }
    switch (path) {
      case CHECK_PATH:
        unary(stream, limits, decodeCheckRequest, encodeCheckResponse, (request) => {
          const done = options.check(request);
          inflight.add(done);
          void done.finally(() => inflight.delete(done)).catch(() => undefined);
          return done;
        });
        return;
      case HEALTH_CHECK_PATH:
        unary(stream, limits, decodeHealthCheck, encodeHealthCheck, (request) => {
          const status = options.health.status(request.service);
          if (status === undefined)
            return Promise.reject(grpcError(GrpcCode.NOT_FOUND, 'unknown service'));
          return Promise.resolve(create(HealthCheckResponseSchema, { status }));
        });
        return;
      case HEALTH_LIST_PATH:
        unary(stream, limits, decodeHealthList, encodeHealthList, () => {
          const statuses: Record<string, HealthCheckResponse> = {};
          for (const name of HEALTH_SERVICES) {
            statuses[name] = create(HealthCheckResponseSchema, {
              status: options.health.status(name) ?? ServingStatus.UNKNOWN,
            });
          }
          return Promise.resolve(create(HealthListResponseSchema, { statuses }));
        });
        return;
      case HEALTH_WATCH_PATH:
        watch(stream, limits, options.health, watchers, lifecycle);
        return;
      default:
        afterRequest(stream, limits, () =>
          respondError(stream, grpcError(GrpcCode.UNIMPLEMENTED, `unknown method ${String(path)}`)),
        );
    }
  };

  const start = (socket: Socket): void => {
    const connection: H2Connection = new H2Connection(socket, h2, {
      onStream: (stream) => {
        guard.streamOpened(connection);
        route(stream);
      },
      onBusy: (busy) => guard.busy(connection, busy),
      onClose: () => guard.closed(connection),
    });
    guard.add(connection);
    if (lifecycle.closing) connection.close();
  };
  // Runs for every TCP connection, TLS ones included (before their handshake).
  server.on('connection', (socket: Socket) => {
    if (!guard.accept(socket)) return;
    if (tls === undefined) start(socket);
  });
  if (tls !== undefined) {
    server.on('secureConnection', (socket: TLSSocket) => {
      // HTTP/2 over TLS is negotiated with ALPN (RFC 9113 §3.2); there is no HTTP/1.1 here.
      if (socket.alpnProtocol !== 'h2') {
        socket.destroy();
        return;
      }
      if (!tls.admits(socket)) {
        onEvent({ type: 'unauthorized-client' });
        socket.destroy();
        return;
      }
      start(socket);
    });
    // A failed handshake is that client's problem, never the process's.
    server.on('tlsClientError', (_err: Error, socket: TLSSocket) => socket.destroy());
  }

  const port = await listen(server, options.port, options.address);

  return {
    port,
    async shutdown(graceMs: number): Promise<void> {
      // Health Watch streams never end on their own; they have seen NOT_SERVING by now. A Watch
      // whose request is still arriving is ended as soon as it is read (see watch()).
      lifecycle.closing = true;
      for (const stream of watchers) endWithStatus(stream, GrpcCode.OK);
      watchers.clear();
      guard.stop();
      tls?.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // GOAWAY: streams in flight finish, no new ones start; each connection ends when it is idle.
      for (const connection of guard.connections()) connection.close();
      // A peer that never reads would hold server.close() forever: the grace ends by destroying.
      const timer = setTimeout(() => guard.destroyAll(), graceMs);
      timer.unref();
      await closed;
      clearTimeout(timer);
      await Promise.allSettled([...inflight]);
    },
  };
}

export const CHECK_PATH = '/envoy.service.auth.v3.Authorization/Check';
const HEALTH_CHECK_PATH = '/grpc.health.v1.Health/Check';
const HEALTH_LIST_PATH = '/grpc.health.v1.Health/List';
const HEALTH_WATCH_PATH = '/grpc.health.v1.Health/Watch';

/** SETTINGS_MAX_HEADER_LIST_SIZE: gRPC metadata from Envoy is a few hundred octets. */
const MAX_HEADER_LIST_SIZE = 65_536;

interface Limits {
  readonly maxReceive: number;
  readonly maxSend: number;
  /** The read deadline of each request message. */
  readonly deadlines: Deadlines;
}

interface Refusal extends GrpcError {
  /** Refused at the HTTP level (not gRPC at all), with this :status. */
  readonly http?: number;
}

/** What is wrong with a request's headers for gRPC, if anything (gRPC over HTTP/2 spec). */
function requestRefusal(headers: Readonly<Record<string, string>>): Refusal | undefined {
  if (headers[':method'] !== 'POST')
    return { code: GrpcCode.UNIMPLEMENTED, message: 'gRPC requires POST', http: 405 };
  const type = headers['content-type'];
  if (
    type === undefined ||
    !(
      type === 'application/grpc' ||
      type.startsWith('application/grpc+proto') ||
      type.startsWith('application/grpc;')
    )
  ) {
    return { code: GrpcCode.UNIMPLEMENTED, message: 'unsupported content-type', http: 415 };
  }
  const encoding = headers['grpc-encoding'];
  if (encoding !== undefined && encoding !== 'identity') {
    return { code: GrpcCode.UNIMPLEMENTED, message: `unsupported grpc-encoding ${encoding}` };
  }
  return undefined;
}

function grpcError(code: GrpcCode, message: string): GrpcError {
  return { code, message };
}

const RESPONSE_HEADERS = encodeHeaderBlock([
  [':status', '200'],
  ['content-type', 'application/grpc'],
]);
const OK_TRAILERS = encodeHeaderBlock([['grpc-status', '0']]);

const decodeHealthCheck = (bytes: Uint8Array) => fromBinary(HealthCheckRequestSchema, bytes);
const decodeHealthList = (bytes: Uint8Array) => fromBinary(HealthListRequestSchema, bytes);
const encodeHealthCheck = (response: HealthCheckResponse) =>
  toBinary(HealthCheckResponseSchema, response);
const encodeHealthList = (response: HealthListResponse) =>
  toBinary(HealthListResponseSchema, response);

/**
 * Read a request's single message within the read deadline: `done` gets it, or the stream is
 * answered with the error. Nothing is called when the peer resets the stream first.
 */
function readMessage(stream: H2Stream, limits: Limits, done: (message: Buffer) => void): void {
  const reader = new UnaryReader(limits.maxReceive);
  let finished = false;
  const finish = (): void => {
    finished = true;
    cancel();
    stream.onData = undefined;
    stream.onEnd = undefined;
  };
  const cancel = limits.deadlines.add(() => {
    if (finished) return;
    finish();
    respondError(
      stream,
      grpcError(
        GrpcCode.DEADLINE_EXCEEDED,
        `request message not received within ${limits.deadlines.lengthMs} ms`,
      ),
    );
  });
  stream.onData = (chunk) => {
    const error = reader.push(chunk);
    if (error === undefined) return;
    finish();
    respondError(stream, error);
  };
  stream.onEnd = () => {
    finish();
    const read = reader.finish();
    if ('error' in read) respondError(stream, read.error);
    else done(read.message);
  };
  stream.onClose = () => {
    // Reset before the message was complete: nobody is waiting for an answer.
    if (finished) return;
    finish();
    stream.release();
  };
}

/**
 * Answer a request that is refused from its headers once the request has ended (its data read
 * and dropped), or at the read deadline, whichever comes first — not while the peer is still
 * sending it: frames the peer sends on the stream meanwhile are then judged on an open stream
 * (a malformed one is still a stream error), and the answer does not race them. Nothing is
 * answered when the peer resets the stream first.
 */
function afterRequest(stream: H2Stream, limits: Limits, answer: () => void): void {
  let done = false;
  const finish = (): void => {
    if (done) return;
    done = true;
    cancel();
    stream.onData = undefined;
    stream.onEnd = undefined;
    answer();
  };
  const cancel = limits.deadlines.add(finish);
  stream.onEnd = finish;
  stream.onClose = () => {
    if (done) return;
    done = true;
    cancel();
    stream.release();
  };
}

/**
 * A unary call: one message in, one message out (or a status). `decode` and `encode` throw on a
 * message they cannot handle: protobuf-es `fromBinary` and `toBinary`, or for Check the
 * hand-written codec that gives exactly their results (src/wire/check-request.ts,
 * src/wire/check-response.ts).
 */
function unary<I, O>(
  stream: H2Stream,
  limits: Limits,
  decode: (bytes: Uint8Array) => I,
  encode: (response: O) => Uint8Array,
  handle: (request: I) => Promise<O>,
): void {
  readMessage(stream, limits, (bytes) => {
    let request: I;
    try {
      request = decode(bytes);
    } catch {
      respondError(stream, grpcError(GrpcCode.INTERNAL, 'request message could not be decoded'));
      return;
    }
    handle(request).then(
      (response) => {
        if (stream.closed) {
          stream.release(); // the peer cancelled; nobody to answer
          return;
        }
        let body: Uint8Array;
        try {
          body = encode(response);
        } catch {
          // A response the encoder refuses (an out-of-range number, say): still a deny.
          respondError(
            stream,
            grpcError(GrpcCode.INTERNAL, 'response message could not be encoded'),
          );
          return;
        }
        if (body.byteLength > limits.maxSend) {
          respondError(
            stream,
            grpcError(GrpcCode.RESOURCE_EXHAUSTED, 'response message larger than the send limit'),
          );
          return;
        }
        stream.respondUnary(RESPONSE_HEADERS, frame(body), OK_TRAILERS);
      },
      (reason: unknown) => {
        // check() never rejects; this is the last guard, and Envoy still denies on it.
        const known = reason as Partial<GrpcError> | undefined;
        respondError(
          stream,
          typeof known?.code === 'number' && typeof known.message === 'string'
            ? (known as GrpcError)
            : grpcError(GrpcCode.INTERNAL, 'internal error'),
        );
      },
    );
  });
}

/** grpc.health.v1.Health/Watch: the current status at once, then every change, until cancelled. */
function watch(
  stream: H2Stream,
  limits: Limits,
  health: HealthState,
  watchers: Set<H2Stream>,
  lifecycle: { readonly closing: boolean },
): void {
  readMessage(stream, limits, (bytes) => {
    let service: string;
    try {
      service = fromBinary(HealthCheckRequestSchema, bytes).service;
    } catch {
      respondError(stream, grpcError(GrpcCode.INTERNAL, 'request message could not be decoded'));
      return;
    }
    if (stream.closed) {
      stream.release();
      return;
    }
    const send = (status: ServingStatus | undefined): void => {
      stream.write(
        frame(
          toBinary(
            HealthCheckResponseSchema,
            create(HealthCheckResponseSchema, { status: status ?? ServingStatus.SERVICE_UNKNOWN }),
          ),
        ),
      );
    };
    stream.respond(RESPONSE_HEADERS);
    send(health.status(service));
    if (lifecycle.closing) {
      // Shutdown has begun: the current status (NOT_SERVING), then the end of the stream.
      endWithStatus(stream, GrpcCode.OK);
      return;
    }
    // An unknown service is reported as SERVICE_UNKNOWN and the stream stays open (the spec:
    // it may become known later); Gatehouse's set never changes, so nothing more is sent.
    watchers.add(stream);
    const unsubscribe =
      health.status(service) === undefined
        ? () => undefined
        : health.onChange(() => send(health.status(service)));
    stream.onClose = () => {
      unsubscribe();
      watchers.delete(stream);
      stream.release();
    };
  });
}

/** End a stream whose headers are sent with `code` in the trailers. */
function endWithStatus(stream: H2Stream, code: GrpcCode): void {
  stream.end(
    code === GrpcCode.OK ? OK_TRAILERS : encodeHeaderBlock([['grpc-status', String(code)]]),
  );
}

/** A trailers-only response carrying a gRPC status (the spec's form for an immediate error). */
function respondError(stream: H2Stream, error: GrpcError): void {
  if (stream.headersSent) {
    endWithStatus(stream, error.code);
    return;
  }
  const fields: [string, string][] = [
    [':status', '200'],
    ['content-type', 'application/grpc'],
    ['grpc-status', String(error.code)],
    ['grpc-message', encodeURIComponent(error.message).slice(0, 1024)],
  ];
  if (error.code === GrpcCode.UNIMPLEMENTED) fields.push(['grpc-accept-encoding', 'identity']);
  // Whatever the peer still sends on this stream is not read (the connection resets it).
  stream.respond(encodeHeaderBlock(fields), true);
}

/** A refusal at the HTTP level (not a gRPC request at all): the status and a line of text. */
function respondHttpError(stream: H2Stream, status: number, message: string): void {
  stream.respond(
    encodeHeaderBlock([
      [':status', String(status)],
      ['content-type', 'text/plain; charset=utf-8'],
    ]),
  );
  stream.write(Buffer.from(`${message}\n`), true);
}
