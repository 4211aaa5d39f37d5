/**
 * Whole log lines handed to the stdout stream (pino's SonicBoom) in batches, once per turn of
 * the event loop, instead of one `write` per line.
 *
 * Why: SonicBoom appends each line to its last pending chunk (`chunk += line`) and measures that
 * chunk's UTF-8 length first, which flattens the growing string: every line copies and scans
 * everything buffered before it, up to the 16 KiB chunk. With a decision line per Check that was
 * ~8 µs of CPU and ~10 KB of garbage per Check (docs/performance.md, eleventh round). Joined here
 * first, each chunk is built once.
 *
 * Every line still goes through this one object, so lines keep their order, and each string
 * handed over is whole lines of at most `maxBytes` (a line longer than that alone): with
 * SonicBoom's `maxWrite` equal to it, a write never splits a line, and in a cluster never exceeds
 * PIPE_BUF. Lines wait at most until the end of the current turn of the event loop; `flush` and
 * `flushSync` (pino's `logger.flush()`, the exit handler) hand them over at once.
 */
import type { DestinationStream } from 'pino';

/** What a batcher writes to: pino's SonicBoom, as `pino.destination` returns it. */
export interface LineTarget {
  write(chunk: string): unknown;
  flush?(cb?: (err?: Error) => void): void;
  flushSync?(): void;
  readonly destroyed?: boolean;
  /** SonicBoom's mode: true writes each chunk at once, false starts it on the thread pool. */
  sync?: boolean;
}

/** Every batcher, flushed synchronously on exit (one listener for all of them). */
const live = new Set<LineBatcher>();
let exitHook = false;

export class LineBatcher implements DestinationStream {
  readonly #target: LineTarget;
  readonly #maxBytes: number;
  #pending: string[] = [];
  #scheduled = false;

  /**
   * @param target the stream lines end up in.
   * @param maxBytes the largest string handed over (the target's `maxWrite`).
   */
  constructor(target: LineTarget, maxBytes: number) {
    this.#target = target;
    this.#maxBytes = maxBytes;
    // pino flushes its SonicBoom synchronously on exit; lines still here must reach it too.
    live.add(this);
    if (!exitHook) {
      exitHook = true;
      process.once('exit', () => {
        for (const batcher of live) batcher.flushSync();
      });
    }
  }

  write(line: string): void {
    this.#pending.push(line);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#handOver);
    }
  }

  /** Hand every pending line over, then flush the target (`cb` when it has written them). */
  flush(cb?: (err?: Error) => void): void {
    this.#handOver();
    if (this.#target.flush !== undefined) this.#target.flush(cb);
    else cb?.();
  }

  /**
   * Hand every pending line over and write them synchronously (on exit, after a fatal error).
   * The target is in its synchronous mode meanwhile: a chunk it would otherwise start on the
   * thread pool as it is handed over would race the synchronous writes of the chunks after it
   * (SonicBoom's `flushSync` does not wait for a write in flight), and lines would land out of
   * order. A write started in an earlier turn and still in flight can race the same way; that is
   * SonicBoom's to solve (it cannot be waited for while the process exits).
   */
  flushSync(): void {
    const target = this.#target;
    if (target.destroyed === true) {
      this.#pending = [];
      return;
    }
    const mode = target.sync;
    if (mode !== undefined) target.sync = true;
    try {
      this.#handOver();
      target.flushSync?.();
    } finally {
      if (mode !== undefined) target.sync = mode;
    }
  }

  readonly #handOver = (): void => {
    this.#scheduled = false;
    const lines = this.#pending;
    if (lines.length === 0) return;
    this.#pending = [];
    // A destroyed SonicBoom throws on write; pino drops lines after its stream ended, so do we.
    if (this.#target.destroyed === true) return;
    let batch = '';
    let bytes = 0;
    for (const line of lines) {
      const size = Buffer.byteLength(line);
      if (bytes > 0 && bytes + size > this.#maxBytes) {
        this.#target.write(batch);
        batch = '';
        bytes = 0;
      }
      batch += line;
      bytes += size;
    }
    this.#target.write(batch);
  };
}
