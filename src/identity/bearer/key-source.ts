/**
 * Where bearer tokens' verification keys come from: the identity provider's JWKS, kept fresh on
 * its own schedule and never lost to an outage while it is younger than a maximum age.
 *
 * - Keys are held in memory as the last good JWKS, with the time it was fetched. They are used
 *   until they are older than `maxAgeMs`, whatever happens to the IdP meanwhile: a failed
 *   refresh keeps them.
 * - A timer refetches every `refreshIntervalMs`; after a failure it retries with capped
 *   exponential back-off and jitter. Traffic never starts a background fetch.
 * - A token naming an unknown `kid` (the IdP rotated its keys) may trigger one fetch per
 *   `cooldownMs`, which the Check waits for at most `timeoutMs`; made-up `kid`s cannot become a
 *   flood of fetches.
 * - With a cache file, the last good discovery document and JWKS are written after every
 *   successful fetch (src/identity/bearer/provider-cache.ts) and read at start, so a Gatehouse that starts
 *   while the IdP is down still verifies tokens signed with known keys.
 *
 * - Keys given in the configuration (`staticJwks`) are the last resort: used whenever no fetched
 *   or cached keys are usable, with the configured issuer.
 *
 * Nothing in a token chooses where keys come from: the JWKS URL is the discovery document's.
 */
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { GatehouseError } from '../../errors/gatehouse-error.js';
import { readProviderCache, writeProviderCache } from './provider-cache.js';

/** Options for {@link createIdpKeySource}. */
export interface IdpKeySourceOptions {
  /** The configured `identity.issuer` (the cache file must be for it). */
  readonly configuredIssuer: string;
  /** Where the last good discovery document and JWKS are kept; none when undefined. */
  readonly cacheFile?: string | undefined;
  /** Longest the last good keys are used after they were fetched. */
  readonly maxAgeMs: number;
  /** Longest a Check waits for a fetch (unknown `kid`, or no keys yet). Default 300 ms. */
  readonly timeoutMs?: number;
  /** Timeout of a background fetch. Default 5000 ms. */
  readonly backgroundTimeoutMs?: number;
  /** Time between two background refreshes after a success. Default 600000 ms (10 min). */
  readonly refreshIntervalMs?: number;
  /** Least time between two fetches a Check triggers. Default 30000 ms. */
  readonly cooldownMs?: number;
  /** Back-off after failed background fetches: first wait, doubled to the cap. Default 500 and 5000 ms. */
  readonly retryMinDelayMs?: number;
  readonly retryMaxDelayMs?: number;
  /**
   * Keys the operator gave in the configuration (`identity.static_jwks_file`): used, with no
   * age limit, whenever no fetched or cached keys are usable. Checked at creation.
   */
  readonly staticJwks?: JSONWebKeySet | undefined;
  /** Outcomes, for logs and metrics. Must not throw. */
  readonly onEvent?: (event: KeySourceEvent) => void;
}

/** What the key source reports. */
export type KeySourceEvent =
  | { readonly type: 'cache-loaded'; readonly fetchedAt: number; readonly file: string }
  | { readonly type: 'cache-ignored'; readonly problem: string }
  | { readonly type: 'cache-write-failed'; readonly error: unknown }
  | { readonly type: 'fetched'; readonly keys: number }
  | {
      readonly type: 'fetch-failed';
      readonly error: unknown;
      readonly failures: number;
      readonly retryInMs: number;
    };

/**
 * Where the keys in use come from: the IdP, the cache file, the configuration's static keys (no
 * usable fetched ones), or nothing: none yet, or the last fetched ones are too old.
 */
export type KeySourceState = 'none' | 'cache' | 'idp' | 'static' | 'expired';

/** The IdP's keys for the bearer verifier. */
export interface IdpKeySource {
  /** The `iss` bearer tokens must carry (the discovery document's), once known. */
  issuer(): string | undefined;
  /** Key lookup for jose's `jwtVerify`. @throws GatehouseError `ERR_JWKS_UNAVAILABLE` when no usable keys. */
  readonly getKey: JWTVerifyGetKey;
  readonly state: KeySourceState;
  /** When the keys in use were fetched (ms since the epoch). */
  readonly fetchedAt: number | undefined;
  /** Read the cache file (at start), then keep its keys fresh from its `jwks_uri`. Never throws. */
  load(): Promise<void>;
  /** Discovery succeeded: use this document's `jwks_uri` from now on and fetch at once. */
  discovered(document: Readonly<Record<string, unknown>>): void;
  /** Stop the timers. */
  close(): void;
}

