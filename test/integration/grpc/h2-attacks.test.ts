import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { after, test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { create, toBinary } from '@bufbuild/protobuf';
import {
  CheckRequestSchema,
  CheckResponseSchema,
  type CheckResponse,
} from '../../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import { H2Connection } from '../../../src/wire/h2/connection.js';
import { encodeHeaderBlock } from '../../../src/wire/h2/hpack.js';
import { startServingGrpc } from '../../support/grpc-server.js';
import type { GrpcServer } from '../../../src/wire/types.js';

// Attacks on Gatehouse's own HTTP/2 layer (src/wire/h2), each sent as raw frames over a socket,
// so the attack is exactly the bytes below and not what a well-behaved client library sends.
// RFC conformance as a whole is h2spec's (h2spec.test.ts); these are the denial-of-service
// shapes a public HTTP/2 server has met.

const BOUNDED = Object.freeze({ timeout: 30_000 });
const CHECK = '/envoy.service.auth.v3.Authorization/Check';
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const ALLOW = create(CheckResponseSchema, { status: { code: 0 } });

const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const PING = 0x6;
const GOAWAY = 0x7;
const CONTINUATION = 0x9;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const REFUSED_STREAM = 0x7;
const CANCEL = 0x8;
const ENHANCE_YOUR_CALM = 0xb;

const servers: GrpcServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.shutdown(100)));
});

function frame(type: number, flags: number, id: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const out = Buffer.alloc(9 + payload.length);
  out.writeUIntBE(payload.length, 0, 3);
  out[3] = type;
  out[4] = flags;
  out.writeUInt32BE(id, 5);
  payload.copy(out, 9);
  return out;
}

const REQUEST_BLOCK = encodeHeaderBlock([
  [':method', 'POST'],
  [':scheme', 'http'],
  [':path', CHECK],
  [':authority', 'gatehouse'],
  ['content-type', 'application/grpc'],
  ['te', 'trailers'],
]);

function checkMessage(): Buffer {
  const body = toBinary(
    CheckRequestSchema,
    create(CheckRequestSchema, { attributes: { request: { http: { method: 'GET', path: '/' } } } }),
  );
  const out = Buffer.alloc(5 + body.length);
  out.writeUInt32BE(body.length, 1);
  out.set(body, 5);
  return out;
}

/** A whole unary Check on stream `id`: HEADERS, then the message in a DATA frame that ends it. */
function checkFrames(id: number, block: Buffer = REQUEST_BLOCK): Buffer {
  return Buffer.concat([
    frame(HEADERS, END_HEADERS, id, block),
    frame(DATA, END_STREAM, id, checkMessage()),
  ]);
}

interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly id: number;
  readonly payload: Buffer;
}

/** A raw HTTP/2 client: the preface and an empty SETTINGS sent, every frame it receives recorded. */
class RawClient {
  readonly frames: Frame[] = [];
  closed = false;
  private buffered = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  readonly socket: net.Socket;

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.on('error', () => undefined);
    this.socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 9) {
        const length = this.buffered.readUIntBE(0, 3);
        if (this.buffered.length < 9 + length) break;
        const f: Frame = {
          type: this.buffered[3]!,
          flags: this.buffered[4]!,
          id: this.buffered.readUInt32BE(5) & 0x7fff_ffff,
          payload: Buffer.from(this.buffered.subarray(9, 9 + length)),
        };
        this.buffered = this.buffered.subarray(9 + length);
        this.frames.push(f);
        // Acknowledge the server's SETTINGS, as every client must.
        if (f.type === SETTINGS && (f.flags & 0x1) === 0)
          this.socket.write(frame(SETTINGS, 0x1, 0));
      }
      this.wake();
    });
    this.socket.once('close', () => {
      this.closed = true;
      this.wake();
    });
    this.socket.write(Buffer.concat([PREFACE, frame(SETTINGS, 0, 0)]));
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Wait until `done` holds over what arrived (or the connection closed). */
  async until(done: (frames: readonly Frame[]) => boolean): Promise<void> {
    while (!done(this.frames) && !this.closed) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  resets(code: number): Frame[] {
    return this.frames.filter((f) => f.type === RST_STREAM && f.payload.readUInt32BE(0) === code);
  }

  /** grpc-status 0 answers: trailers (HEADERS with END_STREAM) on the stream after its DATA. */
  answered(id: number): boolean {
    return this.frames.some(
      (f) => f.type === HEADERS && f.id === id && (f.flags & END_STREAM) !== 0,
    );
  }

  goaway(): number | undefined {
    const f = this.frames.find((x) => x.type === GOAWAY);
    return f?.payload.readUInt32BE(4);
  }
}

