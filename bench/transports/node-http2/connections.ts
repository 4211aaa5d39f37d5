import * as http2 from 'node:http2';
import type { Server, Socket } from 'node:net';
import type { ConnectionEvent } from '../../../src/wire/types.js';

/** Bounds on the connections one gRPC listener keeps open. */
export interface ConnectionLimits {
  /** Open connections at most; at the limit a new one evicts the longest-idle session, or is refused. */
  readonly maxConnections: number;
  /** A session with no open stream for this long is closed (GOAWAY); 0 disables. */
  readonly idleTimeoutMs: number;
}

/** How long an idle session closed with GOAWAY has to go before it is destroyed. */
const CLOSE_GRACE_MS = 1000;

/** Per-session bookkeeping: open streams and the idle timer. */
interface Tracked {
  active: number;
  /** Streams ever opened: a session that never opened one is evicted first. */
  streams: number;
  idleSince: number;
  timer: NodeJS.Timeout | undefined;
  /** The connection under the session (the TLS socket with TLS). */
  socket: Socket | undefined;
}

/** The running guard: live sessions, and a hook to count streams. */
export interface ConnectionGuard {
  /** Every live session (for shutdown). */
  sessions(): Iterable<http2.ServerHttp2Session>;
  /** Call for every new stream: the session is not idle while it is open. */
  streamOpened(stream: http2.ServerHttp2Stream): void;
  /** Stop every idle timer (shutdown). */
  stop(): void;
  /** Destroy every session and every socket under it (the end of a shutdown's grace). */
  destroyAll(): void;
}

/**
 * Keep a listener's connections bounded, so hostile or broken clients cannot starve Envoy:
 *
 * - **Idle sessions close.** A session (a connection, once HTTP/2 starts on it) with no open
 *   stream for `idleTimeoutMs` gets GOAWAY and closes. Idle means no *stream*, not no *bytes*:
 *   PINGs or SETTINGS frames do not keep it open. Envoy reconnects on its next Check; a Check
 *   racing the GOAWAY is refused (REFUSED_STREAM), which Envoy's retry policy sends again.
 * - **Connections are capped, and the cap evicts before it refuses.** At `maxConnections`, a
 *   new connection first closes an idle session — one that never opened a stream if there is
 *   one, else the one idle longest; only when every session has a stream open is the newcomer
 *   refused. A flood of idle connections therefore cannot keep
 *   a well-behaved client out, and a flood of half-sent streams is ended by the per-message read
 *   deadline (see readUnary), after which those sessions are idle too.
 *
 * Sockets still in a TLS handshake count against the cap but are not evicted; the TLS
 * handshake timeout bounds them.
 */