interface Current {
  readonly jwks: JSONWebKeySet;
  readonly local: ReturnType<typeof createLocalJWKSet>;
  readonly fetchedAt: number;
  readonly from: 'cache' | 'idp';
}

const MAX_JWKS_BYTES = 512 * 1024;

/**
 * Create the key source for one identity provider.
 *
 * @example
 *   const keys = createIdpKeySource({ configuredIssuer: issuer, cacheFile: '/var/lib/gatehouse/idp.json', maxAgeMs: 86_400_000 });
 *   await keys.load();
 *   oidcClient events: on 'discovered' → keys.discovered(client.discoveryDocument()!)
 */
export function createIdpKeySource(options: IdpKeySourceOptions): IdpKeySource {
  const timeoutMs = options.timeoutMs ?? 300;
  const backgroundTimeoutMs = options.backgroundTimeoutMs ?? 5000;
  const refreshIntervalMs = options.refreshIntervalMs ?? 600_000;
  const cooldownMs = options.cooldownMs ?? 30_000;
  const minDelay = options.retryMinDelayMs ?? 500;
  const maxDelay = options.retryMaxDelayMs ?? 5000;

  // Throws JWKSInvalid for a malformed set: the caller names its configuration key.
  const staticKeys =
    options.staticJwks === undefined ? undefined : createLocalJWKSet(options.staticJwks);
  let document: Readonly<Record<string, unknown>> | undefined;
  let current: Current | undefined;
  let inflight: Promise<boolean> | undefined;
  let lastCheckFetch = Number.NEGATIVE_INFINITY;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const emit = (event: KeySourceEvent): void => {
    try {
      options.onEvent?.(event);
    } catch {
      // A listener's failure is not the key source's.
    }
  };

  function usable(now = Date.now()): Current | undefined {
    return current !== undefined && now - current.fetchedAt <= options.maxAgeMs
      ? current
      : undefined;
  }

  /** One fetch of the JWKS; true when new keys are in use. Never throws. */
  function fetchKeys(timeout: number): Promise<boolean> {
    if (inflight !== undefined) return inflight;
    const uri = document?.['jwks_uri'];
    if (typeof uri !== 'string') return Promise.resolve(false);
    const startedAt = Date.now();
    const run = (async () => {
      try {
        const jwks = await download(uri, timeout);
        const local = createLocalJWKSet(jwks);
        const fetchedAt = Date.now();
        current = { jwks, local, fetchedAt, from: 'idp' };
        failures = 0;
        emit({ type: 'fetched', keys: jwks.keys.length });
        schedule(refreshIntervalMs);
        if (options.cacheFile !== undefined && document !== undefined) {
          await writeProviderCache(options.cacheFile, {
            configuredIssuer: options.configuredIssuer,
            discovery: document,
            jwks,
            fetchedAt,
          }).catch((error: unknown) => emit({ type: 'cache-write-failed', error }));
        }
        return true;
      } catch (error) {
        failures += 1;
        // Counted from the attempt's start, like discovery's (a timed-out fetch already waited).
        const retryInMs = schedule(Math.max(0, backoff() - (Date.now() - startedAt)));
        emit({ type: 'fetch-failed', error, failures, retryInMs });
        return false;
      } finally {
        inflight = undefined;
      }
    })();
    inflight = run;
    return run;
  }

  function backoff(): number {
    const base = Math.min(maxDelay, minDelay * 2 ** Math.min(30, Math.max(0, failures - 1)));
    return Math.round(base / 2 + Math.random() * (base / 2));
  }

  function schedule(delay: number): number {
    if (closed) return -1;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      void fetchKeys(backgroundTimeoutMs);
    }, delay);
    timer.unref();
    return delay;
  }

  /** A fetch a Check asked for (unknown kid, no keys): once per cooldown, waited for at most timeoutMs. */
  async function fetchForCheck(): Promise<boolean> {
    let pending = inflight;
    if (pending === undefined) {
      const now = Date.now();
      if (now - lastCheckFetch < cooldownMs) return false;
      lastCheckFetch = now;
      pending = fetchKeys(backgroundTimeoutMs);
    }
    let deadline: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      deadline = setTimeout(() => resolve(false), timeoutMs);
      deadline.unref();
    });
    try {
      return await Promise.race([pending, timedOut]);
    } finally {
      clearTimeout(deadline);
    }
  }

  const getKey: JWTVerifyGetKey = async (header, token) => {
    let keys = usable();
    // No usable fetched keys: the configured ones, at once (no waiting on the IdP), if any.
    if (keys === undefined && staticKeys !== undefined) return staticKeys(header, token);
    if (keys === undefined) {
      await fetchForCheck();
      keys = usable();
      if (keys === undefined) {
        throw new GatehouseError('ERR_JWKS_UNAVAILABLE', {
          cause: new Error(
            current === undefined
              ? 'no identity provider keys yet'
              : 'the last good identity provider keys are older than the maximum age',
          ),
        });
      }
    }
    try {
      return await keys.local(header, token);
    } catch (err) {
      // An unknown kid: the IdP may have rotated its keys. Refetch (rate-limited) and retry once.
      if (!(err instanceof errors.JWKSNoMatchingKey) || !(await fetchForCheck())) throw err;
      const again = usable();
      if (again === undefined) throw err;
      return again.local(header, token);
    }
  };

  return {
    issuer: () =>
      typeof document?.['issuer'] === 'string'
        ? document['issuer']
        : staticKeys === undefined
          ? undefined
          : options.configuredIssuer,
    getKey,
    get state(): KeySourceState {
      if (current !== undefined && usable() !== undefined) return current.from;
      if (staticKeys !== undefined) return 'static';
      return current === undefined ? 'none' : 'expired';
    },
    get fetchedAt(): number | undefined {
      return current?.fetchedAt;
    },
    async load(): Promise<void> {
      if (options.cacheFile === undefined) return;
      const read = await readProviderCache(options.cacheFile, {
        issuer: options.configuredIssuer,
        maxAgeMs: options.maxAgeMs,
      });
      if ('problem' in read) {
        emit({ type: 'cache-ignored', problem: read.problem });
        return;
      }
      let local: ReturnType<typeof createLocalJWKSet>;
      try {
        local = createLocalJWKSet(read.snapshot.jwks);
      } catch (err) {
        emit({
          type: 'cache-ignored',
          problem: `the cached JWKS is not usable: ${err instanceof Error ? err.message : String(err)}`,
        });
        return;
      }
      // Live discovery may have won the race; its document and keys are newer.
      if (document === undefined) document = read.snapshot.discovery;
      if (current === undefined) {
        current = {
          jwks: read.snapshot.jwks,
          local,
          fetchedAt: read.snapshot.fetchedAt,
          from: 'cache',
        };
        emit({ type: 'cache-loaded', fetchedAt: read.snapshot.fetchedAt, file: options.cacheFile });
        // Refresh from the cached jwks_uri now: the IdP may well be up.
        schedule(0);
      }
    },
    discovered(next): void {
      document = next;
      void fetchKeys(backgroundTimeoutMs);
    },
    close(): void {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}

/** GET the JWKS: 200, JSON, a `keys` array, bounded in size; no redirects. */
async function download(uri: string, timeoutMs: number): Promise<JSONWebKeySet> {
  const response = await fetch(uri, {
    headers: { accept: 'application/jwk-set+json, application/json' },
    redirect: 'error',
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`JWKS answered HTTP ${response.status}`);
  if (text.length > MAX_JWKS_BYTES) throw new Error('JWKS larger than 512 KiB');
  const body: unknown = JSON.parse(text);
  if (
    typeof body !== 'object' ||
    body === null ||
    !Array.isArray((body as { keys?: unknown }).keys)
  )
    throw new Error('JWKS has no "keys" array');
  return body as JSONWebKeySet;
}
