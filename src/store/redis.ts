/**
 * The `redis` session store: any number of replicas share sessions, revocations, single-use keys
 * and locks through one standalone Redis or Valkey (TLS and ACL user/password supported).
 *
 * Layout under `key_prefix` (default `gatehouse:`):
 * - `s:<sid>`   hash {rec: sealed record (src/store/seal.ts), seen: last use in ms, u: user index
 *               id}, expiring at the session's absolute end;
 * - `u:<hmac>`  set of a user's session ids (HMAC-SHA256 of `sub`, so no subject is in a key name);
 * - `i:<hmac>`  set of the session ids that came from one identity provider session (HMAC of its
 *               `iss` and `sid`: back-channel logout by `sid`); the hash's `i` field names it;
 * - `o:<ns>:<sha256>` single-use keys; `l:<name>` locks (value: the owner's random token);
 * - channel `changes`: the change feed, JSON `{kind, sid}`, published by the same script that
 *   writes, so a change and its announcement cannot come apart.
 *
 * The client fails fast while disconnected (no offline queue) and bounds every command with a
 * timeout, so a caller never waits unbounded on an unreachable store.
 *
 * A heartbeat PINGs both connections every `heartbeatIntervalMs`: a Redis that stopped answering
 * without closing the connection (a hung or SIGSTOPped server, a path that drops packets without
 * a FIN or RST) leaves the client believing it is connected, so a PING unanswered within
 * `commandTimeoutMs` makes the store unreachable (since its last answer) and replaces both
 * connections; the new subscription then resets every cache, since a change may have been missed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createClient } from 'redis';
import { GatehouseError } from '../errors/gatehouse-error.js';
import {
  idpIndexId,
  openRecord,
  openValue,
  sealRecord,
  sealValue,
  type StoreKeys,
  userIndexId,
} from './seal.js';
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

/** Options for {@link RedisStore.open}. */
export interface RedisStoreOptions {
  /** `redis://` or `rediss://` (TLS) URL; user and password may be given here or below. */
  readonly url: string;
  /** ACL user name (overrides the URL's). */
  readonly username?: string;
  /** ACL password (overrides the URL's). */
  readonly password?: string;
  /** PEM file of the CA(s) that sign the server's certificate (`rediss://` only). */
  readonly caFile?: string;
  /** TLS server name to verify, when it differs from the URL's host. */
  readonly serverName?: string;
  /** Prefix of every key and of the change channel (default `gatehouse:`). */
  readonly keyPrefix?: string;
  /** Bound on each command (default 1000 ms). */
  readonly commandTimeoutMs?: number;
  /** Bound on connecting at start and on each reconnect attempt (default 2000 ms). */
  readonly connectTimeoutMs?: number;
  /** How often both connections are PINGed (default 1000 ms); each PING is bounded by `commandTimeoutMs`. */
  readonly heartbeatIntervalMs?: number;
  /** The keys records are sealed with (see `deriveStoreKeys`). */
  readonly keys: StoreKeys;
  /** The clock, ms since the epoch. */
  readonly now?: () => number;
}

type Client = ReturnType<typeof newClient>;

// Create only if absent; index the user; expire both at the session's end. A session that ends
// on its own (its key expires) leaves its id in the indexes, and an index lives as long as its
// newest session: each create checks up to PRUNE_SAMPLE of the index's ids, at random, and drops
// those whose session is gone. Bounded work per sign-in (a script blocks Redis while it runs),
// and an index stays near its live sessions: only a sign-in adds an id, and with L live and S
// ended ids it removes about PRUNE_SAMPLE * S / (L + S), so S settles near (L + S) / PRUNE_SAMPLE.
const PRUNE_SAMPLE = 16;
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local function prune(index)
  for _, sid in ipairs(redis.call('SRANDMEMBER', index, ${PRUNE_SAMPLE})) do
    if redis.call('EXISTS', ARGV[7] .. sid) == 0 then redis.call('SREM', index, sid) end
  end
