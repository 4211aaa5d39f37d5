import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setImmediate as nextTurn, setTimeout as delay } from 'node:timers/promises';
import {
  create,
  equals,
  fromBinary,
  toBinary,
  type DescMessage,
  type MessageShape,
} from '@bufbuild/protobuf';
import {
  CheckRequestSchema,
  CheckResponseSchema,
  type CheckRequest,
  type CheckResponse,
} from '../../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import {
  HealthCheckRequestSchema,
  HealthCheckResponseSchema,
  HealthListResponseSchema,
} from '../../../src/gen/grpc/health/v1/health_pb.js';
import { HealthState, ServingStatus } from '../../../src/wire/health.js';
import { startGrpcServer } from '../../../src/wire/http2/server.js';
import type { GrpcServer, GrpcServerOptions } from '../../../src/wire/types.js';

// The gRPC-over-HTTP/2 contract of the hand-written server, checked with a raw node:http2 client
// so every header, prefix byte and trailer on the wire is the test's own, not a library's.

const CHECK = '/envoy.service.auth.v3.Authorization/Check';
const HEALTH_LIST = '/grpc.health.v1.Health/List';
const HEALTH_WATCH = '/grpc.health.v1.Health/Watch';
const GRPC_HEADERS: http2.OutgoingHttpHeaders = Object.freeze({
  ':method': 'POST',
  'content-type': 'application/grpc',
  te: 'trailers',
});

/** A hang (a reply that never comes) fails its own test, not the whole suite. */
const BOUNDED = Object.freeze({ timeout: 10_000 });

const ALLOW = create(CheckResponseSchema, {
  status: { code: 0 },
  httpResponse: { case: 'okResponse', value: {} },
});
const LIMIT = 4 << 20;
const SMALL_LIMIT = 1024;

/** What came back on one stream: the response headers, the DATA bytes, and the trailers (if any). */
interface Reply {
  readonly headers: http2.IncomingHttpHeaders;
  readonly data: Buffer;
  readonly trailers: http2.IncomingHttpHeaders | undefined;
}

/** One gRPC length-prefixed message; `flag` 1 claims it is compressed. */
function grpcFrame(body: Uint8Array, flag = 0): Buffer {
  const out = Buffer.alloc(5 + body.byteLength);
  out[0] = flag;
  out.writeUInt32BE(body.byteLength, 1);
  out.set(body, 5);
  return out;
}

/** Split a response body into its length-prefixed messages, failing on any stray byte. */
function messages<T extends DescMessage>(schema: T, data: Buffer): MessageShape<T>[] {
  const out: MessageShape<T>[] = [];
  let at = 0;
  while (at < data.length) {
    assert.ok(data.length - at >= 5, `a partial message prefix at byte ${at}`);
    assert.equal(data[at], 0, 'the server never compresses');
    const length = data.readUInt32BE(at + 1);
    assert.ok(
      data.length - at - 5 >= length,
      `message at byte ${at} declares ${length} bytes, fewer arrived`,
    );
    out.push(fromBinary(schema, data.subarray(at + 5, at + 5 + length)));
    at += 5 + length;
  }
  return out;
}

function checkRequest(path: string): Buffer {
  return grpcFrame(
    toBinary(
      CheckRequestSchema,
      create(CheckRequestSchema, { attributes: { request: { http: { method: 'GET', path } } } }),
    ),
  );
}

/** The grpc-status of a reply: from the trailers, or from the headers of a trailers-only reply. */
function grpcStatus(reply: Reply): string | undefined {
  return (reply.trailers ?? reply.headers)['grpc-status'] as string | undefined;
}

function grpcMessage(reply: Reply): string | undefined {
  const raw = (reply.trailers ?? reply.headers)['grpc-message'] as string | undefined;
  return raw === undefined ? undefined : decodeURIComponent(raw);
}

/** Assert a trailers-only gRPC error: HTTP 200, no message, the status and message in the headers. */
function assertRefused(reply: Reply, code: number, message: string): void {
  assert.equal(reply.headers[':status'], 200);
  assert.equal(reply.headers['content-type'], 'application/grpc');
  assert.equal(reply.trailers, undefined, 'an immediate error is trailers-only');
  assert.equal(reply.data.length, 0);
  assert.equal(grpcStatus(reply), String(code));
  assert.equal(grpcMessage(reply), message);
}