async function start(
  check: () => Promise<CheckResponse>,
  limits: { maxConcurrentStreams?: number } = {},
): Promise<GrpcServer> {
  const server = await startServingGrpc({ check, limits });
  servers.push(server);
  return server;
}

test(
  'rapid reset (CVE-2023-44487): streams reset at once keep their slot until their Check is done, so at most max_concurrent_streams Checks run and the rest are refused',
  BOUNDED,
  async () => {
    let running = 0;
    let most = 0;
    let calls = 0;
    let hold = true;
    const waiting: (() => void)[] = [];
    const server = await start(
      () => {
        if (!hold) return Promise.resolve(ALLOW);
        calls++;
        running++;
        most = Math.max(most, running);
        return new Promise<CheckResponse>((resolve) =>
          waiting.push(() => {
            running--;
            resolve(ALLOW);
          }),
        );
      },
      { maxConcurrentStreams: 8 },
    );
    const client = new RawClient(server.port);
    const burst: Buffer[] = [];
    for (let i = 0; i < 200; i++) {
      const id = 1 + 2 * i;
      burst.push(checkFrames(id), frame(RST_STREAM, 0, id, Buffer.from([0, 0, 0, CANCEL])));
    }
    client.socket.write(Buffer.concat(burst));
    await client.until((frames) => frames.filter((f) => f.type === RST_STREAM).length >= 192);
    await nextTurn();
    assert.equal(calls, 8, 'only the streams holding a slot reached check()');
    assert.equal(most, 8);
    assert.ok(client.resets(REFUSED_STREAM).length >= 192, 'the rest were refused');
    // Once the held Checks finish, their slots come back: a new stream is answered.
    hold = false;
    for (const release of waiting.splice(0)) release();
    await nextTurn();
    client.socket.write(checkFrames(401));
    await client.until((frames) =>
      frames.some((f) => f.id === 401 && (f.flags & END_STREAM) !== 0),
    );
    assert.ok(client.answered(401));
    client.socket.destroy();
  },
);

test(
  'a request trickled one octet at a time is answered (partial frames are joined once, in order)',
  BOUNDED,
  async () => {
    const server = await start(() => Promise.resolve(ALLOW));
    const socket = net.connect(server.port, '127.0.0.1');
    socket.on('error', () => undefined);
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const bytes = Buffer.concat([PREFACE, frame(SETTINGS, 0, 0), checkFrames(1)]);
    for (const byte of bytes) {
      socket.write(Buffer.from([byte]));
      await nextTurn();
    }
    const client = { frames: [] as Frame[] };
    for (
      let i = 0;
      i < 200 && !client.frames.some((f) => f.id === 1 && (f.flags & END_STREAM) !== 0);
      i++
    ) {
      await new Promise((r) => setTimeout(r, 10));
      client.frames = parseFrames(Buffer.concat(received));
    }
    const trailers = client.frames.find(
      (f) => f.id === 1 && f.type === HEADERS && (f.flags & END_STREAM) !== 0,
    );
    assert.ok(trailers !== undefined, 'the Check was answered');
    assert.ok(
      client.frames.some((f) => f.id === 1 && f.type === DATA),
      'with a message',
    );
    socket.destroy();
  },
);

function parseFrames(data: Buffer): Frame[] {
  const out: Frame[] = [];
  let at = 0;
  while (data.length - at >= 9) {
    const length = data.readUIntBE(at, 3);
    if (data.length - at < 9 + length) break;
    out.push({
      type: data[at + 3]!,
      flags: data[at + 4]!,
      id: data.readUInt32BE(at + 5) & 0x7fff_ffff,
      payload: data.subarray(at + 9, at + 9 + length),
    });
    at += 9 + length;
  }
  return out;
}

