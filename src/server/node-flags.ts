/**
 * The V8 flags Gatehouse is launched with: the Dockerfile's ENTRYPOINT, the `gatehouse` bin's
 * shebang, `npm start`, the demo and the benchmark all pass exactly these (a drift test holds
 * them together). They are launch flags: V8 sizes its heap when the process starts, and
 * `--heap-growing-percent` is not accepted in NODE_OPTIONS.
 *
 * Under sustained load V8 sizes its heap for the allocation rate, not for what is live: left to
 * itself it grows the young generation to 64 MiB and lets old space fill with promoted garbage
 * to several times the live heap before a full GC, and resident memory reaches ~290 MB at ~9,500
 * Checks/s while ~25 MB is live. Capping each semi-space at 8 MiB keeps the young generation
 * small; starting a full GC once old space has grown 100% over what the last one kept (V8's
 * growing factor, which left alone reaches 4×) bounds old space at twice the live heap. 100
 * rather than 50: each full GC's concurrent marking competes with the event loop for its core
 * and shows as a 100 ms stall at the tail; with full caches (~57 MB live) 50% ran one every ~3 s
 * of closed-loop traffic, 100% half as many, for ~25 MB more resident memory (206 → 231 MB at
 * most, 20,000 distinct tokens; docs/performance.md, tenth round; docs/operations.md, "Memory
 * and the V8 flags"). Neither is a hard limit: a larger live heap (big policy data, full caches)
 * still grows, it never fails an allocation.
 *
 * `--no-allocation-site-pretenuring`: V8 watches which object and array literals survive
 * scavenges and, once 85% of a site's objects do, allocates that site's objects straight in old
 * space. Under a burst (many Checks in flight, each living across scavenges) the Check path's own
 * short-lived literals qualify, and stay pretenured once traffic calms: they then die in old
 * space, keep the young objects they point to alive through the next scavenges (promoted too),
 * and bring the next full GC closer, whose marking is the tail-latency stall above. Without it a
 * Check's garbage dies young: ~2.8× fewer bytes promoted at 500 Checks/s, p99 at 1,000 Checks/s
 * ~1.4 ms against ~24 ms, throughput unchanged within the noise, peak memory the same with 10,000
 * distinct tokens and ~10 MB higher with every Check a cache miss (the cache entries now pass
 * through the young generation; docs/performance.md, fourteenth round).
 */
export const NODE_FLAGS: readonly string[] = Object.freeze([
  '--max-semi-space-size=8',
  '--heap-growing-percent=100',
  '--no-allocation-site-pretenuring',
]);

/** The flags of {@link NODE_FLAGS} this process was not started with (for the startup log). */
export function missingNodeFlags(execArgv: readonly string[] = process.execArgv): string[] {
  return NODE_FLAGS.filter((flag) => !execArgv.includes(flag));
}
