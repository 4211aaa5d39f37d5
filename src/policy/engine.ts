/**
 * The policy engine: holds the current policy and replaces it atomically on reload.
 *
 * A reload builds a complete new {@link LoadedPolicy} off to the side and swaps one reference,
 * so an evaluation (synchronous, on the event loop) always runs on exactly one policy — the
 * old or the new — and never sees a half-loaded one. A policy that fails to load is refused
 * and the last good one keeps serving. Reloads are serialised; calls arriving while one runs
 * coalesce into a single follow-up reload.
 */
import { GatehouseError } from '../errors/gatehouse-error.js';
import { watchFiles, type FileWatcher } from '../files/watch.js';
import type { InputPaths } from './input-paths.js';
import { loadPolicy, type LoadedPolicy, type LoadPolicyOptions } from './load.js';

/** What a reload reports. */
export type ReloadResult =
  | { readonly ok: true; readonly revision: string; readonly previousRevision: string | undefined }
  | { readonly ok: false; readonly error: GatehouseError; readonly revision: string | undefined };

/** Why a load ran. */
export type ReloadTrigger = 'start' | 'watch' | 'manual';

/** Emitted after every load attempt, for logs and metrics. */
export type PolicyEvent =
  | {
      readonly type: 'loaded';
      readonly trigger: ReloadTrigger;
      readonly revision: string;
      /** What of `input` the module is handed: `'all'`, or the paths the policy can read. */
      readonly inputPaths: InputPaths;
      readonly previousRevision: string | undefined;
      readonly durationMs: number;
    }
  | {
      readonly type: 'failed';
      readonly trigger: ReloadTrigger;
      readonly error: GatehouseError;
      /** The revision still serving, if any. */
      readonly revision: string | undefined;
      readonly durationMs: number;
    }
  | { readonly type: 'watch-error'; readonly error: unknown };

/** Options for {@link PolicyEngine}. */
export interface PolicyEngineOptions extends LoadPolicyOptions {
  /** Reload when the bundle file or a file in the Rego directory changes (default false). */
  readonly watch?: boolean;
  /** Quiet period after the last file event before reloading (default 200 ms). */
  readonly debounceMs?: number;
  /** Safety-net poll period for the watch (default 2000 ms), see src/files/watch.ts. */
  readonly pollMs?: number;
  /** Replaces {@link loadPolicy} (tests). */
  readonly load?: (options: LoadPolicyOptions) => Promise<LoadedPolicy>;
}

/** Listener for {@link PolicyEvent}s. */
export type PolicyListener = (event: PolicyEvent) => void;

const WATCHED_DIR_FILE = /\.(rego|json|ya?ml)$/;

/**
 * Holds the serving policy.
 *
 * @example
 *   const engine = new PolicyEngine({ bundle: 'bundle.tar.gz', entrypoint: 'envoy/authz/allow', watch: true });
 *   engine.on((e) => log.info(e, 'policy'));
 *   await engine.start();                       // throws if the first load fails
 *   process.on('SIGHUP', () => void engine.reload());
 *   const decision = engine.current()?.evaluate(input);
 */
export class PolicyEngine {
  readonly #options: PolicyEngineOptions;
  readonly #load: (options: LoadPolicyOptions) => Promise<LoadedPolicy>;
  readonly #listeners = new Set<PolicyListener>();
  #current: LoadedPolicy | undefined;
  #tail: Promise<unknown> = Promise.resolve();
  #queued: Promise<ReloadResult> | undefined;
  #queuedTrigger: ReloadTrigger = 'manual';
  #watcher: FileWatcher | undefined;
  #stopped = false;

  /** @param options where the policy lives, its entrypoint, and whether to watch it. */
  constructor(options: PolicyEngineOptions) {
    this.#options = options;
    this.#load = options.load ?? loadPolicy;
  }

  /** The serving policy, or `undefined` before the first successful load. */
  current(): LoadedPolicy | undefined {
    return this.#current;
  }

  /** Subscribes to load events; returns the unsubscribe function. */
  on(listener: PolicyListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Loads the policy for the first time and starts watching if configured.
   *
   * @throws GatehouseError the load error (`ERR_POLICY_LOAD`, `ERR_POLICY_COMPILE`,
   *   `ERR_POLICY_ENTRYPOINT`, `ERR_POLICY_BUILTIN_MISSING`): a service must not start without
   *   a policy.
   */
  async start(): Promise<LoadedPolicy> {
    this.#stopped = false;
    // Fingerprint the files before the first load, so a change made while it runs is seen.
    if (this.#options.watch === true) this.#startWatching();
    const result = await this.#enqueue('start');
    if (!result.ok) {
      this.stop();
      throw result.error;
    }
    return this.#current as LoadedPolicy;
  }

  /**
   * Loads the policy again (SIGHUP, admin endpoint, file change). On failure the current
   * policy keeps serving and the error is returned, not thrown.
   */
  reload(): Promise<ReloadResult> {
    return this.#enqueue('manual');
  }

  /** Stops watching; the current policy stays available. */
  stop(): void {
    this.#stopped = true;
    this.#watcher?.close();
    this.#watcher = undefined;
  }

  #enqueue(trigger: ReloadTrigger): Promise<ReloadResult> {
    // A reload that has not started yet covers every request made before it starts.
    if (this.#queued !== undefined) return this.#queued;
    this.#queuedTrigger = trigger;
    const run = this.#tail.then(() => {
      this.#queued = undefined;
      return this.#loadOnce(this.#queuedTrigger);
    });
    this.#queued = run;
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async #loadOnce(trigger: ReloadTrigger): Promise<ReloadResult> {
    const started = performance.now();
    const previous = this.#current;
    try {
      const next = await this.#load(this.#options);
      this.#current = next; // the atomic swap
      this.#emit({
        type: 'loaded',
        trigger,
        revision: next.revision,
        inputPaths: next.inputPaths,
        previousRevision: previous?.revision,
        durationMs: performance.now() - started,
      });
      return { ok: true, revision: next.revision, previousRevision: previous?.revision };
    } catch (err) {
      const error = GatehouseError.from(err, 'ERR_POLICY_LOAD');
      this.#emit({
        type: 'failed',
        trigger,
        error,
        revision: previous?.revision,
        durationMs: performance.now() - started,
      });
      return { ok: false, error, revision: previous?.revision };
    }
  }

  #emit(event: PolicyEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A listener (logging, metrics) must never break policy loading.
      }
    }
  }

  #startWatching(): void {
    if (this.#watcher !== undefined) return;
    const bundle = this.#options.bundle;
    const path = bundle ?? this.#options.dir;
    if (path === undefined) return;
    // Robust to replace-by-rename, a folder deleted and re-created, and a Kubernetes ConfigMap's
    // `..data` symlink swap: see src/files/watch.ts.
    this.#watcher = watchFiles({
      paths: [path],
      ...(bundle === undefined
        ? { include: (name: string) => WATCHED_DIR_FILE.test(name), skipDirs: ['build'] }
        : {}),
      debounceMs: this.#options.debounceMs ?? 200,
      ...(this.#options.pollMs === undefined ? {} : { pollMs: this.#options.pollMs }),
      onChange: () => {
        if (!this.#stopped) void this.#enqueue('watch');
      },
      onError: (error) => this.#emit({ type: 'watch-error', error }),
    });
  }
}
