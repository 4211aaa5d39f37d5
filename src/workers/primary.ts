/**
 * The primary of a Gatehouse cluster (`workers` > 1, or 0 = one per CPU).
 *
 * - **Workers.** `node:cluster` forks N copies of `gatehouse serve`; each runs the full Check
 *   server (src/workers/worker.ts) and listens on the same gRPC address. In a cluster
 *   worker `net.Server#listen` (which the gRPC server's `http2.createServer().listen()` is; it
 *   asks for neither `exclusive` nor `reusePort`) does not bind: the primary holds the one
 *   listening socket and hands accepted connections out, so there is no SO_REUSEPORT and no
 *   EADDRINUSE between workers, and `grpc.port: 0` gives every worker the same port.
 * - **Scheduling: round-robin, set explicitly** (`cluster.SCHED_RR`, the Linux default but not
 *   Windows', and `NODE_CLUSTER_SCHED_POLICY` could change it). With `SCHED_NONE` the kernel
 *   wakes whichever worker is waiting in accept(), which in practice piles most connections on
 *   one process; Envoy keeps a handful of long-lived HTTP/2 connections, each carrying many
 *   Checks, so an uneven split of *connections* leaves cores idle. Round-robin deals them out
 *   evenly. Only the accept goes through the primary; the streams on a connection then flow
 *   directly between Envoy and the worker that owns it.
 * - **HTTP listener in the primary only**: `/healthz`; `/readyz` is ready when every worker has
 *   reported ready (over IPC) and nothing is draining; `/metrics` asks each worker for its
 *   registry's JSON (IPC) and sums them with prom-client's `AggregatorRegistry.aggregate`,
 *   plus the primary's own process metrics and the cluster gauges; the JWKS is loaded from
 *   `keys.signing` here as the workers load it.
 * - **Signals**: SIGTERM/SIGINT drain every worker (each reports NOT_SERVING, finishes its
 *   in-flight Checks, exits), then the primary exits 0. SIGHUP is forwarded to every worker
 *   (each re-reads the config file and reloads its policy). A worker that dies is logged and
 *   restarted with exponential backoff; the others keep serving meanwhile.
 */
