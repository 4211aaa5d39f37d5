/**
 * One worker of a Gatehouse cluster (`workers` > 1): the full Check server (policy engine,
 * identity runtime, decision log) on the gRPC port it shares with its siblings through the
 * primary (src/workers/primary.ts), without an HTTP listener of its own. It tells the primary
 * when it has started and whenever its readiness changes, answers the primary's metrics
 * requests with its registry's JSON, reloads on the primary's word (SIGHUP there), and drains
 * and exits on `stop`, on SIGTERM/SIGINT sent to it directly, or when the primary goes away.
 */
import cluster from 'node:cluster';
import type { Config } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import { isGatehouseMessage, type PrimaryMessage, type WorkerMessage } from './ipc.js';
import { startGatehouse } from '../server/start.js';
import { IpcStore, type IpcEndpoint } from '../store/ipc.js';

/** Options for {@link runWorker}. */
export interface WorkerOptions {
  readonly config: Config;
  readonly log: Logger;
  readonly configFile?: string | undefined;
}

/**
 * Run this process as a cluster worker until told to stop; resolves with the exit status (0
 * after a drain). Start failures reject, as `gatehouse serve` does in a single process, so the
 * worker exits with the same status (2: configuration, 1: anything else) and the primary sees it.
 */
export async function runWorker(options: WorkerOptions): Promise<number> {
  const { config, log } = options;
  if (!cluster.isWorker || process.send === undefined)
    throw new Error('runWorker: not a cluster worker');
  const send = (message: WorkerMessage): void => {
    // The channel is gone when the primary died; the 'disconnect' handler stops us then.
    if (process.connected) process.send?.(message);
  };
  // A `memory` session store is the primary's, reached over IPC: every worker sees the same
  // sessions and revocations (docs/reference/session-store.md § workers mode).
  const sessionStore =
    config.identity !== undefined && config.session.store.kind === 'memory'
      ? new IpcStore(process as IpcEndpoint)
      : undefined;
  const gatehouse = await startGatehouse(config, log, {
    ...(options.configFile === undefined ? {} : { configFile: options.configFile }),
    httpListener: false,
    grpcAfterPolicy: true,
    ...(sessionStore === undefined ? {} : { sessionStore }),
  });

  let exit!: (code: number) => void;
  const exited = new Promise<number>((resolve) => (exit = resolve));
  let _stopping: Promise<void> | undefined;
  const stop = (why: string): void => {
    _stopping ??= (async () => {
      log.info({ reason: why }, 'worker shutting down');
      clearInterval(readinessTimer);
      await gatehouse.stop();
      exit(0);
    })();
  };
  const reload = () => {
    void gatehouse.reload();
  };

  gatehouse.health.onChange(() =>
    send({ type: 'gatehouse:readiness', readiness: gatehouse.readiness() }),
  );
  // Readiness details that do not flip health (the identity provider's last error, its keys'
  // age) reach the primary's /readyz too: checked every second, sent when they changed.
  let lastReadiness = JSON.stringify(gatehouse.readiness());
  const readinessTimer = setInterval(() => {
    const readiness = gatehouse.readiness();
    const text = JSON.stringify(readiness);
    if (text === lastReadiness) return;
    lastReadiness = text;
    send({ type: 'gatehouse:readiness', readiness });
  }, 1000);
  readinessTimer.unref();
  process.on('message', (message: unknown) => {
    if (!isGatehouseMessage<PrimaryMessage>(message)) return;
    switch (message.type) {
      case 'gatehouse:metrics':
        gatehouse.metrics.registry.getMetricsAsJSON().then(
          (metrics) => send({ type: 'gatehouse:metrics', id: message.id, metrics }),
          (err: unknown) => log.warn({ err }, 'metrics for the primary failed'),
        );
        return;
      case 'gatehouse:reload':
        log.info({ signal: 'SIGHUP' }, 'reloading');
        reload();
        return;
      case 'gatehouse:stop':
        stop('primary');
    }
  });
  process.on('SIGHUP', () => {
    log.info({ signal: 'SIGHUP' }, 'reloading');
    reload();
  });

  // A Ctrl-C reaches the whole process group, the primary included: both ask for the same drain.
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  // The primary is gone (killed, crashed): no one hands us connections or restarts us; drain and go.
  process.once('disconnect', () => stop('primary gone'));
  send({
    type: 'gatehouse:started',
    grpcPort: gatehouse.grpcPort,
    readiness: gatehouse.readiness(),
  });
  return exited;
}
