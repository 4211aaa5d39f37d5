/**
 * The messages a cluster primary (src/workers/primary.ts) and its workers
 * (src/workers/worker.ts) exchange over the node:cluster IPC channel. Every type starts
 * with `gatehouse:` so they never collide with other users of the channel (prom-client's own
 * cluster messages, node:cluster's internal ones).
 */
import os from 'node:os';
import type { Registry } from 'prom-client';
import type { ReadinessReport } from '../health/readiness.js';

/** A registry's `getMetricsAsJSON()`, as it crosses the IPC channel. */
export type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/** Primary → worker. */
export type PrimaryMessage =
  | { readonly type: 'gatehouse:metrics'; readonly id: number }
  | { readonly type: 'gatehouse:reload' }
  | { readonly type: 'gatehouse:stop' };

/** Worker → primary. */
export type WorkerMessage =
  /** Start finished: the gRPC port is bound (shared) and a policy is loaded. */
  | {
      readonly type: 'gatehouse:started';
      readonly grpcPort: number;
      readonly readiness: ReadinessReport;
    }
  /** Readiness changed (identity provider discovered, draining, …). */
  | { readonly type: 'gatehouse:readiness'; readonly readiness: ReadinessReport }
  /** The answer to a `gatehouse:metrics` request: the worker registry's `getMetricsAsJSON()`. */
  | { readonly type: 'gatehouse:metrics'; readonly id: number; readonly metrics: MetricsJson };

/** Is `value` one of our messages (and not node:cluster's or prom-client's)? */
export function isGatehouseMessage<T extends { type: string }>(value: unknown): value is T {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { type?: unknown }).type === 'string' &&
    (value as { type: string }).type.startsWith('gatehouse:')
  );
}

/**
 * How many Check server processes `workers` means: 0 is one per available CPU
 * (`os.availableParallelism()`, which honours the CPU affinity mask, e.g. `taskset`).
 */
export function resolveWorkers(workers: number): number {
  return workers === 0 ? Math.max(1, os.availableParallelism()) : workers;
}
