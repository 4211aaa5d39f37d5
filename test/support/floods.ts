import * as http2 from 'node:http2';
import * as net from 'node:net';
import * as tls from 'node:tls';

/** How a hostile client's connections ended up, counted when the flood is over. */
export interface FloodReport {
  /** Connections (or sessions) opened. */
  readonly opened: number;
  /** Of those, closed by the server (observed on the client side). */
  closed(): number;
  /** Wait until every connection is closed, or `deadlineMs` passed; resolves with closed(). */
  settled(deadlineMs: number): Promise<number>;
  /** Destroy whatever is still open. */
  destroy(): void;
}

/** Where a flood connects: a cleartext port, or a TLS port with client options. */
export interface FloodTarget {
  readonly port: number;
  /** TLS client options (the flood then connects over TLS). */
  readonly tls?: tls.ConnectionOptions;
}

interface Closable {
  once(event: 'close', cb: () => void): unknown;
  destroy(): void;
}

/** Counts closes from the moment each connection is created (a server may close it at once). */
class CloseCounter {
  closed = 0;
  readonly waiters = new Set<() => void>();
  track<T extends Closable>(socket: T): T {
    socket.once('close', () => {
      this.closed++;
      for (const wake of this.waiters) wake();
    });
    return socket;
  }
}

function report(sockets: readonly Closable[], counter: CloseCounter): FloodReport {
  const waiters = counter.waiters;
  return {
    opened: sockets.length,
    closed: () => counter.closed,
    async settled(deadlineMs) {
      const deadline = Date.now() + deadlineMs;
      while (counter.closed < sockets.length && Date.now() < deadline) {
        await new Promise<void>((resolve) => {
          const wake = (): void => {
            waiters.delete(wake);
            clearTimeout(timer);
            resolve();
          };
          const timer = setTimeout(wake, Math.max(1, Math.min(250, deadline - Date.now())));
          waiters.add(wake);
        });
      }
      return counter.closed;
    },
    destroy() {
      for (const socket of sockets) socket.destroy();
    },
  };
}

/**
 * `count` TCP connections that never send a byte (no HTTP/2 preface, no TLS hello), opened in
 * batches: each batch waits until the server has accepted every connection in it (its HTTP/2
 * server preface arrived, or it was closed). A burst larger than the listen backlog would
 * otherwise leave connections in the kernel's handshake queue, "connected" for the client but
 * never seen by the server, which no server-side limit can close.
 */
export async function idleSocketFlood(
  target: FloodTarget,
  count: number,
  batch = 250,
): Promise<FloodReport> {
  const sockets: net.Socket[] = [];
  const counter = new CloseCounter();
  for (let start = 0; start < count; start += batch) {
    await Promise.all(
      Array.from(
        { length: Math.min(batch, count - start) },
        () =>
          new Promise<void>((resolve) => {
            const socket = counter.track(net.connect(target.port, '127.0.0.1'));
            socket.on('error', () => undefined);
            // Read (and drop) whatever the server sends, so its FIN is seen and 'close' fires.
            socket.once('data', () => resolve());
            socket.resume();
            sockets.push(socket);
            socket.once('close', () => resolve());
            setTimeout(resolve, 10_000).unref();
          }),
      ),
    );
  }
  return report(sockets, counter);
}

/**
 * `count` HTTP/2 sessions that complete the handshake and then open no stream; each sends a
 * PING every `pingEveryMs` (0: never), which must not count as activity.
 */
export async function idleSessionFlood(
  target: FloodTarget,
  count: number,
  pingEveryMs = 0,
): Promise<FloodReport> {
  const sessions: http2.ClientHttp2Session[] = [];
  const counter = new CloseCounter();
  const timers: NodeJS.Timeout[] = [];
  await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<void>((resolve) => {
          const session = counter.track(connectSession(target));
          sessions.push(session);
          session.once('connect', () => resolve());
          session.once('close', () => resolve());
          if (pingEveryMs > 0) {
            const timer = setInterval(() => {
              if (!session.closed && !session.destroyed) session.ping(() => undefined);
            }, pingEveryMs);
            timer.unref();
            timers.push(timer);
            session.once('close', () => clearInterval(timer));
          }
        }),
    ),
  );
  const r = report(sessions, counter);
  return {
    ...r,
    destroy: () => {
      for (const timer of timers) clearInterval(timer);
      return r.destroy();
    },
  };
}

/** What a raw HTTP/2 peer saw from the server while it flooded one connection with half-sent streams. */
export interface RawFloodReport {
  /** Streams the server answered and ended (a HEADERS frame with END_STREAM: a trailers-only status). */
  answered(): number;
  /** RST_STREAM frames by error code (7 = REFUSED_STREAM). */
  readonly resets: Map<number, number>;
  /** GOAWAY frames received. */
  goaways(): number;
  /** The server closed the connection. */
  closed(): boolean;
  /** Wait until the connection is closed or `deadlineMs` passed. */
  settled(deadlineMs: number): Promise<boolean>;
  destroy(): void;
}

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

function h2Frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