import cluster, { type Worker } from 'node:cluster';
import { MemoryStore } from '../store/memory.js';
import { serveStoreOverIpc } from '../store/ipc.js';
import { AggregatorRegistry, Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { startHttpListener, type HttpListener, type HttpReadiness } from '../http/server.js';
import { configuredIdentity, loadConfiguredSigningKeys } from '../identity/configured.js';
import type { Logger } from '../log/logger.js';
import {
  isGatehouseMessage,
  type MetricsJson,
  type PrimaryMessage,
  type WorkerMessage,
} from './ipc.js';
import { listenerTls } from '../server/listener-tls.js';
import type { ReadinessReport } from '../health/readiness.js';

/** Options for {@link runPrimary}. */
export interface PrimaryOptions {
  readonly config: Config;
  readonly log: Logger;
  /** How many workers (already resolved: ≥ 2). */
  readonly workers: number;
  readonly configFile?: string | undefined;
}

/** How long the primary waits for a worker's metrics before leaving it out of one scrape. */
const METRICS_TIMEOUT_MS = 2_000;
/** First restart delay; doubles per consecutive early death, up to {@link RESTART_MAX_MS}. */
const RESTART_BASE_MS = 250;
const RESTART_MAX_MS = 30_000;
/** A worker that lived this long counts as healthy: its next death restarts at the base delay. */
const RESTART_RESET_AFTER_MS = 30_000;

interface Slot {
  readonly index: number;
  worker: Worker | undefined;
  /** The worker's last readiness report; undefined until it started, and while it is down. */
  readiness: ReadinessReport | undefined;
  startedAt: number;
  /** Consecutive early deaths (the backoff exponent). */
  failures: number;
  restartTimer: NodeJS.Timeout | undefined;
}

/**
 * Run the cluster primary until SIGTERM/SIGINT; resolves with the exit status (0 after a
 * drain). Rejects, with the failing worker's exit status in `exitCode`, when a worker dies
 * before the cluster has started (a policy that does not compile, a port in use): like a
 * single process, `gatehouse serve` then exits non-zero instead of restarting forever.
 */
export async function runPrimary(options: PrimaryOptions): Promise<number> {
  const { config, log, workers } = options;
  // Must be set before the first fork; see the module comment for why round-robin.
  cluster.schedulingPolicy = cluster.SCHED_RR;

  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // A `memory` session store lives here, shared by every worker over IPC (each worker keeps its
  // own cache, fed by this store's change feed); a `redis` store is opened by each worker.
  const sessionStore =
    config.identity !== undefined && config.session.store.kind === 'memory'
      ? new MemoryStore()
      : undefined;
  const workerGauge = new Gauge({
    name: 'gatehouse_cluster_workers',
    help: 'Cluster workers by state (ready, not_ready: starting, restarting or draining).',
    labelNames: ['state'] as const,
    registers: [registry],
  });
  const restarts = new Counter({
    name: 'gatehouse_cluster_worker_restarts_total',
    help: 'Cluster workers that died unexpectedly and were restarted.',
    registers: [registry],
  });

  const jwks = await primaryJwks(config, log);
  const slots: Slot[] = Array.from({ length: workers }, (_, index) => ({
    index,
    worker: undefined,
    readiness: undefined,
    startedAt: 0,
    failures: 0,
    restartTimer: undefined,
  }));
  let draining = false;
  let grpcPort: number | undefined;

  const readiness = (): HttpReadiness => {
    const reports = slots.map((s) => s.readiness);
    const ready = reports.filter((r) => r?.ready === true).length;
    const idps = reports.map((r) => r?.identity_provider);
    workerGauge.set({ state: 'ready' }, ready);
    workerGauge.set({ state: 'not_ready' }, workers - ready);
    return {
      ready: !draining && ready === workers,
      policy: reports.every((r) => r?.policy === 'loaded') ? 'loaded' : 'loading',
      identity_provider:
        config.identity === undefined
          ? 'not configured'
          : idps.every((i) => i === 'ready')
            ? 'ready'
            : idps.every((i) => i === 'ready' || i === 'cached')
              ? 'cached'
              : 'pending',
      ...firstError(reports),
      draining,
      workers: { total: workers, ready },
    };
  };

  // Metrics: ask every live worker, sum with prom-client's aggregator.
  let nextMetricsId = 0;
  const pendingMetrics = new Map<number, (metrics: MetricsJson) => void>();
  const workerMetrics = (worker: Worker): Promise<MetricsJson | undefined> =>
    new Promise((resolve) => {
      const id = nextMetricsId++;
      const timer = setTimeout(() => {
        pendingMetrics.delete(id);
        resolve(undefined);
      }, METRICS_TIMEOUT_MS);
      pendingMetrics.set(id, (metrics) => {
        clearTimeout(timer);
        pendingMetrics.delete(id);
        resolve(metrics);
      });
      if (!sendTo(worker, { type: 'gatehouse:metrics', id })) {
        clearTimeout(timer);
        pendingMetrics.delete(id);
        resolve(undefined);
      }
    });
  const metrics = {
    contentType: registry.contentType,
    async metrics(): Promise<string> {
      readiness(); // refresh the worker gauge
      const live = slots.flatMap((s) => (s.worker === undefined ? [] : [s.worker]));
      const fromWorkers = await Promise.all(live.map(workerMetrics));
      const all = [
        ...fromWorkers.filter((m): m is MetricsJson => m !== undefined),
        await registry.getMetricsAsJSON(),
      ];
      return AggregatorRegistry.aggregate(all).metrics();
    },
  };

  const http: HttpListener = await startHttpListener({
    address: config.http.address,
    port: config.http.port,
    readiness,
    metrics,
    jwks,
    tls: listenerTls(config.http.tls, 'http.tls', log),
  });

  // Start: fork every worker; the cluster has started when each has reported `started` once.
  let startedOnce = 0;
  let onStarted: (() => void) | undefined;
  let onStartFailure: ((err: Error) => void) | undefined;
  const everStarted = new Set<number>();

  const fork = (slot: Slot): void => {
    slot.restartTimer = undefined;
    slot.readiness = undefined;
    slot.startedAt = Date.now();
    const worker = cluster.fork({ GATEHOUSE_WORKER_INDEX: String(slot.index) });
    slot.worker = worker;
    // A message to a worker that is exiting can fail after `send` returned (a closed channel,
    // EPIPE): its child process then emits 'error', which unheard would end the primary (exit 70)
    // and every worker with it. The worker's exit is handled below; the error is only logged.
    worker.on('error', (err: unknown) => {
      log.warn(
        { worker: worker.id, worker_pid: worker.process.pid, slot: slot.index, err },
        'worker IPC error',
      );
    });
    const stopServingStore =
      sessionStore === undefined ? undefined : serveStoreOverIpc(sessionStore, worker);
    worker.on('message', (message: unknown) => {
      if (!isGatehouseMessage<WorkerMessage>(message)) return;
      switch (message.type) {
        case 'gatehouse:started':
          slot.readiness = message.readiness;
          grpcPort ??= message.grpcPort;
          log.info(
            {
              worker: worker.id,
              worker_pid: worker.process.pid,
              slot: slot.index,
              ready: message.readiness.ready,
            },
            'worker started',
          );
          if (!everStarted.has(slot.index)) {
            everStarted.add(slot.index);
            startedOnce++;
            if (startedOnce === workers) onStarted?.();
          }
          return;
        case 'gatehouse:readiness':
          slot.readiness = message.readiness;
          return;
        case 'gatehouse:metrics':
          pendingMetrics.get(message.id)?.(message.metrics);
      }
    });
    worker.on('exit', (code, signal) => {
      stopServingStore?.();
      if (slot.worker !== worker) return;
      slot.worker = undefined;
      slot.readiness = undefined;
      if (draining) return;
      if (!everStarted.has(slot.index) && startedOnce < workers) {
        const err = Object.assign(
          new GatehouseError('ERR_INTERNAL', {
            message: `worker ${slot.index} exited during start (code ${String(code)}, signal ${String(signal)}); see its error above`,
          }),
          {
            exitCode: typeof code === 'number' && code > 0 ? code : 1,
          },
        );
        onStartFailure?.(err);
        return;
      }
      const lived = Date.now() - slot.startedAt;
      slot.failures = lived >= RESTART_RESET_AFTER_MS ? 1 : slot.failures + 1;
      const delay = Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** (slot.failures - 1));
      restarts.inc();
      log.error(
        {
          worker: worker.id,
          worker_pid: worker.process.pid,
          slot: slot.index,
          exit_code: code,
          signal,
          lived_ms: lived,
          restart_in_ms: delay,
        },
        'worker died unexpectedly; restarting it (the other workers keep serving)',
      );
      slot.restartTimer = setTimeout(() => fork(slot), delay);
    });
  };

  const stopWorkers = async (): Promise<void> => {
    for (const slot of slots) {
      if (slot.restartTimer !== undefined) clearTimeout(slot.restartTimer);
      slot.restartTimer = undefined;
    }
    const live = slots.flatMap((s) => (s.worker === undefined ? [] : [s.worker]));
    const exited = live.map(
      (w) =>
        new Promise<void>((resolve) => (w.isDead() ? resolve() : w.once('exit', () => resolve()))),
    );
    for (const w of live) sendTo(w, { type: 'gatehouse:stop' });
    // Each worker drains for drain_delay_ms, then gives in-flight Checks shutdown_grace_ms.
    const limit = config.grpc.drain_delay_ms + config.grpc.shutdown_grace_ms + 5_000;
    const killer = setTimeout(() => {
      for (const w of live) {
        if (!w.isDead()) {
          log.warn(
            { worker: w.id, worker_pid: w.process.pid },
            'worker did not stop in time; killing it',
          );
          w.process.kill('SIGKILL');
        }
      }
    }, limit);
    await Promise.all(exited);
    clearTimeout(killer);
  };

  try {
    await new Promise<void>((resolve, reject) => {
      onStarted = resolve;
      onStartFailure = reject;
      for (const slot of slots) fork(slot);
    });
  } catch (err) {
    draining = true;
    await stopWorkers();
    await http.close();
    throw err;
  } finally {
    onStarted = undefined;
    onStartFailure = undefined;
  }
  log.info(
    {
      grpc_port: grpcPort,
      http_port: http.port,
      workers,
      scheduling: 'round-robin',
      ready: readiness(),
    },
    'gatehouse cluster serving',
  );

  process.on('SIGHUP', () => {
    log.info(
      { signal: 'SIGHUP', workers: slots.filter((s) => s.worker !== undefined).length },
      'reloading: forwarding to every worker',
    );
    for (const slot of slots)
      if (slot.worker !== undefined) sendTo(slot.worker, { type: 'gatehouse:reload' });
    // The primary's own share of the config: its log level.
    if (options.configFile !== undefined) {
      loadConfig(options.configFile).then(
        (next) => (log.level = next.log.level),
        () => undefined, // each worker logs why the file was refused
      );
    }
  });

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      draining = true;
      log.info(
        { signal, workers: slots.filter((s) => s.worker !== undefined).length },
        'shutting down: draining every worker',
      );
      void stopWorkers()
        .then(() => http.close())
        .then(() => sessionStore?.close())
        .then(() => {
          log.info('stopped');
          resolve(0);
        });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

/** Send a message to a worker if its channel is still open; false when it could not be sent. */
function sendTo(worker: Worker, message: PrimaryMessage): boolean {
  if (worker.isDead() || !worker.isConnected()) return false;
  try {
    worker.send(message);
    return true;
  } catch {
    return false;
  }
}

/** The JWKS the workers publish, loaded the same way from `keys.signing` (undefined without identity). */
async function primaryJwks(
  config: Config,
  log: Logger,
): Promise<{ readonly keys: readonly object[] } | undefined> {
  if (configuredIdentity(config) === undefined) return undefined;
  return (await loadConfiguredSigningKeys(config, log)).jwks;
}

/** The first worker's last identity provider error, for the primary's `/readyz`. */
function firstError(reports: readonly (ReadinessReport | undefined)[]): {
  identity_provider_error?: string;
} {
  const error = reports.find(
    (r) => r?.identity_provider_error !== undefined,
  )?.identity_provider_error;
  return error === undefined ? {} : { identity_provider_error: error };
}