test(
  'HPACK bomb: a header list that decodes past SETTINGS_MAX_HEADER_LIST_SIZE resets its stream, and the next request, which uses the same dynamic table, is answered',
  BOUNDED,
  async () => {
    const server = await start(() => Promise.resolve(ALLOW));
    const client = new RawClient(server.port);
    // A 4,000-octet header inserted into the dynamic table (literal with incremental indexing,
    // new name), then referenced 2,000 times: 6 KB on the wire, 8 MB decoded.
    const name = Buffer.from('x-bomb', 'latin1');
    const value = Buffer.alloc(4000, 0x61);
    const insert = Buffer.concat([
      Buffer.from([0x40, name.length]),
      name,
      // 4,000 as an HPACK integer with a 7-bit prefix: 127, then 3,873 = 33 + 30 × 128.
      Buffer.from([0x7f, 0x80 | 33, 30]),
      value,
    ]);
    const bomb = Buffer.concat([REQUEST_BLOCK, insert, Buffer.alloc(2000, 0xbe)]);
    client.socket.write(frame(HEADERS, END_HEADERS, 1, bomb));
    await client.until((frames) => frames.some((f) => f.type === RST_STREAM && f.id === 1));
    assert.equal(client.resets(ENHANCE_YOUR_CALM)[0]?.id, 1);
    // The next request refers to the entry the bomb inserted (index 62): decodable only if the
    // server's table followed the bomb's block to its end.
    client.socket.write(checkFrames(3, Buffer.concat([REQUEST_BLOCK, Buffer.from([0xbe])])));
    await client.until((frames) => frames.some((f) => f.id === 3 && (f.flags & END_STREAM) !== 0));
    assert.ok(client.answered(3));
    assert.equal(client.goaway(), undefined, 'the connection stays up');
    client.socket.destroy();
  },
);

test(
  'CONTINUATION flood (CVE-2024-27316): a header block continued past 64 KiB ends the connection with ENHANCE_YOUR_CALM',
  BOUNDED,
  async () => {
    let calls = 0;
    const server = await start(() => {
      calls++;
      return Promise.resolve(ALLOW);
    });
    const client = new RawClient(server.port);
    const pieces = [frame(HEADERS, 0, 1, REQUEST_BLOCK)];
    for (let i = 0; i < 100; i++) pieces.push(frame(CONTINUATION, 0, 1, Buffer.alloc(1000, 0x40)));
    client.socket.write(Buffer.concat(pieces));
    await client.until(() => false);
    assert.equal(client.goaway(), ENHANCE_YOUR_CALM);
    assert.equal(calls, 0);
  },
);

