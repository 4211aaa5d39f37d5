/**
 * The policy engine: holds the current policy and replaces it atomically on reload.
 *
 * A reload builds a complete new {@link LoadedPolicy} off to the side and swaps one reference,
 * so an evaluation (synchronous, on the event loop) always runs on exactly one policy — the
 * old or the new — and never sees a half-loaded one. A policy that fails to load is refused
 * and the last good one keeps serving. Reloads are serialised; calls arriving while one runs
 * coalesce into a single follow-up reload.
 */
import { readdirSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { GatehouseError } from '../errors/gatehouse-error.js';
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
  #watcher: FSWatcher | undefined;
  readonly #dirWatchers = new Map<string, FSWatcher>();
  #timer: NodeJS.Timeout | undefined;
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
    const result = await this.#enqueue('start');
    if (!result.ok) throw result.error;
    if (this.#options.watch === true) this.#startWatching();
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
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#watcher?.close();
    this.#watcher = undefined;
    for (const watcher of this.#dirWatchers.values()) watcher.close();
    this.#dirWatchers.clear();
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
      this.#emit({ type: 'loaded', trigger, revision: next.revision, previousRevision: previous?.revision, durationMs: performance.now() - started });
      return { ok: true, revision: next.revision, previousRevision: previous?.revision };
    } catch (err) {
      const error = GatehouseError.from(err, 'ERR_POLICY_LOAD');
      this.#emit({ type: 'failed', trigger, error, revision: previous?.revision, durationMs: performance.now() - started });
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

  #schedule(): void {
    if (this.#stopped) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#stopped) void this.#enqueue('watch');
    }, this.#options.debounceMs ?? 200);
    this.#timer.unref();
  }

  #startWatching(): void {
    if (this.#watcher !== undefined || this.#dirWatchers.size > 0) return;
    try {
      if (this.#options.bundle !== undefined) {
        // Watch the directory, not the file: deploys replace bundles by rename, which would
        // leave a file watch attached to the old inode.
        const file = resolve(this.#options.bundle);
        const name = basename(file);
        this.#watcher = watch(dirname(file), { persistent: false }, (_event, changed) => {
          if (changed === null || changed.toString() === name) this.#schedule();
        });
      } else if (this.#options.dir !== undefined) {
        // One plain watch per folder: Node's `recursive: true` on Linux misses repeated
        // replace-by-rename of the same file (seen with Node 24), which is how editors save.
        this.#watchDirs(resolve(this.#options.dir));
        return;
      }
      this.#watcher?.on('error', (error) => this.#emit({ type: 'watch-error', error }));
    } catch (error) {
      this.#emit({ type: 'watch-error', error });
    }
  }

  #watchDirs(root: string): void {
    for (const dir of listDirs(root)) {
      if (this.#dirWatchers.has(dir)) continue;
      const watcher = watch(dir, { persistent: false }, (_event, changed) => {
        if (changed === null || WATCHED_DIR_FILE.test(changed.toString())) this.#schedule();
        // A new sub-folder needs a watch of its own.
        else if (!this.#stopped) this.#watchDirs(root);
      });
      watcher.on('error', (error) => this.#emit({ type: 'watch-error', error }));
      this.#dirWatchers.set(dir, watcher);
    }
  }
}

/** `root` and every folder below it, except hidden ones and `build` (compiled output). */
function listDirs(root: string): string[] {
  const dirs = [root];
  try {
    for (const entry of readdirSync(root, { withFileTypes: true })) {
      if (entry.isDirectory() && !entry.name.startsWith('.') && entry.name !== 'build') dirs.push(...listDirs(join(root, entry.name)));
    }
  } catch {
    // A folder that vanished while we looked is simply not watched.
  }
  return dirs;
}
