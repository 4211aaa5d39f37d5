/**
 * The `memory` store across the workers of one process (`workers` mode): the primary owns the one
 * MemoryStore and serves it over the node:cluster IPC channel ({@link serveStoreOverIpc}); each
 * worker uses an {@link IpcStore}, which implements the same contract by asking the primary and
 * hears the primary's change feed. Messages start with `gatehouse:store` (see
 * src/workers/ipc.ts) and survive node:cluster's JSON serialization.
 */
import { randomBytes } from 'node:crypto';
import { GatehouseError } from '../errors/gatehouse-error.js';
import type {
  DeviceEntry,
  ListOptions,
  LockLease,
  OnceNamespace,
  SessionRecord,
  SessionStore,
  StoreChange,
  StoreStatus,
  StoredDeviceEntry,
  StoredSession,
  ValueNamespace,
} from './types.js';

/** One end of an IPC channel: a cluster `Worker` (primary side) or `process` (worker side). */
export interface IpcEndpoint {
  send(message: unknown): unknown;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

type Operation =
  | { readonly op: 'create' | 'update'; readonly record: SessionRecord }
  | { readonly op: 'get' | 'revoke'; readonly sid: string }
  | { readonly op: 'touch'; readonly sid: string; readonly at: number }
  | { readonly op: 'revokeUser'; readonly sub: string }
  | { readonly op: 'revokeIdpSession'; readonly iss: string; readonly sid: string }
  | { readonly op: 'list'; readonly options: ListOptions }
  | {
      readonly op: 'claimOnce';
      readonly namespace: OnceNamespace;
      readonly key: string;
      readonly ttlMs: number;
    }
  | { readonly op: 'releaseOnce'; readonly namespace: OnceNamespace; readonly key: string }
  | { readonly op: 'acquireLock'; readonly name: string; readonly ttlMs: number }
  | { readonly op: 'release'; readonly token: string }
  | { readonly op: 'createDevice'; readonly entry: DeviceEntry }
  // Not `id`: that names the request.
  | { readonly op: 'getDevice'; readonly deviceId: string }
  | { readonly op: 'replaceDevice'; readonly entry: DeviceEntry; readonly revision: number }
  | { readonly op: 'listDevices'; readonly options: ListOptions }
  | {
      readonly op: 'putValue';
      readonly namespace: ValueNamespace;
      readonly key: string;
      readonly value: string;
      readonly ttlMs: number;
    }
  | { readonly op: 'takeValue'; readonly namespace: ValueNamespace; readonly key: string };

/** Worker → primary. */
export type StoreRequest = { readonly type: 'gatehouse:store'; readonly id: string } & Operation;

/** Primary → worker. */
export type StoreMessage =
  | {
      readonly type: 'gatehouse:store-reply';
      readonly id: string;
      readonly ok: true;
      readonly value: unknown;
    }
  | {
      readonly type: 'gatehouse:store-reply';
      readonly id: string;
      readonly ok: false;
      readonly code: string;
    }
  | { readonly type: 'gatehouse:store-change'; readonly change: StoreChange };

/**
 * Primary side: answer one worker's store requests from `store` and forward the change feed.
 *
 * @returns a function that stops serving this worker (call it when the worker exits).
 * @example worker.on('exit', serveStoreOverIpc(store, worker));
 */
export function serveStoreOverIpc(store: SessionStore, worker: IpcEndpoint): () => void {
  const leases = new Map<string, LockLease>();
  const send = (message: StoreMessage) => {
    try {
      worker.send(message);
    } catch {
      // The worker is gone; its exit handler stops this.
    }
  };
  const onMessage = (message: unknown) => {
    if (!isRequest(message)) return;
    run(store, leases, message).then(
      (value) => send({ type: 'gatehouse:store-reply', id: message.id, ok: true, value }),
      (err: unknown) =>
        send({
          type: 'gatehouse:store-reply',
          id: message.id,
          ok: false,
          code: GatehouseError.from(err, 'ERR_SESSION_STORE_UNAVAILABLE').code,
        }),
    );
  };
  worker.on('message', onMessage);
  const unsubscribe = store.subscribe((change) => send({ type: 'gatehouse:store-change', change }));
  return () => {
    worker.off('message', onMessage);
    unsubscribe();
  };
}

async function run(
  store: SessionStore,
  leases: Map<string, LockLease>,
  m: StoreRequest,
): Promise<unknown> {
  switch (m.op) {
    case 'create':
      return store.create(m.record);
    case 'update':
      return store.update(m.record);
    case 'get':
      return (await store.get(m.sid)) ?? null;
    case 'touch':
      return store.touch(m.sid, m.at);
    case 'revoke':
      return store.revoke(m.sid);
    case 'revokeUser':
      return store.revokeUser(m.sub);
    case 'revokeIdpSession':
      return store.revokeIdpSession(m.iss, m.sid);
    case 'list':
      return store.list(m.options);
    case 'claimOnce':
      return store.claimOnce(m.namespace, m.key, m.ttlMs);
    case 'releaseOnce':
      return store.releaseOnce(m.namespace, m.key);
    case 'acquireLock': {
      const lease = await store.acquireLock(m.name, m.ttlMs);
      if (lease === undefined) return null;
      leases.set(lease.token, lease);
      // Forget the lease once it has expired anyway (release then answers false).
      setTimeout(() => leases.delete(lease.token), m.ttlMs).unref();
      return lease.token;
    }
    case 'release': {
      const lease = leases.get(m.token);
      leases.delete(m.token);
      return lease === undefined ? false : lease.release();
    }
    case 'createDevice':
      return store.createDevice(m.entry);
    case 'getDevice':
      return (await store.getDevice(m.deviceId)) ?? null;
    case 'replaceDevice':
      return store.replaceDevice(m.entry, m.revision);
    case 'listDevices':
      return store.listDevices(m.options);
    case 'putValue':
      return store.putValue(m.namespace, m.key, m.value, m.ttlMs).then(() => true);
    case 'takeValue':
      return (await store.takeValue(m.namespace, m.key)) ?? null;
  }
}

/** Options for {@link IpcStore}. */
export interface IpcStoreOptions {
  /** Bound on each request to the primary (default 1000 ms). */
  readonly timeoutMs?: number;
}

/**
 * Worker side: the primary's memory store, through IPC. Calls fail with
 * `ERR_SESSION_STORE_UNAVAILABLE` when the primary does not answer within the timeout.
 *
 * @example const store = new IpcStore(process as IpcEndpoint);
 */
export class IpcStore implements SessionStore {
  readonly kind = 'memory';
  readonly #channel: IpcEndpoint;
  readonly #timeoutMs: number;
  readonly #pending = new Map<
    string,
    { resolve: (v: unknown) => void; reject: (e: unknown) => void }
  >();
  readonly #listeners = new Set<(change: StoreChange) => void>();
  readonly #onMessage = (message: unknown) => this.#receive(message);
  /** Several clients may share one channel: ids are unique per client. */
  readonly #clientId = randomBytes(6).toString('base64url');
  #nextId = 1;
  #closed = false;
  #closedAt: number | undefined;