test(
  'a peer that sends PINGs and never reads the acknowledgements is cut off once the output queued for it passes its bound',
  BOUNDED,
  async () => {
    const server = net.createServer((socket) => {
      new H2Connection(
        socket,
        {
          maxConcurrentStreams: 8,
          maxHeaderListSize: 65_536,
          windowSize: 1 << 20,
          maxQueuedOutput: 64 << 10,
          maxBufferedInput: 1 << 20,
        },
        { onStream: (stream) => stream.release() },
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const port = (server.address() as net.AddressInfo).port;
    const socket = net.connect(port, '127.0.0.1');
    let closed = false;
    socket.on('error', () => undefined);
    socket.once('close', () => {
      closed = true;
    });
    socket.pause(); // never reads
    socket.write(Buffer.concat([PREFACE, frame(SETTINGS, 0, 0)]));
    const pings = Buffer.concat(
      Array.from({ length: 10_000 }, () => frame(PING, 0, 0, Buffer.alloc(8))),
    );
    let sent = 0;
    // Up to 200 MB of PINGs; a server that buffered every acknowledgement would hold as much.
    while (!closed && sent < 200 << 20) {
      const more = socket.write(pings);
      sent += pings.length;
      if (!more)
        await Promise.race([
          new Promise((r) => socket.once('drain', r)),
          new Promise((r) => setTimeout(r, 200)),
        ]);
    }
    assert.ok(closed, `the server closed the connection (sent ${sent} octets of PINGs)`);
    assert.ok(sent < 200 << 20);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  },
);

test(
  'flow control: a client with a 16-octet stream window still gets the whole answer, in DATA frames no larger than its window',
  BOUNDED,
  async () => {
    const big = create(CheckResponseSchema, {
      status: { code: 0 },
      httpResponse: {
        case: 'okResponse',
        value: {
          headers: Array.from({ length: 40 }, (_, i) => ({
            header: { key: `x-test-${i}`, value: 'v'.repeat(50) },
          })),
        },
      },
    });
    const server = await start(() => Promise.resolve(big));
    const session = http2.connect(`http://127.0.0.1:${server.port}`, {
      settings: { initialWindowSize: 16 },
    });
    session.on('error', () => undefined);
    const req = session.request({
      ':method': 'POST',
      ':path': CHECK,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    req.end(checkMessage());
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    // Both listened for before either can come (they arrive in the same turn).
    const trailersArrived = new Promise<http2.IncomingHttpHeaders>((resolve) =>
      req.once('trailers', resolve),
    );
    await new Promise((resolve) => req.once('end', resolve));
    assert.equal((await trailersArrived)['grpc-status'], '0');
    const data = Buffer.concat(chunks);
    const expected = toBinary(CheckResponseSchema, big);
    assert.equal(data.readUInt32BE(1), expected.length);
    assert.deepEqual(new Uint8Array(data.subarray(5)), expected);
    assert.ok(
      chunks.every((c) => c.length <= 16),
      'no DATA frame larger than the window',
    );
    session.destroy();
  },
);

test(
  'request data held by unfinished requests is bounded per connection: the stream that passes the budget is reset with ENHANCE_YOUR_CALM',
  BOUNDED,
  async () => {
    let calls = 0;
    // 1 MiB messages: the connection may hold max(10 MiB, two messages) of unfinished requests.
    const server = await startServingGrpc({
      maxReceiveMessageBytes: 1 << 20,
      maxSendMessageBytes: 1 << 20,
      check: () => {
        calls++;
        return Promise.resolve(ALLOW);
      },
    });
    servers.push(server);
    const session = http2.connect(`http://127.0.0.1:${server.port}`);
    session.on('error', () => undefined);
    // Twenty requests that each declare a 1 MiB message, send all of it but the last octet, and
    // never end: 20 MiB held if nothing bounded it.
    const body = Buffer.alloc(5 + (1 << 20) - 1);
    body.writeUInt32BE(1 << 20, 1);
    const codes = await Promise.all(
      Array.from({ length: 20 }, () => {
        const req = session.request({
          ':method': 'POST',
          ':path': CHECK,
          'content-type': 'application/grpc',
          te: 'trailers',
        });
        req.on('error', () => undefined);
        req.write(body);
        return new Promise<number>((resolve) => {
          req.once('close', () => resolve(req.rstCode ?? -1));
          // A stream still open after the others settled is one the budget admitted.
          setTimeout(() => resolve(0), 3_000).unref();
        });
      }),
    );
    const calmed = codes.filter((c) => c === ENHANCE_YOUR_CALM).length;
    assert.ok(calmed >= 10, `streams reset past the budget: ${calmed} (codes ${codes.join(',')})`);
    assert.ok(calmed < 20, 'the streams within the budget were not reset');
    assert.equal(calls, 0);
    session.destroy();
  },
);

test(
  'a message in one-octet DATA frames is read whole and answered (each octet copied a bounded number of times)',
  BOUNDED,
  async () => {
    const server = await start(() => Promise.resolve(ALLOW));
    const client = new RawClient(server.port);
    const message = checkMessage();
    const frames = [frame(HEADERS, END_HEADERS, 1, REQUEST_BLOCK)];
    for (const octet of message) frames.push(frame(DATA, 0, 1, Buffer.from([octet])));
    frames.push(frame(DATA, END_STREAM, 1));
    client.socket.write(Buffer.concat(frames));
    await client.until((fs) => fs.some((f) => f.id === 1 && (f.flags & END_STREAM) !== 0));
    assert.ok(client.answered(1));
    assert.ok(client.frames.some((f) => f.id === 1 && f.type === DATA && f.payload.length > 5));
    client.socket.destroy();
  },
);