end
prune(KEYS[2])
redis.call('HSET', KEYS[1], 'rec', ARGV[1], 'seen', ARGV[2], 'u', ARGV[3])
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
redis.call('SADD', KEYS[2], ARGV[5])
if redis.call('PEXPIRETIME', KEYS[2]) < tonumber(ARGV[4]) then
  redis.call('PEXPIREAT', KEYS[2], ARGV[4])
end
if ARGV[6] ~= '' then
  prune(KEYS[3])
  redis.call('HSET', KEYS[1], 'i', ARGV[6])
  redis.call('SADD', KEYS[3], ARGV[5])
  if redis.call('PEXPIRETIME', KEYS[3]) < tonumber(ARGV[4]) then
    redis.call('PEXPIREAT', KEYS[3], ARGV[4])
  end
end
return 1`;

// Replace only if present: a revoked session is never recreated by a late refresh. A refreshed
// ID token may name another IdP session (or a first one): move the session between IdP indexes.
const UPDATE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'rec', ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
local old = redis.call('HGET', KEYS[1], 'i')
if old and old ~= ARGV[6] then
  redis.call('SREM', ARGV[7] .. old, ARGV[5])
  redis.call('HDEL', KEYS[1], 'i')
end
if ARGV[6] ~= '' and old ~= ARGV[6] then
  redis.call('HSET', KEYS[1], 'i', ARGV[6])
  redis.call('SADD', KEYS[2], ARGV[5])
  if redis.call('PEXPIRETIME', KEYS[2]) < tonumber(ARGV[2]) then
    redis.call('PEXPIREAT', KEYS[2], ARGV[2])
  end
end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1`;

const TOUCH = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local seen = tonumber(redis.call('HGET', KEYS[1], 'seen') or '0')
if tonumber(ARGV[1]) > seen then redis.call('HSET', KEYS[1], 'seen', ARGV[1]) end
return 1`;

// Delete, unindex, announce (announced even when absent: a replica may still cache it).
const REVOKE = `
local u = redis.call('HGET', KEYS[1], 'u')
local i = redis.call('HGET', KEYS[1], 'i')
local n = redis.call('DEL', KEYS[1])
if u then redis.call('SREM', ARGV[1] .. u, ARGV[2]) end
if i then redis.call('SREM', ARGV[5] .. i, ARGV[2]) end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return n`;

// Enroll a device only if its id is new; index it under its user. Devices do not expire.
const CREATE_DEVICE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'rec', ARGV[1], 'rev', '1', 'u', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
return 1`;

// Compare-and-set on the revision: a read-modify-write never overwrites another replica's.
const REPLACE_DEVICE = `
if redis.call('HGET', KEYS[1], 'rev') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'rec', ARGV[1], 'rev', tostring(tonumber(ARGV[2]) + 1))
return 1`;

// Delete the lock only if this owner still holds it.
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * The `redis` session store. Open it with {@link RedisStore.open}.
 *
 * @example
 *   const store = await RedisStore.open({ url: 'rediss://cache:6380', caFile, keys });
 */
export class RedisStore implements SessionStore {
  readonly kind = 'redis';
  #client: Client;
  #subscriber: Client;
  readonly #options: RedisStoreOptions;
  readonly #ca: string | undefined;
  readonly #keys: StoreKeys;
  readonly #prefix: string;
  readonly #channel: string;
  readonly #now: () => number;
  readonly #listeners = new Set<(change: StoreChange) => void>();
  readonly #statusListeners = new Set<(status: StoreStatus) => void>();
  #status: StoreStatus;
  #subscribedOnce = false;
  #closed = false;
  /** A heartbeat went unanswered: unreachable until fresh connections answer. */
  #silent = false;
  /** When Redis last answered a heartbeat (or the connections became ready). */
  #lastAnswer: number;
  #beating = false;
  readonly #heartbeat: NodeJS.Timeout;