/** Assert a successful unary Check: HTTP 200, exactly the allow, grpc-status 0 in the trailers. */
function assertAllowed(reply: Reply): void {
  assert.equal(reply.headers[':status'], 200);
  assert.equal(reply.headers['content-type'], 'application/grpc');
  assert.equal(
    reply.headers['grpc-status'],
    undefined,
    'a successful reply carries its status in the trailers',
  );
  const [response, ...rest] = messages(CheckResponseSchema, reply.data);
  assert.equal(rest.length, 0, 'exactly one response message');
  assert.ok(
    response !== undefined && equals(CheckResponseSchema, response, ALLOW),
    'the response is the allow',
  );
  assert.equal(reply.trailers?.['grpc-status'], '0');
}

/** Client sessions opened by tests; destroyed in after() so the process can exit. */
const sessions = new Set<http2.ClientHttp2Session>();

function open(port: number): http2.ClientHttp2Session {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  // A server GOAWAY or reset is what some tests provoke; the stream-level result is asserted.
  session.on('error', () => undefined);
  sessions.add(session);
  session.once('close', () => sessions.delete(session));
  return session;
}

function closeSessions(): void {
  for (const session of sessions) session.destroy();
}

/** Collect the reply on `req` once the server ends its side, whether or not ours has half-closed. */
function collect(req: http2.ClientHttp2Stream): Promise<Reply> {
  return new Promise((resolve, reject) => {
    let headers: http2.IncomingHttpHeaders | undefined;
    let trailers: http2.IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      if (err !== undefined) reject(err);
      else if (headers === undefined)
        reject(new Error(`stream closed without response headers (rstCode ${req.rstCode})`));
      else resolve({ headers, data: Buffer.concat(chunks), trailers });
    };
    req.on('response', (h) => (headers = h));
    req.on('trailers', (t) => (trailers = t));
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => finish());
    req.on('close', () => finish());
    req.on('error', (err) => finish(err));
  });
}

/**
 * Send one request on `session` and collect its reply. With `end: false` the body is written but
 * the client never half-closes, as a peer would that is still streaming.
 */
function call(
  session: http2.ClientHttp2Session,
  path: string,
  body: Uint8Array,
  headers: http2.OutgoingHttpHeaders = GRPC_HEADERS,
  { end = true }: { end?: boolean } = {},
): Promise<Reply> {
  const req = session.request({ ...headers, ':path': path });
  const reply = collect(req);
  if (body.byteLength > 0) req.write(body);
  if (end) req.end();
  return reply;
}

/** A check() that holds every call until `release()`, so a test can act while a Check is in flight. */
function heldCheck(): {
  check: GrpcServerOptions['check'];
  arrived: Promise<void>;
  release: () => void;
  seen: CheckRequest[];
} {
  let arrive = (): void => undefined;
  const arrived = new Promise<void>((resolve) => (arrive = resolve));
  let release = (): void => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  const seen: CheckRequest[] = [];
  return {
    arrived,
    release,
    seen,
    check: async (request): Promise<CheckResponse> => {
      seen.push(request);
      arrive();
      await released;
      return ALLOW;
    },
  };
}

/**
 * Record every uncaught exception and unhandled rejection until `stop()`, so "does not crash the
 * server" fails the test that provoked it rather than the file, after the fact.
 */
function processErrors(): { readonly errors: unknown[]; stop(): void } {
  const errors: unknown[] = [];
  const record = (err: unknown): void => void errors.push(err);
  process.on('uncaughtException', record);
  process.on('unhandledRejection', record);
  return {
    errors,
    stop() {
      process.off('uncaughtException', record);
      process.off('unhandledRejection', record);
    },
  };
}

/** Let pending callbacks, and the unhandled-rejection check that follows them, run. */
async function settle(): Promise<void> {
  await nextTurn();
  await nextTurn();
}

function serving(): HealthState {
  const health = new HealthState();
  health.set(ServingStatus.SERVING);
  return health;
}

function start(
  check: GrpcServerOptions['check'],
  maxReceiveMessageBytes = LIMIT,
  health = serving(),
): Promise<GrpcServer> {
  return startGrpcServer({
    address: '127.0.0.1',
    port: 0,
    maxReceiveMessageBytes,
    maxSendMessageBytes: LIMIT,
    check,
    health,
  });
}

