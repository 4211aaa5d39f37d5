import assert from 'node:assert/strict';
import * as net from 'node:net';
import { test, type TestContext } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { CheckResponseSchema } from '../../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import { startServingGrpc } from '../../support/grpc-server.js';
import type { GrpcListenerLimits, GrpcServer } from '../../../src/wire/types.js';
import { connect, type TestClient } from '../../support/grpc-client.js';
import {
  halfSentStreams,
  idleSessionFlood,
  idleSocketFlood,
  rawHalfSentStreams,
} from '../../support/floods.js';

// Hostile connection floods against the gRPC listener's limits (issue 13, point 4): each flood
// runs while a well-behaved canary keeps asking; the test counts the canary's answers and the
// flood connections the server closed. Nothing here asserts a duration: deadlines only bound
// how long the test waits for something that must happen.

const ALLOW = create(CheckResponseSchema, {
  status: { code: 0 },
  httpResponse: { case: 'okResponse', value: {} },
});
const LIMITS: GrpcListenerLimits = {
  maxConcurrentStreams: 16,
  maxConnections: 32,
  idleTimeoutMs: 500,
  messageReadTimeoutMs: 500,
};
/** How long to wait for the server to close what it must close: generous, it is only a bound. */
const SETTLE_MS = 20_000;

async function serve(
  t: TestContext,
  limits: Partial<GrpcListenerLimits> = LIMITS,
): Promise<GrpcServer> {
  const server = await startServingGrpc({
    maxReceiveMessageBytes: 1 << 20,
    maxSendMessageBytes: 1 << 20,
    check: () => Promise.resolve(ALLOW),
    limits,
  });
  t.after(() => server.shutdown(0));
  return server;
}

/** The canary: `count` Checks one after another, on a connection opened before the flood and on fresh ones. */
async function canary(
  port: number,
  persistent: TestClient,
  count: number,
): Promise<{ answered: number; failed: number }> {
  let answered = 0;
  let failed = 0;
  for (let i = 0; i < count; i++) {
    const fresh = i % 2 === 1 ? connect(port) : undefined;
    try {
      const response = await (fresh ?? persistent).check({
        attributes: { request: { http: { method: 'GET', path: `/canary/${i}` } } },
      });
      if (response.status?.code === 0) answered++;
      else failed++;
    } catch {
      failed++;
    } finally {
      fresh?.close();
    }
  }
  return { answered, failed };
}

test('a flood of idle TCP connections past max_connections: the canary is answered and every idle connection is closed', {
  timeout: 60_000,
}, async (t) => {
  const server = await serve(t);
  const persistent = connect(server.port);
  t.after(() => persistent.close());
  await persistent.check({});
  const flood = await idleSocketFlood({ port: server.port }, 200);
  t.after(() => flood.destroy());
  const result = await canary(server.port, persistent, 40);
  assert.deepEqual(
    result,
    { answered: 40, failed: 0 },
    'every canary Check answered during the flood',
  );
  assert.equal(
    await flood.settled(SETTLE_MS),
    flood.opened,
    'the server closed every idle connection (evicted at the cap, or idle timeout)',
  );
});

test('idle HTTP/2 sessions, even ones that keep sending PINGs, are closed; the canary is answered', {
  timeout: 60_000,
}, async (t) => {
  const server = await serve(t);
  const persistent = connect(server.port);
  t.after(() => persistent.close());
  await persistent.check({});
  const quiet = await idleSessionFlood({ port: server.port }, 100);
  const pinging = await idleSessionFlood({ port: server.port }, 20, 50);
  t.after(() => {
    quiet.destroy();
    pinging.destroy();
  });
  const result = await canary(server.port, persistent, 40);
  assert.deepEqual(result, { answered: 40, failed: 0 });
  assert.equal(await quiet.settled(SETTLE_MS), quiet.opened, 'every idle session was closed');
  assert.equal(
    await pinging.settled(SETTLE_MS),
    pinging.opened,
    'PINGs do not keep a session without streams open',
  );
});

test('thousands of half-sent streams on one connection: at most max_concurrent_streams admitted, each ended; the canary is answered', {
  timeout: 60_000,
}, async (t) => {
  const server = await serve(t);
  const persistent = connect(server.port);
  t.after(() => persistent.close());
  await persistent.check({});
  const count = 10_000;
  const flood = await rawHalfSentStreams({ port: server.port }, count);
  t.after(() => flood.destroy());
  const result = await canary(server.port, persistent, 40);
  assert.deepEqual(
    result,
    { answered: 40, failed: 0 },
    'every canary Check answered during the flood',
  );
  assert.equal(await flood.settled(SETTLE_MS), true, 'the server closed the flooding connection');
  const refused = flood.resets.get(0x7) ?? 0;
  assert.ok(
    refused >= 1,
    `streams beyond the limit were refused (resets ${JSON.stringify([...flood.resets])})`,
  );
  assert.ok(
    flood.answered() <= LIMITS.maxConcurrentStreams,
    `at most ${LIMITS.maxConcurrentStreams} streams were admitted and ended (got ${flood.answered()})`,
  );
});

