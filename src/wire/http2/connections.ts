import type { Socket } from 'node:net';
import type { H2Connection } from '../h2/connection.js';
import type { ConnectionEvent } from '../types.js';

/** Bounds on the connections one gRPC listener keeps open. */
export interface ConnectionLimits {
  /** Open connections at most; at the limit a new one evicts the longest-idle connection, or is refused. */
  readonly maxConnections: number;
  /** A connection with no open stream for this long is closed (GOAWAY); 0 disables. */
  readonly idleTimeoutMs: number;
}

/** Per-connection bookkeeping: whether a stream is open, and the idle timer. */
interface Tracked {
  busy: boolean;
  /** Streams ever opened: a connection that never opened one is evicted first. */
  streams: number;
  idleSince: number;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Keep a listener's connections bounded, so hostile or broken clients cannot starve Envoy:
 *
 * - **Idle connections close.** A connection with no open stream for `idleTimeoutMs` gets
 *   GOAWAY and closes. Idle means no *stream*, not no *bytes*: PINGs or SETTINGS frames do not
 *   keep it open. Envoy reconnects on its next Check.
 * - **Connections are capped, and the cap evicts before it refuses.** At `maxConnections`, a
 *   new connection first closes an idle one — one that never opened a stream if there is one,
 *   else the one idle longest; only when every connection has a stream open is the newcomer
 *   refused. A flood of idle connections therefore cannot keep a well-behaved client out, and a
 *   flood of half-sent streams is ended by the per-message read deadline, after which those
 *   connections are idle too.
 *
 * Sockets count from their TCP accept; those still in a TLS handshake count against the cap but
 * are not evicted (the TLS handshake timeout bounds them).
 */
export class ConnectionGuard {
  private readonly limits: ConnectionLimits;
  private readonly onEvent: (event: ConnectionEvent) => void;
  private readonly sockets = new Set<Socket>();
  private readonly tracked = new Map<H2Connection, Tracked>();

  constructor(limits: ConnectionLimits, onEvent: (event: ConnectionEvent) => void) {
    this.limits = limits;
    this.onEvent = onEvent;
  }

  /** A TCP connection arrived: admitted (true), or refused and destroyed at the cap. */
  accept(socket: Socket): boolean {
    if (this.sockets.size >= this.limits.maxConnections) {
      const idle = this.longestIdle();
      if (idle === undefined) {
        this.onEvent({ type: 'refused' });
        socket.destroy();
        return false;
      }
      this.onEvent({ type: 'evicted' });
      // GOAWAY (no error) as it goes, so a client like Envoy reads it as a drain, not a failure.
      idle.close();
      idle.destroy();
    }
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    return true;
  }

  /** HTTP/2 started on an admitted socket. */
  add(connection: H2Connection): void {
    const entry: Tracked = { busy: false, streams: 0, idleSince: 0, timer: undefined };
    this.tracked.set(connection, entry);
    this.arm(connection, entry);
  }

  /** A stream opened on `connection` (counted for eviction's preference). */
  streamOpened(connection: H2Connection): void {
    const entry = this.tracked.get(connection);
    if (entry !== undefined) entry.streams++;
  }

  /** `connection` went from no stream to some (`true`) or back (`false`). */
  busy(connection: H2Connection, busy: boolean): void {
    const entry = this.tracked.get(connection);
    if (entry === undefined) return;
    entry.busy = busy;
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    entry.timer = undefined;
    if (!busy) this.arm(connection, entry);
  }

  /** `connection`'s socket closed. */
  closed(connection: H2Connection): void {
    const entry = this.tracked.get(connection);
    if (entry?.timer !== undefined) clearTimeout(entry.timer);
    this.tracked.delete(connection);
  }

  /** Every live connection (for shutdown). */
  connections(): Iterable<H2Connection> {
    return this.tracked.keys();
  }

  /** Stop every idle timer (shutdown). */
  stop(): void {
    for (const entry of this.tracked.values())
      if (entry.timer !== undefined) clearTimeout(entry.timer);
  }

  /** Destroy every connection and every socket (the end of a shutdown's grace). */
  destroyAll(): void {
    for (const connection of this.tracked.keys()) connection.destroy();
    // Sockets that never became a connection (a TLS handshake in progress) too.
    for (const socket of this.sockets) socket.destroy();
  }

  private arm(connection: H2Connection, entry: Tracked): void {
    entry.idleSince = performance.now();
    if (this.limits.idleTimeoutMs <= 0) return;
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      if (!entry.busy && !connection.closing) {
        this.onEvent({ type: 'idle-closed' });
        connection.close();
      }
    }, this.limits.idleTimeoutMs);
    entry.timer.unref();
  }

  /**
   * The connection to evict: one with no open stream, preferring one that never opened a stream
   * (a connection that did nothing useful), then the one idle longest.
   */
  private longestIdle(): H2Connection | undefined {
    let best: H2Connection | undefined;
    let bestEntry: Tracked | undefined;
    for (const [connection, entry] of this.tracked) {
      // One already closing is on its way out: evicting it again would admit two for one.
      if (entry.busy || connection.closing) continue;
      const better =
        bestEntry === undefined ||
        (entry.streams === 0 && bestEntry.streams > 0) ||
        ((entry.streams === 0) === (bestEntry.streams === 0) &&
          entry.idleSince < bestEntry.idleSince);
      if (better) {
        best = connection;
        bestEntry = entry;
      }
    }
    return best;
  }
}
