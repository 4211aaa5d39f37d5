import * as http2 from 'node:http2';
import type { Server, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { listen } from '../../../src/net/listen.js';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { decodeCheckRequest } from '../../../src/wire/check-request.js';
import { encodeCheckResponse } from '../../../src/wire/check-response.js';
import {
  HealthCheckRequestSchema,
  HealthCheckResponseSchema,
  HealthListRequestSchema,
  HealthListResponseSchema,
  type HealthCheckResponse,
  type HealthListResponse,
} from '../../../src/gen/grpc/health/v1/health_pb.js';
import { HEALTH_SERVICES, ServingStatus, type HealthState } from '../../../src/wire/health.js';
import {
  DEFAULT_GRPC_LIMITS,
  type GrpcServer,
  type GrpcServerOptions,
} from '../../../src/wire/types.js';
import { guardConnections } from './connections.js';
import { GrpcCode } from '../../../src/errors/codes.js';
import { frame, readUnary, type GrpcError } from './framing.js';

/**
 * Serve ext_authz v3 Check and grpc.health.v1 on one port: gRPC over `node:http2` directly.
 *
 * Gatehouse serves four methods, three of them unary, over cleartext HTTP/2 to Envoy. A general
 * gRPC library spends most of a Check's transport time on what those four never need (call
 * objects, metadata maps, interceptors, per-call deadline timers, stream wrappers): this server
 * reads the one length-prefixed message, decodes it, and answers with HEADERS, one DATA frame
 * and the trailers. Check requests and responses go through a hand-written codec that gives
 * exactly what protobuf-es gives (src/wire/check-request.ts, src/wire/check-response.ts); health
 * through protobuf-es. Over cleartext HTTP/2, or TLS with optional client
 * certificates (`tls`: mTLS, identities checked as each connection arrives, files reloaded on
 * change with setSecureContext). Everything it refuses, it refuses with a gRPC status, so
 * Envoy (failure_mode_allow: false) denies. `bench/transport.sh` measures it against grpc-js.
 *
 * Bounded against hostile or broken peers (`limits`, config `grpc.*`): HTTP/2
 * SETTINGS_MAX_CONCURRENT_STREAMS per connection, a cap on connections that evicts the
 * longest-idle session before it refuses anyone (src/wire/http2/connections.ts), an idle timeout
 * (no open stream), and a read deadline per request message (a half-sent message gets
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
  const common: http2.ServerOptions = {
    // A Check is small; still, a peer may not make us buffer more than one message's worth.
    maxSessionMemory: Math.max(10, Math.ceil((2 * options.maxReceiveMessageBytes) / (1 << 20))),
    settings: { initialWindowSize: 1 << 20, maxConcurrentStreams: bounds.maxConcurrentStreams },
  };
  const tls = options.tls;
  let server: http2.Http2Server;
  if (tls === undefined) server = http2.createServer(common);
  else {
    const secure = http2.createSecureServer({
      ...common,
      ...tls.serverOptions(),
      allowHTTP1: false,
      // A TLS handshake that stalls is a half-sent message too.
      ...(bounds.messageReadTimeoutMs > 0 ? { handshakeTimeout: bounds.messageReadTimeoutMs } : {}),
    });
    tls.attach(secure);
    // The secure server emits the same session and stream events; only its construction differs.
    server = secure as unknown as http2.Http2Server;
  }
  const guard = guardConnections(
    server,
    { maxConnections: bounds.maxConnections, idleTimeoutMs: bounds.idleTimeoutMs },
    options.onConnectionEvent,
    tls === undefined ? undefined : (socket) => tls.admits(socket as TLSSocket),
  );
  const inflight = new Set<Promise<unknown>>();
  const watchers = new Set<http2.ServerHttp2Stream>();
  const lifecycle = { closing: false };
  const limits: Limits = {
    maxReceive: options.maxReceiveMessageBytes,
    maxSend: options.maxSendMessageBytes,
    readTimeoutMs: bounds.messageReadTimeoutMs,
  };

  server.on('session', (session) => {
    // A peer's protocol error ends its session; it must never end the process.
    session.on('error', () => session.destroy());
  });
  server.on('sessionError', () => undefined);
  // Small frames go out at once: Nagle's algorithm would hold a response's trailers back until
  // the peer acknowledges its DATA, a delayed-ACK wait on the hot path.
  server.on('connection', (socket: Socket) => socket.setNoDelay(true));
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    guard.streamOpened(stream);
    const path = headers[':path'];
    const refusal = requestRefusal(headers);
    if (refusal !== undefined) {
      if (refusal.http !== undefined) respondHttpError(stream, refusal.http);
      else respondError(stream, refusal);
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
        respondError(stream, grpcError(GrpcCode.UNIMPLEMENTED, `unknown method ${String(path)}`));
    }
  });

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
      await closeGracefully(
        server,
        () => guard.sessions(),
        graceMs,
        () => guard.destroyAll(),
      );
      await Promise.allSettled([...inflight]);
    },
  };
}

/**
 * Stop accepting connections and send every session GOAWAY, so streams in flight finish and no
 * new ones start; after `graceMs`, `destroyAll` ends whatever is still open (by default every
 * session is destroyed). Resolves once the server has closed.
 */
export async function closeGracefully(
  server: Server,
  sessions: () => Iterable<http2.Http2Session>,
  graceMs: number,
  destroyAll: () => void = () => {
    for (const session of sessions()) session.destroy();
  },
): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  for (const session of sessions()) session.close();
  // session.destroy() alone half-closes a socket and waits for the peer: one that never reads
  // would hold server.close() forever, so the grace ends with the sockets themselves destroyed.
  const timer = setTimeout(destroyAll, graceMs);
  timer.unref();
  await closed;
  clearTimeout(timer);
}