  private constructor(options: RedisStoreOptions, ca: string | undefined) {
    this.#options = options;
    this.#ca = ca;
    this.#client = newClient(options, ca);
    this.#subscriber = this.#client.duplicate();
    this.#keys = options.keys;
    this.#prefix = options.keyPrefix ?? 'gatehouse:';
    this.#channel = `${this.#prefix}changes`;
    this.#now = options.now ?? Date.now;
    this.#lastAnswer = this.#now();
    this.#status = { reachable: false, unreachableSince: this.#now() };
    this.#watch(this.#client, this.#subscriber);
    this.#heartbeat = setInterval(() => void this.#beat(), options.heartbeatIntervalMs ?? 1000);
    this.#heartbeat.unref();
  }

  #watch(client: Client, subscriber: Client): void {
    for (const c of [client, subscriber]) {
      // An 'error' listener is required (node-redis throws otherwise); reachability is derived
      // from the connection state, and the cause reaches the caller through a failed command.
      c.on('error', () => this.#refreshStatus());
      c.on('ready', () => {
        if (c === this.#client || c === this.#subscriber) this.#lastAnswer = this.#now();
        this.#refreshStatus();
      });
      c.on('end', () => this.#refreshStatus());
      c.on('reconnecting', () => this.#refreshStatus());
    }
    // Events published while the subscriber was away are lost: every (re)subscription after the
    // first tells caches to drop everything they hold. node-redis resubscribes before 'ready'.
    subscriber.on('ready', () => {
      if (this.#subscribedOnce && subscriber === this.#subscriber) this.#emit({ kind: 'reset' });
    });
  }

  /** PING both connections; an unanswered PING means the store is unreachable (see above). */
  async #beat(): Promise<void> {
    if (this.#beating || this.#closed || !this.#subscribedOnce) return;
    this.#beating = true;
    try {
      const client = this.#client;
      const subscriber = this.#subscriber;
      // Not ready: node-redis already knows and reconnects by itself.
      if (!client.isReady || !subscriber.isReady) return;
      const timeout = this.#options.commandTimeoutMs ?? 1000;
      try {
        await withDeadline(
          Promise.all([client.ping(), subscriber.ping()]),
          timeout,
          `no answer to PING within ${timeout} ms`,
        );
        if (client !== this.#client || subscriber !== this.#subscriber) return;
        this.#lastAnswer = this.#now();
        this.#silent = false;
        this.#refreshStatus();
      } catch {
        if (this.#closed || client !== this.#client) return;
        this.#silent = true;
        this.#refreshStatus();
        await this.#replaceConnections();
      }
    } finally {
      this.#beating = false;
    }
  }

  /**
   * Open two fresh connections and subscribe, then drop the silent ones. Until the new ones are
   * ready the store stays unreachable; a failed attempt is retried at the next heartbeat.
   */
  async #replaceConnections(): Promise<void> {
    const client = newClient(this.#options, this.#ca);
    const subscriber = client.duplicate();
    this.#watch(client, subscriber);
    const connectTimeout = this.#options.connectTimeoutMs ?? 2000;
    try {
      await withDeadline(
        (async () => {
          await Promise.all([client.connect(), subscriber.connect()]);
          await subscriber.subscribe(this.#channel, (message) => this.#onMessage(message));
        })(),
        connectTimeout,
        `could not reconnect within ${connectTimeout} ms`,
      );
    } catch {
      destroyQuietly(client, subscriber);
      return;
    }
    if (this.#closed) {
      destroyQuietly(client, subscriber);
      return;
    }
    const old = [this.#client, this.#subscriber] as const;
    this.#client = client;
    this.#subscriber = subscriber;
    destroyQuietly(...old);
    // The new subscription is live: whatever was missed meanwhile is dropped from every cache
    // before the store is reachable again.
    this.#emit({ kind: 'reset' });
    this.#lastAnswer = this.#now();
    this.#silent = false;
    this.#refreshStatus();
  }

  /**
   * Connect (commands and change feed) and wait until both are ready.
   *
   * @throws GatehouseError `ERR_SESSION_STORE_UNAVAILABLE` when Redis cannot be reached, refuses
   *   the credentials, or the CA file cannot be read, within `connectTimeoutMs`.
   */
  static async open(options: RedisStoreOptions): Promise<RedisStore> {
    const connectTimeout = options.connectTimeoutMs ?? 2000;
    let ca: string | undefined;
    if (options.caFile !== undefined) {
      try {
        ca = await readFile(options.caFile, 'utf8');
      } catch (cause) {
        throw unavailable(`session.store.tls.ca_file: ${options.caFile} cannot be read`, cause);
      }
    }
    const store = new RedisStore(options, ca);
    const client = store.#client;
    const subscriber = store.#subscriber;
    try {
      await withDeadline(
        Promise.all([client.connect(), subscriber.connect()]),
        connectTimeout,
        `could not connect to ${redactUrl(options.url)} within ${connectTimeout} ms`,
      );
      await subscriber.subscribe(store.#channel, (message) => store.#onMessage(message));
      store.#subscribedOnce = true;
    } catch (cause) {
      await store.close();
      throw GatehouseError.from(cause, 'ERR_SESSION_STORE_UNAVAILABLE');
    }
    store.#refreshStatus();
    return store;
  }

  async create(record: SessionRecord): Promise<boolean> {
    const uid = userIndexId(this.#keys, record.sub);
    const iid =
      record.idp === undefined ? '' : idpIndexId(this.#keys, record.idp.iss, record.idp.sid);
    const reply = await this.#eval(
      CREATE,
      // Without an IdP session the third key is the user index again (declared, never written).
      [this.#session(record.sid), this.#user(uid), iid === '' ? this.#user(uid) : this.#idp(iid)],
      [
        sealRecord(this.#keys, record),
        String(this.#now()),
        uid,
        String(Math.floor(record.expiresAt)),
        record.sid,
        iid,
        `${this.#prefix}s:`,
      ],
    );
    return reply === 1;
  }

  async update(record: SessionRecord): Promise<boolean> {
    const iid =
      record.idp === undefined ? '' : idpIndexId(this.#keys, record.idp.iss, record.idp.sid);
    const reply = await this.#eval(
      UPDATE,
      // Without an IdP session the second key is the session again (declared, never written).
      [this.#session(record.sid), iid === '' ? this.#session(record.sid) : this.#idp(iid)],
      [
        sealRecord(this.#keys, record),
        String(Math.floor(record.expiresAt)),
        this.#channel,
        JSON.stringify({ kind: 'updated', sid: record.sid }),
        record.sid,
        iid,
        `${this.#prefix}i:`,
      ],
    );
    return reply === 1;
  }

  async get(sid: string): Promise<StoredSession | undefined> {
    const reply = await this.#run(() => this.#client.hmGet(this.#session(sid), ['rec', 'seen']));
    return this.#read(sid, reply);
  }

  async touch(sid: string, at: number): Promise<boolean> {
    return (await this.#eval(TOUCH, [this.#session(sid)], [String(Math.floor(at))])) === 1;
  }

  async revoke(sid: string): Promise<boolean> {
    const reply = await this.#eval(
      REVOKE,
      [this.#session(sid)],
      [
        `${this.#prefix}u:`,
        sid,
        this.#channel,
        JSON.stringify({ kind: 'revoked', sid }),
        `${this.#prefix}i:`,
      ],
    );
    return reply === 1;
  }

  async revokeUser(sub: string): Promise<readonly string[]> {
    const index = this.#user(userIndexId(this.#keys, sub));
    const sids = await this.#run(() => this.#client.sMembers(index));
    const revoked: string[] = [];
    for (const sid of sids) if (await this.revoke(sid)) revoked.push(sid);
    return revoked;
  }

  async revokeIdpSession(iss: string, sid: string): Promise<readonly string[]> {
    const index = this.#idp(idpIndexId(this.#keys, iss, sid));
    const sids = await this.#run(() => this.#client.sMembers(index));
    const revoked: string[] = [];
    for (const id of sids) if (await this.revoke(id)) revoked.push(id);
    return revoked;
  }

  async list(options: ListOptions = {}): Promise<readonly StoredSession[]> {
    const limit = options.limit ?? 1000;
    const out: StoredSession[] = [];
    const take = async (sids: readonly string[]) => {
      for (const sid of sids) {
        if (out.length >= limit) return;
        const s = await this.get(sid);
        if (s !== undefined && (options.sub === undefined || s.sub === options.sub)) out.push(s);
      }
    };
    if (options.sub !== undefined) {
      const index = this.#user(userIndexId(this.#keys, options.sub));
      await take(await this.#run(() => this.#client.sMembers(index)));
      return out;
    }
    const start = `${this.#prefix}s:`;
    let cursor = '0';
    do {
      const page = await this.#run(() =>
        this.#client.scan(cursor, { MATCH: `${start}*`, COUNT: 200 }),
      );
      cursor = String(page.cursor);
      await take(page.keys.map((k) => String(k).slice(start.length)));
    } while (cursor !== '0' && out.length < limit);
    return out;
  }

  subscribe(listener: (change: StoreChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async claimOnce(namespace: OnceNamespace, key: string, ttlMs: number): Promise<boolean> {
    if (!(ttlMs > 0)) throw new Error('ttlMs must be positive');
    const digest = createHash('sha256').update(key).digest('base64url');
    const reply = await this.#run(() =>
      this.#client.set(`${this.#prefix}o:${namespace}:${digest}`, '1', {
        condition: 'NX',
        expiration: { type: 'PX', value: Math.ceil(ttlMs) },
      }),
    );
    return reply === 'OK';
  }

  async releaseOnce(namespace: OnceNamespace, key: string): Promise<void> {
    const digest = createHash('sha256').update(key).digest('base64url');
    await this.#run(() => this.#client.del(`${this.#prefix}o:${namespace}:${digest}`));
  }

  async acquireLock(name: string, ttlMs: number): Promise<LockLease | undefined> {
    if (!(ttlMs > 0)) throw new Error('ttlMs must be positive');
    const key = `${this.#prefix}l:${name}`;
    const token = randomBytes(16).toString('base64url');
    const reply = await this.#run(() =>
      this.#client.set(key, token, {
        condition: 'NX',
        expiration: { type: 'PX', value: Math.ceil(ttlMs) },
      }),
    );
    if (reply !== 'OK') return undefined;
    return {
      token,
      release: async () => (await this.#eval(RELEASE, [key], [token])) === 1,
    };
  }

  async createDevice(entry: DeviceEntry): Promise<boolean> {
    const uid = userIndexId(this.#keys, entry.sub);
    const reply = await this.#eval(
      CREATE_DEVICE,
      [this.#device(entry.id), this.#userDevices(uid)],
      [sealValue(this.#keys, deviceContext(entry.id), entry), uid, entry.id],
    );
    return reply === 1;
  }

  async getDevice(id: string): Promise<StoredDeviceEntry | undefined> {
    const [sealed, revision] = await this.#run(() =>
      this.#client.hmGet(this.#device(id), ['rec', 'rev']),
    );
    if (typeof sealed !== 'string') return undefined;
    const entry = openValue(this.#keys, deviceContext(id), sealed);
    if (!isDeviceEntry(entry) || entry.id !== id)
      throw new GatehouseError('ERR_SESSION_RECORD_INVALID', {
        cause: new Error('device entry content is malformed'),
      });
    return { id: entry.id, sub: entry.sub, data: entry.data, revision: Number(revision) };
  }

  async replaceDevice(entry: DeviceEntry, revision: number): Promise<boolean> {
    const current = await this.getDevice(entry.id);
    // The subject never changes (the index would go stale); the revision check is the script's.
    if (current === undefined || current.sub !== entry.sub) return false;
    const reply = await this.#eval(
      REPLACE_DEVICE,
      [this.#device(entry.id)],
      [sealValue(this.#keys, deviceContext(entry.id), entry), String(revision)],
    );
    return reply === 1;
  }

  async listDevices(options: ListOptions = {}): Promise<readonly StoredDeviceEntry[]> {
    const limit = options.limit ?? 1000;
    const out: StoredDeviceEntry[] = [];
    const take = async (ids: readonly string[]) => {
      for (const id of ids) {
        if (out.length >= limit) return;
        const d = await this.getDevice(id);
        if (d !== undefined && (options.sub === undefined || d.sub === options.sub)) out.push(d);
      }
    };
    if (options.sub !== undefined) {
      const index = this.#userDevices(userIndexId(this.#keys, options.sub));
      await take(await this.#run(() => this.#client.sMembers(index)));
      return out;
    }
    const start = `${this.#prefix}d:`;
    let cursor = '0';
    do {
      const page = await this.#run(() =>
        this.#client.scan(cursor, { MATCH: `${start}*`, COUNT: 200 }),
      );
      cursor = String(page.cursor);
      const ids: string[] = [];
      for (const key of page.keys) {
        const id = Buffer.from(String(key).slice(start.length), 'base64url').toString('utf8');
        ids.push(id);
      }
      await take(ids);
    } while (cursor !== '0' && out.length < limit);
    return out;
  }

  async putValue(
    namespace: ValueNamespace,
    key: string,
    value: string,
    ttlMs: number,
  ): Promise<void> {
    if (!(ttlMs > 0)) throw new Error('ttlMs must be positive');
    const name = this.#value(namespace, key);
    await this.#run(() =>
      this.#client.set(name, sealValue(this.#keys, `value ${name}`, value), {
        expiration: { type: 'PX', value: Math.ceil(ttlMs) },
      }),
    );
  }

  async takeValue(namespace: ValueNamespace, key: string): Promise<string | undefined> {
    const name = this.#value(namespace, key);
    const sealed = await this.#run(() => this.#client.getDel(name));
    if (typeof sealed !== 'string') return undefined;
    const value = openValue(this.#keys, `value ${name}`, sealed);
    if (typeof value !== 'string')
      throw new GatehouseError('ERR_SESSION_RECORD_INVALID', { cause: new Error('not a string') });
    return value;
  }

  status(): StoreStatus {
    return this.#status;
  }

  onStatus(listener: (status: StoreStatus) => void): () => void {
    this.#statusListeners.add(listener);
    return () => this.#statusListeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    this.#listeners.clear();
    destroyQuietly(this.#subscriber, this.#client);
    this.#refreshStatus();
    this.#statusListeners.clear();
  }

  #session(sid: string): string {
    return `${this.#prefix}s:${sid}`;
  }

  #user(uid: string): string {
    return `${this.#prefix}u:${uid}`;
  }

  #idp(iid: string): string {
    return `${this.#prefix}i:${iid}`;
  }

  /** `d:<base64url of the credential id>`: reversible, so a scan can list devices. */
  #device(id: string): string {
    return `${this.#prefix}d:${Buffer.from(id, 'utf8').toString('base64url')}`;
  }

  #userDevices(uid: string): string {
    return `${this.#prefix}du:${uid}`;
  }

  /** `v:<namespace>:<sha256>`: no value's key in clear. */
  #value(namespace: ValueNamespace, key: string): string {
    return `${this.#prefix}v:${namespace}:${createHash('sha256').update(key).digest('base64url')}`;
  }

  #read(sid: string, reply: readonly unknown[]): StoredSession | undefined {
    const [sealed, seen] = reply;
    if (typeof sealed !== 'string') return undefined;
    const record = openRecord(this.#keys, sid, sealed);
    // Redis expires the key at expiresAt; the clock check covers the moment in between.
    if (record.expiresAt <= this.#now()) return undefined;
    return { ...record, lastSeenAt: Number(seen ?? record.createdAt) };
  }

  async #eval(script: string, keys: string[], args: string[]): Promise<unknown> {
    return this.#run(() => this.#client.eval(script, { keys, arguments: args }));
  }

  /**
   * Run a command; anything that goes wrong on the way is `ERR_SESSION_STORE_UNAVAILABLE`. The
   * deadline is ours: node-redis's command timeout stops counting once the command is written
   * (6.3.1), so a command sent to a Redis that stopped answering would otherwise wait forever.
   */
  async #run<T>(command: () => Promise<T>): Promise<T> {
    if (this.#closed) throw unavailable('the store is closed');
    const timeout = this.#options.commandTimeoutMs ?? 1000;
    try {
      return await withDeadline(command(), timeout, `no answer within ${timeout} ms`);
    } catch (cause) {
      this.#refreshStatus();
      throw GatehouseError.from(cause, 'ERR_SESSION_STORE_UNAVAILABLE');
    }
  }

  #onMessage(message: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(message);
    } catch {
      return;
    }
    const p = parsed as { kind?: unknown; sid?: unknown };
    if ((p.kind === 'revoked' || p.kind === 'updated') && typeof p.sid === 'string')
      this.#emit({ kind: p.kind, sid: p.sid });
  }

  #emit(change: StoreChange): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(change);
      } catch {
        // A listener's bug must not stop the others from hearing a revocation.
      }
    }
  }

  #refreshStatus(): void {
    const reachable =
      !this.#closed && !this.#silent && this.#client.isReady && this.#subscriber.isReady;
    if (reachable === this.#status.reachable) return;
    // Silent: unreachable since its last answer, not since the heartbeat noticed.
    const since = this.#silent ? this.#lastAnswer : this.#now();
    this.#status = reachable ? { reachable } : { reachable, unreachableSince: since };
    for (const listener of [...this.#statusListeners]) {
      try {
        listener(this.#status);
      } catch {
        // Same as #emit.
      }
    }
  }
}

/** The command client; the subscriber is its duplicate. */
function newClient(options: RedisStoreOptions, ca: string | undefined) {
  const connectTimeout = options.connectTimeoutMs ?? 2000;
  const tls = options.url.startsWith('rediss://');
  return createClient({
    url: options.url,
    ...(options.username === undefined ? {} : { username: options.username }),
    ...(options.password === undefined ? {} : { password: options.password }),
    disableOfflineQueue: true,
    commandOptions: { timeout: options.commandTimeoutMs ?? 1000 },
    socket: {
      connectTimeout,
      // Back off to at most 1 s between attempts, forever: the store comes back by itself.
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 1000),
      ...(tls
        ? {
            tls: true as const,
            ...(ca === undefined ? {} : { ca }),
            ...(options.serverName === undefined ? {} : { servername: options.serverName }),
          }
        : {}),
    },
  });
}

/** The additional authenticated data of a device entry: it cannot be moved to another id. */
function deviceContext(id: string): string {
  return `device entry ${id}`;
}

function isDeviceEntry(value: unknown): value is DeviceEntry {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v['id'] === 'string' &&
    typeof v['sub'] === 'string' &&
    typeof v['data'] === 'object' &&
    v['data'] !== null &&
    !Array.isArray(v['data'])
  );
}

function destroyQuietly(...clients: Client[]): void {
  for (const c of clients) {
    try {
      if (c.isOpen) c.destroy();
    } catch {
      // Already closed: nothing to release.
    }
  }
}

function unavailable(detail: string, cause?: unknown): GatehouseError {
  return new GatehouseError('ERR_SESSION_STORE_UNAVAILABLE', {
    cause: new Error(detail, cause === undefined ? undefined : { cause }),
  });
}

/** The URL without its password, for messages. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

async function withDeadline<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  // The work may fail after the deadline won (e.g. a connect given up on): handled, not thrown.
  work.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(unavailable(message)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