  constructor(channel: IpcEndpoint, options: IpcStoreOptions = {}) {
    this.#channel = channel;
    this.#timeoutMs = options.timeoutMs ?? 1000;
    channel.on('message', this.#onMessage);
  }

  async create(record: SessionRecord): Promise<boolean> {
    return (await this.#ask({ op: 'create', record })) === true;
  }
  async update(record: SessionRecord): Promise<boolean> {
    return (await this.#ask({ op: 'update', record })) === true;
  }
  async get(sid: string): Promise<StoredSession | undefined> {
    const value = await this.#ask({ op: 'get', sid });
    return value === null ? undefined : (value as StoredSession);
  }
  async touch(sid: string, at: number): Promise<boolean> {
    return (await this.#ask({ op: 'touch', sid, at })) === true;
  }
  async revoke(sid: string): Promise<boolean> {
    return (await this.#ask({ op: 'revoke', sid })) === true;
  }
  async revokeUser(sub: string): Promise<readonly string[]> {
    return (await this.#ask({ op: 'revokeUser', sub })) as string[];
  }
  async revokeIdpSession(iss: string, sid: string): Promise<readonly string[]> {
    return (await this.#ask({ op: 'revokeIdpSession', iss, sid })) as string[];
  }
  async list(options: ListOptions = {}): Promise<readonly StoredSession[]> {
    return (await this.#ask({ op: 'list', options })) as StoredSession[];
  }
  async claimOnce(namespace: OnceNamespace, key: string, ttlMs: number): Promise<boolean> {
    return (await this.#ask({ op: 'claimOnce', namespace, key, ttlMs })) === true;
  }
  async releaseOnce(namespace: OnceNamespace, key: string): Promise<void> {
    await this.#ask({ op: 'releaseOnce', namespace, key });
  }
  async acquireLock(name: string, ttlMs: number): Promise<LockLease | undefined> {
    const token = await this.#ask({ op: 'acquireLock', name, ttlMs });
    if (typeof token !== 'string') return undefined;
    return {
      token,
      release: async () => (await this.#ask({ op: 'release', token })) === true,
    };
  }
  async createDevice(entry: DeviceEntry): Promise<boolean> {
    return (await this.#ask({ op: 'createDevice', entry })) === true;
  }
  async getDevice(id: string): Promise<StoredDeviceEntry | undefined> {
    const value = await this.#ask({ op: 'getDevice', deviceId: id });
    return value === null ? undefined : (value as StoredDeviceEntry);
  }
  async replaceDevice(entry: DeviceEntry, revision: number): Promise<boolean> {
    return (await this.#ask({ op: 'replaceDevice', entry, revision })) === true;
  }
  async listDevices(options: ListOptions = {}): Promise<readonly StoredDeviceEntry[]> {
    return (await this.#ask({ op: 'listDevices', options })) as StoredDeviceEntry[];
  }
  async putValue(
    namespace: ValueNamespace,
    key: string,
    value: string,
    ttlMs: number,
  ): Promise<void> {
    await this.#ask({ op: 'putValue', namespace, key, value, ttlMs });
  }
  async takeValue(namespace: ValueNamespace, key: string): Promise<string | undefined> {
    const value = await this.#ask({ op: 'takeValue', namespace, key });
    return typeof value === 'string' ? value : undefined;
  }
  subscribe(listener: (change: StoreChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  status(): StoreStatus {
    // Closed: unreachable since then (the cache serves what it holds for its stale window).
    return this.#closedAt === undefined
      ? { reachable: true }
      : { reachable: false, unreachableSince: this.#closedAt };
  }
  onStatus(_listener: (status: StoreStatus) => void): () => void {
    // The primary's memory store does not come and go; a dead primary ends the worker.
    return () => {};
  }
  async close(): Promise<void> {
    this.#closed = true;
    this.#closedAt ??= Date.now();
    this.#channel.off('message', this.#onMessage);
    for (const p of this.#pending.values()) p.reject(unavailable('the store client is closed'));
    this.#pending.clear();
    this.#listeners.clear();
  }

  #ask(operation: Operation): Promise<unknown> {
    if (this.#closed) return Promise.reject(unavailable('the store client is closed'));
    const id = `${this.#clientId}.${this.#nextId++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(unavailable(`the primary did not answer ${operation.op} in ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      this.#pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      try {
        this.#channel.send({ type: 'gatehouse:store', id, ...operation } satisfies StoreRequest);
      } catch (cause) {
        this.#pending.get(id)?.reject(unavailable('cannot reach the primary', cause));
        this.#pending.delete(id);
      }
    });
  }

  #receive(message: unknown): void {
    if (typeof message !== 'object' || message === null) return;
    const m = message as StoreMessage;
    if (m.type === 'gatehouse:store-change') {
      for (const listener of [...this.#listeners]) {
        try {
          listener(m.change);
        } catch {
          // A listener's bug must not stop the others from hearing a revocation.
        }
      }
      return;
    }
    if (m.type !== 'gatehouse:store-reply') return;
    const pending = this.#pending.get(m.id);
    if (pending === undefined) return;
    this.#pending.delete(m.id);
    if (m.ok) pending.resolve(m.value);
    else
      pending.reject(
        new GatehouseError(
          m.code === 'ERR_SESSION_RECORD_INVALID'
            ? 'ERR_SESSION_RECORD_INVALID'
            : 'ERR_SESSION_STORE_UNAVAILABLE',
        ),
      );
  }
}

function isRequest(message: unknown): message is StoreRequest {
  return (
    typeof message === 'object' &&
    message !== null &&
    (message as { type?: unknown }).type === 'gatehouse:store' &&
    typeof (message as { id?: unknown }).id === 'string'
  );
}

function unavailable(detail: string, cause?: unknown): GatehouseError {
  return new GatehouseError('ERR_SESSION_STORE_UNAVAILABLE', {
    cause: new Error(detail, cause === undefined ? undefined : { cause }),
  });
}