export const CHECK_PATH = '/envoy.service.auth.v3.Authorization/Check';
const HEALTH_CHECK_PATH = '/grpc.health.v1.Health/Check';
const HEALTH_LIST_PATH = '/grpc.health.v1.Health/List';
const HEALTH_WATCH_PATH = '/grpc.health.v1.Health/Watch';

interface Limits {
  readonly maxReceive: number;
  readonly maxSend: number;
  /** The read deadline per request message (0: none). */
  readonly readTimeoutMs: number;
}

interface Refusal extends GrpcError {
  /** Refused at the HTTP level (not gRPC at all), with this :status. */
  readonly http?: number;
}

/** What is wrong with a request's headers for gRPC, if anything (gRPC over HTTP/2 spec). */
function requestRefusal(headers: http2.IncomingHttpHeaders): Refusal | undefined {
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

const RESPONSE_HEADERS = Object.freeze({ ':status': 200, 'content-type': 'application/grpc' });
const OK_TRAILERS = Object.freeze({ 'grpc-status': '0' });

const decodeHealthCheck = (bytes: Uint8Array) => fromBinary(HealthCheckRequestSchema, bytes);
const decodeHealthList = (bytes: Uint8Array) => fromBinary(HealthListRequestSchema, bytes);
const encodeHealthCheck = (response: HealthCheckResponse) =>
  toBinary(HealthCheckResponseSchema, response);
const encodeHealthList = (response: HealthListResponse) =>
  toBinary(HealthListResponseSchema, response);

/**
 * A unary call: one message in, one message out (or a status). `decode` and `encode` throw on a
 * message they cannot handle: protobuf-es `fromBinary` and `toBinary`, or for Check the
 * hand-written codec that gives exactly their results (src/wire/check-request.ts,
 * src/wire/check-response.ts).
 */
function unary<I, O>(
  stream: http2.ServerHttp2Stream,
  limits: Limits,
  decode: (bytes: Uint8Array) => I,
  encode: (response: O) => Uint8Array,
  handle: (request: I) => Promise<O>,
): void {
  readUnary(
    stream,
    limits.maxReceive,
    (err, bytes) => {
      if (err !== undefined) {
        respondError(stream, err);
        return;
      }
      let request: I;
      try {
        request = decode(bytes!);
      } catch {
        respondError(stream, grpcError(GrpcCode.INTERNAL, 'request message could not be decoded'));
        return;
      }
      handle(request).then(
        (response) => {
          if (stream.destroyed || stream.closed) return; // the peer cancelled; nobody to answer
          let body: Uint8Array;
          try {
            body = encode(response);
          } catch {
            // A response protobuf-es refuses to encode (an out-of-range number, say): still a deny.
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
          stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
          stream.once('wantTrailers', () => stream.sendTrailers(OK_TRAILERS));
          stream.end(frame(body));
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
    },
    limits.readTimeoutMs,
  );
}

/** grpc.health.v1.Health/Watch: the current status at once, then every change, until cancelled. */
function watch(
  stream: http2.ServerHttp2Stream,
  limits: Limits,
  health: HealthState,
  watchers: Set<http2.ServerHttp2Stream>,
  lifecycle: { readonly closing: boolean },
): void {
  readUnary(
    stream,
    limits.maxReceive,
    (err, bytes) => {
      if (err !== undefined) {
        respondError(stream, err);
        return;
      }
      let service: string;
      try {
        service = fromBinary(HealthCheckRequestSchema, bytes!).service;
      } catch {
        respondError(stream, grpcError(GrpcCode.INTERNAL, 'request message could not be decoded'));
        return;
      }
      if (stream.destroyed || stream.closed) return;
      const send = (status: ServingStatus | undefined): void => {
        if (stream.destroyed || stream.closed || stream.writableEnded) return;
        stream.write(
          frame(
            toBinary(
              HealthCheckResponseSchema,
              create(HealthCheckResponseSchema, {
                status: status ?? ServingStatus.SERVICE_UNKNOWN,
              }),
            ),
          ),
        );
      };
      stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
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
      stream.once('close', () => {
        unsubscribe();
        watchers.delete(stream);
      });
    },
    limits.readTimeoutMs,
  );
}

/** End a stream whose headers are sent with `status` in the trailers. */
function endWithStatus(stream: http2.ServerHttp2Stream, code: GrpcCode): void {
  if (stream.destroyed || stream.closed || stream.writableEnded) return;
  stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': String(code) }));
  stream.end();
}

/** A trailers-only response carrying a gRPC status (the spec's form for an immediate error). */
function respondError(stream: http2.ServerHttp2Stream, error: GrpcError): void {
  if (stream.destroyed || stream.closed) return;
  if (stream.headersSent) {
    endWithStatus(stream, error.code);
    return;
  }
  const headers: http2.OutgoingHttpHeaders = {
    ':status': 200,
    'content-type': 'application/grpc',
    'grpc-status': String(error.code),
    'grpc-message': encodeURIComponent(error.message),
  };
  if (error.code === GrpcCode.UNIMPLEMENTED) headers['grpc-accept-encoding'] = 'identity';
  stream.respond(headers, { endStream: true });
  // Whatever the peer still sends on this stream is not read.
  stream.close(http2.constants.NGHTTP2_NO_ERROR);
}

function respondHttpError(stream: http2.ServerHttp2Stream, status: number): void {
  if (stream.destroyed || stream.closed) return;
  stream.respond({ ':status': status }, { endStream: true });
  stream.close(http2.constants.NGHTTP2_NO_ERROR);
}