test('a half-sent message is answered with DEADLINE_EXCEEDED and its stream closed', {
  timeout: 30_000,
}, async (t) => {
  const server = await serve(t);
  const half = halfSentStreams({ port: server.port }, 1);
  t.after(() => half.session.destroy());
  assert.equal(await half.settled(SETTLE_MS), 1, 'the stream was ended by the server');
  assert.deepEqual([...half.statuses], [['4', 1]], 'grpc-status 4 (DEADLINE_EXCEEDED)');
});

test('connections whose half-sent streams hit the read deadline become idle, and a newcomer at max_connections evicts one', {
  timeout: 60_000,
}, async (t) => {
  const server = await serve(t, { ...LIMITS, maxConnections: 4, idleTimeoutMs: 0 });
  const busy = Array.from({ length: 4 }, () => halfSentStreams({ port: server.port }, 1));
  t.after(() => {
    for (const b of busy) b.session.destroy();
  });
  // Every busy stream ends with DEADLINE_EXCEEDED; the sessions are then idle, so a newcomer evicts one.
  for (const b of busy) assert.equal(await b.settled(SETTLE_MS), 1);
  const late = connect(server.port);
  t.after(() => late.close());
  const response = await late.check({});
  assert.equal(response.status?.code, 0, 'a newcomer is answered once the busy sessions went idle');
  const closedBusy = busy.filter((b) => b.session.closed || b.session.destroyed).length;
  assert.ok(closedBusy >= 1, 'it took the place of an idle session');
});

test('at max_connections with every connection holding a stream, a newcomer is refused until one goes away', {
  timeout: 60_000,
}, async (t) => {
  const server = await serve(t, {
    ...LIMITS,
    maxConnections: 4,
    idleTimeoutMs: 0,
    messageReadTimeoutMs: 0,
  });
  const busy = Array.from({ length: 4 }, () => halfSentStreams({ port: server.port }, 1));
  t.after(() => {
    for (const b of busy) b.session.destroy();
  });
  // Once connected, a PING's answer comes after the server has read everything sent before it:
  // the streams are open then.
  await Promise.all(
    busy.map(
      (b) =>
        new Promise<void>((resolve) =>
          b.session.connecting ? b.session.once('connect', () => resolve()) : resolve(),
        ),
    ),
  );
  await Promise.all(
    busy.map(
      (b) =>
        new Promise<void>((resolve, reject) =>
          b.session.ping((err) => (err === null ? resolve() : reject(err))),
        ),
    ),
  );
  const refused = await new Promise<{ bytes: number }>((resolve) => {
    let bytes = 0;
    const socket = net.connect(server.port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => (bytes += chunk.length));
    socket.once('close', () => resolve({ bytes }));
  });
  assert.equal(refused.bytes, 0, 'the newcomer was closed without an HTTP/2 SETTINGS frame');
  busy[0]!.session.destroy();
  const late = connect(server.port);
  t.after(() => late.close());
  let answered = false;
  const deadline = Date.now() + SETTLE_MS;
  while (!answered && Date.now() < deadline) {
    answered = await late.check({}).then(
      (r) => r.status?.code === 0,
      () => false,
    );
    if (!answered) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(answered, 'once a connection went away, a newcomer is answered');
});

test('shutdown ends even with connections whose peers never read', {
  timeout: 30_000,
}, async () => {
  const server = await startServingGrpc({
    maxReceiveMessageBytes: 1 << 20,
    maxSendMessageBytes: 1 << 20,
    check: () => Promise.resolve(ALLOW),
    limits: { ...LIMITS, idleTimeoutMs: 0 },
  });
  // Paused sockets: they never read the server's SETTINGS or GOAWAY, nor its FIN.
  const sockets = await Promise.all(
    Array.from(
      { length: 20 },
      () =>
        new Promise<net.Socket>((resolve) => {
          const socket = net.connect(server.port, '127.0.0.1');
          socket.on('error', () => undefined);
          socket.pause();
          socket.once('connect', () => resolve(socket));
        }),
    ),
  );
  const half = halfSentStreams({ port: server.port }, 1);
  await new Promise<void>((resolve) =>
    half.session.connecting ? half.session.once('connect', () => resolve()) : resolve(),
  );
  await server.shutdown(200); // resolves only once the server has closed every connection
  for (const socket of sockets) socket.destroy();
  half.session.destroy();
});