/** Resolves with the connection error code, or fails the test if the TCP connection is accepted. */
function connectError(port: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      reject(new Error('a new connection was accepted'));
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code));
  });
}

/** Write `bytes` on a raw TCP connection; resolves once the server has closed it. */
function sendRaw(port: number, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    socket.on('data', () => undefined); // whatever the server says (a GOAWAY), it must then close
    socket.on('error', () => undefined); // a reset is a close too
    socket.once('close', () => resolve());
  });
}

describe("gRPC over Gatehouse's HTTP/2 on the wire", () => {
  let server: GrpcServer;
  let small: GrpcServer;
  const seen: CheckRequest[] = [];
  let session: http2.ClientHttp2Session;

  before(async () => {
    const check = (request: CheckRequest): Promise<CheckResponse> => {
      seen.push(request);
      return Promise.resolve(ALLOW);
    };
    server = await start(check);
    small = await start(check, SMALL_LIMIT);
    session = open(server.port);
  });
  after(async () => {
    closeSessions();
    await Promise.all([server.shutdown(1000), small.shutdown(1000)]);
  });

  test(
    'a well-formed unary Check: 200, application/grpc, one message that decodes to the allow, grpc-status 0 in the trailers',
    BOUNDED,
    async () => {
      const reply = await call(session, CHECK, checkRequest('/well-formed'));
      assertAllowed(reply);
      assert.equal(
        seen.at(-1)?.attributes?.request?.http?.path,
        '/well-formed',
        'check() saw the decoded request',
      );
    },
  );

  test(
    'a message split across DATA frames, the prefix itself split, is reassembled',
    BOUNDED,
    async () => {
      const message = checkRequest('/split');
      const crashes = processErrors();
      let reply: Reply;
      try {
        const req = session.request({ ...GRPC_HEADERS, ':path': CHECK });
        const replied = collect(req);
        // Each write is its own DATA frame: the 5-byte prefix arrives as 2 + 3 bytes.
        req.write(message.subarray(0, 2));
        await nextTurn();
        req.write(message.subarray(2, 7));
        await nextTurn();
        req.end(message.subarray(7));
        reply = await replied;
        await settle();
      } finally {
        crashes.stop();
      }
      assert.deepEqual(crashes.errors, []);
      assertAllowed(reply);
      assert.equal(seen.at(-1)?.attributes?.request?.http?.path, '/split');
    },
  );

  test('a message of exactly maxReceiveMessageBytes is accepted', BOUNDED, async () => {
    let body = 'x'.repeat(SMALL_LIMIT);
    const encode = (): Uint8Array =>
      toBinary(
        CheckRequestSchema,
        create(CheckRequestSchema, {
          attributes: { request: { http: { method: 'POST', path: '/exact', body } } },
        }),
      );
    while (encode().byteLength > SMALL_LIMIT) body = body.slice(1);
    assert.equal(encode().byteLength, SMALL_LIMIT, 'the fixture is exactly at the limit');
    const reply = await call(open(small.port), CHECK, grpcFrame(encode()));
    assertAllowed(reply);
  });

  test(
    'a message declared larger than maxReceiveMessageBytes is refused with RESOURCE_EXHAUSTED as soon as its prefix arrives',
    BOUNDED,
    async () => {
      const client = open(small.port);
      const prefix = Buffer.from([0, 0, 0, 0, 0]);
      prefix.writeUInt32BE(0x7fff_ffff, 1);
      // Only the prefix, and the request is never ended: the refusal cannot wait for the body.
      const reply = await call(client, CHECK, prefix, GRPC_HEADERS, { end: false });
      assertRefused(reply, 8, `request message larger than ${SMALL_LIMIT} bytes`);
      // The refusal ends one stream, not the connection.
      assertAllowed(await call(client, CHECK, checkRequest('/after-refusal')));
    },
  );

  test(
    'a message one byte over maxReceiveMessageBytes is refused with RESOURCE_EXHAUSTED',
    BOUNDED,
    async () => {
      const reply = await call(open(small.port), CHECK, grpcFrame(Buffer.alloc(SMALL_LIMIT + 1)));
      assertRefused(reply, 8, `request message larger than ${SMALL_LIMIT} bytes`);
    },
  );

  test('an unknown method is UNIMPLEMENTED (12)', BOUNDED, async () => {
    const path = '/envoy.service.auth.v3.Authorization/Nope';
    const reply = await call(session, path, checkRequest('/'));
    assertRefused(reply, 12, `unknown method ${path}`);
  });

  test('a GET is refused at the HTTP level with :status 405', BOUNDED, async () => {
    const reply = await call(session, CHECK, new Uint8Array(), {
      ...GRPC_HEADERS,
      ':method': 'GET',
    });
    assert.equal(reply.headers[':status'], 405);
    assert.equal(reply.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(reply.data.toString(), 'gRPC requires POST\n');
    assert.equal(reply.trailers, undefined);
  });

  test(
    'a POST with content-type text/plain is refused at the HTTP level with :status 415',
    BOUNDED,
    async () => {
      const reply = await call(session, CHECK, checkRequest('/'), {
        ...GRPC_HEADERS,
        'content-type': 'text/plain',
      });
      assert.equal(reply.headers[':status'], 415);
      assert.equal(reply.data.toString(), 'unsupported content-type\n');
    },
  );

  test('a POST without content-type is refused with :status 415', BOUNDED, async () => {
    const headers: http2.OutgoingHttpHeaders = { ':method': 'POST', te: 'trailers' };
    const reply = await call(session, CHECK, checkRequest('/'), headers);
    assert.equal(reply.headers[':status'], 415);
  });

  test('content-type application/grpc+proto is accepted', BOUNDED, async () => {
    assertAllowed(
      await call(session, CHECK, checkRequest('/proto'), {
        ...GRPC_HEADERS,
        'content-type': 'application/grpc+proto',
      }),
    );
  });

  test(
    'grpc-encoding: gzip is refused with UNIMPLEMENTED and grpc-accept-encoding: identity',
    BOUNDED,
    async () => {
      const reply = await call(session, CHECK, grpcFrame(Buffer.from([1, 2, 3]), 1), {
        ...GRPC_HEADERS,
        'grpc-encoding': 'gzip',
      });
      assertRefused(reply, 12, 'unsupported grpc-encoding gzip');
      assert.equal(reply.headers['grpc-accept-encoding'], 'identity');
    },
  );

  test('grpc-encoding: identity is accepted', BOUNDED, async () => {
    assertAllowed(
      await call(session, CHECK, checkRequest('/identity'), {
        ...GRPC_HEADERS,
        'grpc-encoding': 'identity',
      }),
    );
  });

  const malformed: readonly {
    name: string;
    body: Buffer;
    headers?: http2.OutgoingHttpHeaders;
    message: string;
  }[] = [
    {
      name: 'a message with the compressed flag set but no grpc-encoding',
      body: grpcFrame(toBinary(CheckRequestSchema, create(CheckRequestSchema, {})), 1),
      message: 'compressed message without a grpc-encoding',
    },
    {
      name: 'a message with the compressed flag set under grpc-encoding: identity',
      body: grpcFrame(toBinary(CheckRequestSchema, create(CheckRequestSchema, {})), 1),
      headers: { ...GRPC_HEADERS, 'grpc-encoding': 'identity' },
      message: 'compressed message without a grpc-encoding',
    },
    {
      name: 'two messages on a unary call',
      body: Buffer.concat([checkRequest('/one'), checkRequest('/two')]),
      message: 'more than one request message for a unary call',
    },
    { name: 'an empty body', body: Buffer.alloc(0), message: 'no request message' },
    {
      name: 'a body shorter than the 5-byte prefix',
      body: Buffer.from([0, 0, 0]),
      message: 'no request message',
    },
    {
      name: 'a truncated message (the prefix says 100 bytes, 10 arrive, then the end of the stream)',
      body: Buffer.concat([Buffer.from([0, 0, 0, 0, 100]), Buffer.alloc(10)]),
      message: 'request message truncated',
    },
    {
      // Field 1 (attributes), length-delimited, claiming 5 bytes where 1 follows.
      name: 'bytes that are not a valid CheckRequest',
      body: grpcFrame(Buffer.from([0x0a, 0x05, 0x01])),
      message: 'request message could not be decoded',
    },
    {
      // attributes.request.http.headers {"k": 0xFF}: the hand-written decoder leaves invalid
      // UTF-8 to protobuf-es, which refuses it (src/wire/check-request.ts).
      name: 'a header value that is not UTF-8',
      body: grpcFrame(
        Buffer.from([
          0x0a, 0x0c, 0x22, 0x0a, 0x12, 0x08, 0x1a, 0x06, 0x0a, 0x01, 0x6b, 0x12, 0x01, 0xff,
        ]),
      ),
      message: 'request message could not be decoded',
    },
    {
      // A tag whose varint never ends.
      name: 'a truncated varint',
      body: grpcFrame(Buffer.from([0x0a, 0x02, 0x22, 0x80])),
      message: 'request message could not be decoded',
    },
  ];
  for (const c of malformed) {
    test(`${c.name} is INTERNAL (13), and check() is never called`, BOUNDED, async () => {
      const before = seen.length;
      const reply = await call(session, CHECK, c.body, c.headers ?? GRPC_HEADERS);
      assertRefused(reply, 13, c.message);
      assert.equal(seen.length, before);
    });
  }

  test(
    'a session-level protocol error (garbage instead of the preface) ends that connection, not the server',
    BOUNDED,
    async () => {
      const crashes = processErrors();
      try {
        await sendRaw(server.port, Buffer.from('this is not HTTP/2 at all\r\n\r\n'.repeat(4)));
        await settle();
      } finally {
        crashes.stop();
      }
      assert.deepEqual(crashes.errors, []);
      assertAllowed(await call(session, CHECK, checkRequest('/after-garbage')));
      assertAllowed(await call(open(server.port), CHECK, checkRequest('/after-garbage-new')));
    },
  );

  test(
    'a session-level protocol error (a DATA frame on stream 0 after the preface) ends that connection, not the server',
    BOUNDED,
    async () => {
      const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
      const settings = Buffer.from([0, 0, 0, 0x4, 0, 0, 0, 0, 0]);
      const dataOnStreamZero = Buffer.from([0, 0, 1, 0x0, 0, 0, 0, 0, 0, 0x41]);
      const crashes = processErrors();
      try {
        await sendRaw(server.port, Buffer.concat([preface, settings, dataOnStreamZero]));
        await settle();
      } finally {
        crashes.stop();
      }
      assert.deepEqual(crashes.errors, []);
      assertAllowed(await call(session, CHECK, checkRequest('/after-bad-frame')));
      assertAllowed(await call(open(server.port), CHECK, checkRequest('/after-bad-frame-new')));
    },
  );

  test(
    'a connection reset in the middle of a request ends that connection, not the server',
    BOUNDED,
    async () => {
      const crashes = processErrors();
      try {
        const client = open(server.port);
        await new Promise<void>((resolve) => client.once('connect', () => resolve()));
        const req = client.request({ ...GRPC_HEADERS, ':path': CHECK });
        req.on('error', () => undefined);
        req.write(checkRequest('/reset').subarray(0, 7));
        // A PING round trip: the server has the HEADERS and the partial message before the reset.
        await new Promise<void>((resolve, reject) =>
          client.ping((err) => (err ? reject(err) : resolve())),
        );
        const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
        client.socket.resetAndDestroy();
        await closed;
        await settle();
      } finally {
        crashes.stop();
      }
      assert.deepEqual(crashes.errors, []);
      assertAllowed(await call(open(server.port), CHECK, checkRequest('/after-reset')));
    },
  );

  test(
    'Health/List reports the server and Authorization, both SERVING, and nothing else',
    BOUNDED,
    async () => {
      const reply = await call(session, HEALTH_LIST, grpcFrame(new Uint8Array()));
      assert.equal(reply.headers[':status'], 200);
      assert.equal(reply.headers['content-type'], 'application/grpc');
      const [list, ...rest] = messages(HealthListResponseSchema, reply.data);
      assert.equal(rest.length, 0);
      assert.deepEqual(
        Object.fromEntries(
          Object.entries(list?.statuses ?? {}).map(([name, response]) => [name, response.status]),
        ),
        { '': ServingStatus.SERVING, 'envoy.service.auth.v3.Authorization': ServingStatus.SERVING },
      );
      assert.equal(reply.trailers?.['grpc-status'], '0');
    },
  );
});

describe('a response larger than maxSendMessageBytes', () => {
  test('is answered with RESOURCE_EXHAUSTED (8), not sent', BOUNDED, async () => {
    const big = create(CheckResponseSchema, {
      status: { code: 7 },
      httpResponse: {
        case: 'deniedResponse',
        value: { status: { code: 403 }, body: 'x'.repeat(SMALL_LIMIT * 2) },
      },
    });
    const server = await startGrpcServer({
      address: '127.0.0.1',
      port: 0,
      maxReceiveMessageBytes: LIMIT,
      maxSendMessageBytes: SMALL_LIMIT,
      check: () => Promise.resolve(big),
      health: serving(),
    });
    try {
      assertRefused(
        await call(open(server.port), CHECK, checkRequest('/big')),
        8,
        'response message larger than the send limit',
      );
    } finally {
      closeSessions();
      await server.shutdown(1000);
    }
  });
});

describe('a response protobuf-es cannot encode', () => {
  test(
    'is answered with INTERNAL (13), never an allow, and the server keeps serving',
    BOUNDED,
    async () => {
      // int32 overflow in google.rpc.Status.code: toBinary throws.
      const unencodable = create(CheckResponseSchema, {
        status: { code: 2 ** 40 },
        httpResponse: { case: 'okResponse', value: {} },
      });
      let bad = true;
      const server = await start(() => Promise.resolve(bad ? unencodable : ALLOW));
      const crashes = processErrors();
      try {
        const session = open(server.port);
        assertRefused(
          await call(session, CHECK, checkRequest('/unencodable')),
          13,
          'response message could not be encoded',
        );
        await settle();
        assert.deepEqual(crashes.errors, []);
        bad = false;
        assertAllowed(await call(session, CHECK, checkRequest('/after')));
      } finally {
        crashes.stop();
        closeSessions();
        await server.shutdown(1000);
      }
    },
  );
});

describe('a client that cancels a Check in flight', () => {
  test(
    'resetting the stream while check() is pending does not crash the server; later Checks are answered on the same and a new connection',
    BOUNDED,
    async () => {
      const held = heldCheck();
      const server = await start(held.check);
      const crashes = processErrors();
      try {
        const session = open(server.port);
        const req = session.request({ ...GRPC_HEADERS, ':path': CHECK });
        let answered = false;
        req.on('response', () => (answered = true));
        req.on('error', () => undefined);
        const closed = new Promise<void>((resolve) => req.once('close', () => resolve()));
        req.end(checkRequest('/cancelled'));
        await held.arrived;
        req.close(http2.constants.NGHTTP2_CANCEL);
        await closed;
        // Our side closes at once; a PING answered after the RST_STREAM proves the server has read it.
        await new Promise<void>((resolve, reject) =>
          session.ping((err) => (err ? reject(err) : resolve())),
        );
        // The answer to the cancelled call is produced now, with nobody left to take it.
        held.release();
        await settle();
        assert.deepEqual(crashes.errors, [], 'answering a cancelled call threw');
        assert.equal(answered, false, 'the cancelled call got no response');
        assert.equal(req.rstCode, http2.constants.NGHTTP2_CANCEL);
        assertAllowed(await call(session, CHECK, checkRequest('/same-connection')));
        assertAllowed(await call(open(server.port), CHECK, checkRequest('/new-connection')));
        assert.deepEqual(
          held.seen.map((r) => r.attributes?.request?.http?.path),
          ['/cancelled', '/same-connection', '/new-connection'],
        );
      } finally {
        crashes.stop();
        held.release();
        closeSessions();
        await server.shutdown(1000);
      }
    },
  );
});

describe('shutdown', () => {
  test(
    'Health/Watch on an unknown service sends SERVICE_UNKNOWN and stays open; shutdown(1000) ends it with grpc-status 0 before the grace period',
    BOUNDED,
    async () => {
      const server = await start(() => Promise.resolve(ALLOW));
      try {
        const session = open(server.port);
        const req = session.request({ ...GRPC_HEADERS, ':path': HEALTH_WATCH });
        let headers: http2.IncomingHttpHeaders | undefined;
        let trailers: http2.IncomingHttpHeaders | undefined;
        const chunks: Buffer[] = [];
        let first = (): void => undefined;
        const firstMessage = new Promise<void>((resolve) => (first = resolve));
        req.on('response', (h) => (headers = h));
        req.on('trailers', (t) => (trailers = t));
        req.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          first();
        });
        req.on('error', () => undefined);
        const ended = new Promise<void>((resolve) => req.once('end', () => resolve()));
        req.end(
          grpcFrame(
            toBinary(
              HealthCheckRequestSchema,
              create(HealthCheckRequestSchema, { service: 'no.such.Service' }),
            ),
          ),
        );

        await firstMessage;
        // A round trip on the same connection: had the server ended the Watch, its end would be here first.
        await call(session, HEALTH_LIST, grpcFrame(new Uint8Array()));
        assert.equal(headers?.[':status'], 200);
        assert.equal(headers?.['grpc-status'], undefined, 'not a trailers-only refusal');
        assert.equal(trailers, undefined, 'the Watch is still open');
        assert.equal(req.readableEnded, false, 'the Watch is still open');
        assert.deepEqual(
          messages(HealthCheckResponseSchema, Buffer.concat(chunks)).map((m) => m.status),
          [ServingStatus.SERVICE_UNKNOWN],
        );

        const started = performance.now();
        await server.shutdown(1000);
        const elapsed = performance.now() - started;
        await ended;
        assert.equal(trailers?.['grpc-status'], '0');
        assert.ok(
          elapsed < 1000,
          `shutdown took ${Math.round(elapsed)} ms: it waited out the grace period for an open Watch`,
        );
      } finally {
        closeSessions();
        await server.shutdown(1000);
      }
    },
  );

  test(
    'a Health/Watch whose request message arrives after shutdown began is ended too, before the grace period',
    BOUNDED,
    async () => {
      const server = await start(() => Promise.resolve(ALLOW));
      const grace = 1000;
      try {
        const session = open(server.port);
        await new Promise<void>((resolve) => session.once('connect', () => resolve()));
        const req = session.request({ ...GRPC_HEADERS, ':path': HEALTH_WATCH });
        let trailers: http2.IncomingHttpHeaders | undefined;
        req.on('trailers', (t) => (trailers = t));
        req.on('data', () => undefined);
        req.on('error', () => undefined);
        const closed = new Promise<void>((resolve) => req.once('close', () => resolve()));
        // A PING round trip: the server has the Watch's HEADERS, but not its message, when shutdown starts.
        await new Promise<void>((resolve, reject) =>
          session.ping((err) => (err ? reject(err) : resolve())),
        );
        const started = performance.now();
        const stopped = server.shutdown(grace);
        req.end(
          grpcFrame(
            toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema, { service: '' })),
          ),
        );
        await Promise.all([stopped, closed]);
        const elapsed = performance.now() - started;
        // Ended like every other Watch (OK), or refused as the server goes away (UNAVAILABLE); never reset.
        assert.match(
          String(trailers?.['grpc-status']),
          /^(0|14)$/,
          `the Watch was reset (rstCode ${req.rstCode}), not ended with a status`,
        );
        assert.ok(
          elapsed < grace,
          `shutdown took ${Math.round(elapsed)} ms: it waited out the grace period`,
        );
      } finally {
        closeSessions();
        await server.shutdown(grace);
      }
    },
  );

  test(
    'shutdown lets an in-flight Check finish and be answered; new connections are refused',
    BOUNDED,
    async () => {
      const held = heldCheck();
      const server = await start(held.check);
      const grace = 5000;
      try {
        const session = open(server.port);
        const goaway = new Promise<number>((resolve) =>
          session.once('goaway', (code: number) => resolve(code)),
        );
        const reply = call(session, CHECK, checkRequest('/in-flight'));
        await held.arrived;
        const started = performance.now();
        const stopped = server.shutdown(grace);
        assert.equal(
          await connectError(server.port),
          'ECONNREFUSED',
          'no new connection once shutdown has started',
        );
        assert.equal(
          await goaway,
          http2.constants.NGHTTP2_NO_ERROR,
          'the open connection is told to go away, gracefully',
        );
        // The Check's answer is produced only now, well into shutdown (yet far inside the grace):
        // a shutdown that cut in-flight calls short would have reset the stream by then.
        await delay(100);
        held.release();
        assertAllowed(await reply);
        await stopped;
        assert.ok(
          performance.now() - started < grace,
          'shutdown resolved once the in-flight Check was answered, not at the grace period',
        );
        assert.equal(await connectError(server.port), 'ECONNREFUSED');
      } finally {
        held.release();
        closeSessions();
        await server.shutdown(grace);
      }
    },
  );
});