/** HPACK "literal header field without indexing, new name", no Huffman (RFC 7541 6.2.2); short strings only. */
function hpack(headers: readonly (readonly [string, string])[]): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of headers) {
    parts.push(
      Buffer.from([0x00, name.length]),
      Buffer.from(name, 'latin1'),
      Buffer.from([value.length]),
      Buffer.from(value, 'latin1'),
    );
  }
  return Buffer.concat(parts);
}

/**
 * A hostile HTTP/2 peer written frame by frame, so nothing client-side honours the server's
 * SETTINGS: one connection, `count` Check streams opened at once, each with 3 bytes of a 5-byte
 * gRPC prefix and never END_STREAM.
 */
export function rawHalfSentStreams(target: FloodTarget, count: number): Promise<RawFloodReport> {
  return new Promise((resolve) => {
    const socket: net.Socket =
      target.tls === undefined
        ? net.connect(target.port, '127.0.0.1')
        : tls.connect({
            port: target.port,
            host: '127.0.0.1',
            ALPNProtocols: ['h2'],
            ...target.tls,
          });
    socket.on('error', () => undefined);
    let answered = 0;
    let goaways = 0;
    let closed = false;
    const resets = new Map<number, number>();
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 9) {
        const length = pending.readUIntBE(0, 3);
        if (pending.length < 9 + length) break;
        const type = pending[3]!;
        const flags = pending[4]!;
        const payload = pending.subarray(9, 9 + length);
        if (type === 0x1 && (flags & 0x1) !== 0) answered++;
        else if (type === 0x3)
          resets.set(payload.readUInt32BE(0), (resets.get(payload.readUInt32BE(0)) ?? 0) + 1);
        else if (type === 0x7) goaways++;
        else if (type === 0x4 && (flags & 0x1) === 0 && !socket.destroyed)
          socket.write(h2Frame(0x4, 0x1, 0, Buffer.alloc(0)));
        pending = pending.subarray(9 + length);
      }
    });
    socket.once('close', () => (closed = true));
    const start = (): void => {
      const block = hpack([
        [':method', 'POST'],
        [':scheme', 'http'],
        [':path', '/envoy.service.auth.v3.Authorization/Check'],
        [':authority', 'gatehouse'],
        ['content-type', 'application/grpc'],
        ['te', 'trailers'],
      ]);
      const frames: Buffer[] = [PREFACE, h2Frame(0x4, 0, 0, Buffer.alloc(0))];
      for (let i = 0; i < count; i++) {
        const id = 2 * i + 1;
        frames.push(h2Frame(0x1, 0x4, id, block), h2Frame(0x0, 0, id, Buffer.from([0, 0, 0])));
      }
      socket.write(Buffer.concat(frames));
      resolve({
        answered: () => answered,
        resets,
        goaways: () => goaways,
        closed: () => closed,
        async settled(deadlineMs) {
          const deadline = Date.now() + deadlineMs;
          while (!closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
          return closed;
        },
        destroy: () => socket.destroy(),
      });
    };
    socket.once(target.tls === undefined ? 'connect' : 'secureConnect', start);
  });
}

/** What became of the half-sent streams of {@link halfSentStreams}. */
export interface HalfSentReport {
  readonly session: http2.ClientHttp2Session;
  /** grpc-status values the server answered with, by value. */
  readonly statuses: Map<string, number>;
  /** Streams closed one way or another. */
  closed(): number;
  /** Wait until every stream is closed, or `deadlineMs` passed. */
  settled(deadlineMs: number): Promise<number>;
}

/** One HTTP/2 connection (Node's client) with `count` Check streams that send 3 bytes and stop. */
export function halfSentStreams(target: FloodTarget, count: number): HalfSentReport {
  const session = connectSession(target);
  const statuses = new Map<string, number>();
  let closed = 0;
  for (let i = 0; i < count; i++) {
    const stream = session.request(
      {
        ':method': 'POST',
        ':path': '/envoy.service.auth.v3.Authorization/Check',
        'content-type': 'application/grpc',
        te: 'trailers',
      },
      { endStream: false },
    );
    stream.on('error', () => undefined);
    const status = (headers: http2.IncomingHttpHeaders): void => {
      const code = headers['grpc-status'];
      if (typeof code === 'string') statuses.set(code, (statuses.get(code) ?? 0) + 1);
    };
    stream.on('response', status);
    stream.on('trailers', status);
    stream.on('data', () => undefined);
    stream.once('close', () => closed++);
    stream.write(Buffer.from([0, 0, 0]));
  }
  return {
    session,
    statuses,
    closed: () => closed,
    async settled(deadlineMs) {
      const deadline = Date.now() + deadlineMs;
      while (closed < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      return closed;
    },
  };
}

function connectSession(target: FloodTarget): http2.ClientHttp2Session {
  const session =
    target.tls === undefined
      ? http2.connect(`http://127.0.0.1:${target.port}`)
      : http2.connect(`https://127.0.0.1:${target.port}`, { ...target.tls, ALPNProtocols: ['h2'] });
  session.on('error', () => undefined);
  return session;
}