export function guardConnections(
  server: Server,
  limits: ConnectionLimits,
  onEvent: (event: ConnectionEvent) => void = () => undefined,
  admit: (socket: Socket) => boolean = () => true,
): ConnectionGuard {
  const sockets = new Set<Socket>();
  const tracked = new Map<http2.ServerHttp2Session, Tracked>();

  // A session's own socket, for cutting off a peer that does not read: HTTP/2's session.destroy()
  // only half-closes the socket and waits for the peer's FIN, and session.socket refuses destroy().
  // The HTTP/2 server creates a session synchronously in its 'connection' (cleartext) or
  // 'secureConnection' (TLS) listener; ours, prepended, see the socket just before.
  let arriving: Socket | undefined;
  const noteSocket = (socket: Socket): void => {
    arriving = socket;
  };
  server.prependListener('secureConnection', noteSocket);
  // Takes the entry itself: the session may already have left `tracked` (its 'close' can come
  // before a peer that does not read has let go of the socket).
  const cutOff = (session: http2.ServerHttp2Session, entry: Tracked | undefined): void => {
    session.destroy(undefined, http2.constants.NGHTTP2_NO_ERROR);
    entry?.socket?.destroy();
  };
  const close = (session: http2.ServerHttp2Session): void => {
    // GOAWAY, then the socket closes once no stream is left (there is none: it is idle). A peer
    // that does not read (so the close never completes) is cut off a moment later.
    session.close();
    const entry = tracked.get(session);
    const finish = (): void => {
      // A Check that raced the GOAWAY is let finish (the read deadline bounds a stalled one).
      if (entry !== undefined && entry.active > 0 && !session.destroyed)
        setTimeout(finish, CLOSE_GRACE_MS).unref();
      else cutOff(session, entry);
    };
    setTimeout(finish, CLOSE_GRACE_MS).unref();
  };
  const arm = (session: http2.ServerHttp2Session, entry: Tracked): void => {
    entry.idleSince = performance.now();
    if (limits.idleTimeoutMs <= 0) return;
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      if (entry.active === 0 && !session.closed && !session.destroyed) {
        onEvent({ type: 'idle-closed' });
        close(session);
      }
    }, limits.idleTimeoutMs);
    entry.timer.unref();
  };

  server.on('session', (session: http2.ServerHttp2Session) => {
    const entry: Tracked = {
      active: 0,
      streams: 0,
      idleSince: 0,
      timer: undefined,
      socket: arriving,
    };
    arriving = undefined;
    tracked.set(session, entry);
    session.once('close', () => {
      if (entry.timer !== undefined) clearTimeout(entry.timer);
      tracked.delete(session);
    });
    if (entry.socket !== undefined && !admit(entry.socket)) {
      onEvent({ type: 'unauthorized-client' });
      cutOff(session, entry);
      return;
    }
    arm(session, entry);
  });

  // Runs before the HTTP/2 server's own connection listener, so the newcomer has no session yet
  // and cannot be picked for eviction itself.
  server.prependListener('connection', (socket: Socket) => {
    noteSocket(socket);
    if (sockets.size >= limits.maxConnections) {
      const idle = longestIdle(tracked);
      if (idle === undefined) {
        onEvent({ type: 'refused' });
        socket.destroy();
        return;
      }
      onEvent({ type: 'evicted' });
      // GOAWAY (no error) as it goes, so a client like Envoy reads it as a drain, not a failure.
      cutOff(idle, tracked.get(idle));
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  return {
    sessions: () => tracked.keys(),
    streamOpened(stream) {
      const entry = tracked.get(stream.session as http2.ServerHttp2Session);
      if (entry === undefined) return;
      entry.active++;
      entry.streams++;
      if (entry.timer !== undefined) clearTimeout(entry.timer);
      entry.timer = undefined;
      stream.once('close', () => {
        entry.active--;
        const session = stream.session;
        if (entry.active === 0 && session !== undefined && !session.closed && !session.destroyed)
          arm(session as http2.ServerHttp2Session, entry);
      });
    },
    stop() {
      for (const entry of tracked.values())
        if (entry.timer !== undefined) clearTimeout(entry.timer);
    },
    destroyAll() {
      for (const [session, entry] of tracked) cutOff(session, entry);
      // Sockets that never became a session (a TLS handshake in progress), or whose session
      // closed while the peer still holds the socket: server.close() waits for them too.
      for (const socket of sockets) socket.destroy();
    },
  };
}

/**
 * The session to evict: one with no open stream, preferring one that never opened a stream (a
 * connection that did nothing useful), then the one idle longest.
 */
function longestIdle(
  tracked: ReadonlyMap<http2.ServerHttp2Session, Tracked>,
): http2.ServerHttp2Session | undefined {
  let best: http2.ServerHttp2Session | undefined;
  let bestEntry: Tracked | undefined;
  for (const [session, entry] of tracked) {
    if (entry.active !== 0 || session.destroyed) continue;
    const better =
      bestEntry === undefined ||
      (entry.streams === 0 && bestEntry.streams > 0) ||
      ((entry.streams === 0) === (bestEntry.streams === 0) &&
        entry.idleSince < bestEntry.idleSince);
    if (better) {
      best = session;
      bestEntry = entry;
    }
  }
  return best;
}
