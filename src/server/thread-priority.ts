/**
 * The event loop first: every other thread of this process (V8's GC and compiler helpers,
 * libuv's thread pool) runs at the lowest scheduling priority (nice 19).
 *
 * Gatehouse serves Checks on one thread per process and is usually given one core or a CPU
 * quota. Linux schedules each thread on its own, so there the helpers' concurrent marking,
 * sweeping and compilation take turns with the event loop as equals, and the Checks queued
 * behind it wait: measured on one core at 500 Checks/s with 10,000 distinct tokens, the event
 * loop stalled for 100–260 ms every few seconds (p99 190–275 ms, while the Check handler itself
 * took at most 30 ms). At nice 19 they run whenever the event loop waits and yield to it when it
 * has work: the same run measured p99 11–15 ms (docs/operations.md, "Threads"). Nothing is lost:
 * the helpers' work is the same and a thread waited on (a crypto job in the pool) still runs as
 * soon as the event loop is idle.
 *
 * Linux only (elsewhere, and without /proc, nothing is changed). Threads are started lazily (the
 * pool on first use), so the caller repeats this now and then; only raising a thread's nice value
 * is ever asked, which needs no privilege.
 */
import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';

/** The nice value given to every thread but the event loop's. */
export const BACKGROUND_NICE = 19;

/**
 * Lower every thread of this process but the main one to {@link BACKGROUND_NICE}; the count of
 * threads changed (0 where there is no /proc/self/task).
 *
 * @example lowerBackgroundThreads(); setInterval(lowerBackgroundThreads, 5000).unref();
 */
export function lowerBackgroundThreads(): number {
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return 0; // not Linux, or no /proc: nothing to do
  }
  let changed = 0;
  for (const entry of tids) {
    const tid = Number(entry);
    // On Linux the main thread's id is the process id; `setPriority(tid)` sets one thread only.
    if (!Number.isInteger(tid) || tid === process.pid) continue;
    try {
      setPriority(tid, BACKGROUND_NICE);
      changed++;
    } catch {
      // A thread that ended meanwhile: nothing to lower.
    }
  }
  return changed;
}

/**
 * {@link lowerBackgroundThreads} now and every `intervalMs` (threads start lazily); the timer
 * never keeps the process alive. Returns a function that stops it.
 */
export function keepBackgroundThreadsLow(intervalMs = 5000): () => void {
  lowerBackgroundThreads();
  const timer = setInterval(lowerBackgroundThreads, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
