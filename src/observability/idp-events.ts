/**
 * What an operator sees of the identity provider: discovery and key-source events turned into
 * log lines (failures rate-limited), and the last error in words for `/readyz`.
 */
import type { KeySourceEvent } from '../identity/bearer/key-source.js';
import type { Logger } from '../log/logger.js';
import type { OidcClientEvent } from '../oidc/client.js';

/** Options for {@link createIdpEventLog}. */
export interface IdpEventLogOptions {
  /** Least time between two logged failures of one kind (the first always logs). Default 30000 ms. */
  readonly intervalMs?: number;
  readonly now?: () => number;
}

/** Subscribers for the OIDC client's and the key source's events. */
export interface IdpEventLog {
  discovery(event: OidcClientEvent): void;
  keys(event: KeySourceEvent): void;
}

/**
 * Log identity provider events. A failed discovery or JWKS fetch logs at `warn`: the first one
 * after a success at once, then at most one line per `intervalMs` with the number of failures
 * not logged in between (`suppressed`); a recovery logs once at `info`.
 */
export function createIdpEventLog(log: Logger, options: IdpEventLogOptions = {}): IdpEventLog {
  const intervalMs = options.intervalMs ?? 30_000;
  const now = options.now ?? Date.now;
  const limiter = () => {
    let last = Number.NEGATIVE_INFINITY;
    let suppressed = 0;
    return {
      /** Whether to log this failure, and how many were skipped before it. */
      take(): { log: boolean; suppressed: number } {
        const t = now();
        if (t - last < intervalMs) {
          suppressed += 1;
          return { log: false, suppressed };
        }
        const skipped = suppressed;
        last = t;
        suppressed = 0;
        return { log: true, suppressed: skipped };
      },
      reset(): void {
        last = Number.NEGATIVE_INFINITY;
        suppressed = 0;
      },
    };
  };
  const discovery = limiter();
  const fetches = limiter();
  let fetchFailing = false;

  return {
    discovery(event) {
      if (event.type === 'discovered') {
        discovery.reset();
        log.info(
          { issuer: event.metadata.issuer, failures_before: event.failures },
          'identity provider discovered',
        );
        return;
      }
      const { log: write, suppressed } = discovery.take();
      if (!write) return;
      log.warn(
        {
          code: 'ERR_OIDC_UNAVAILABLE',
          error: errorSummary(event.error),
          failures: event.failures,
          suppressed,
          retry_in_ms: event.retryInMs,
        },
        'identity provider discovery failed; retrying',
      );
    },
    keys(event) {
      switch (event.type) {
        case 'cache-loaded':
          log.info(
            { file: event.file, fetched_at: new Date(event.fetchedAt).toISOString() },
            'identity provider keys loaded from the cache file',
          );
          return;
        case 'cache-ignored':
          log.warn({ reason: event.problem }, 'identity provider cache file not used');
          return;
        case 'cache-write-failed':
          log.error(
            { error: errorSummary(event.error) },
            'identity provider cache file could not be written',
          );
          return;
        case 'fetched':
          if (fetchFailing) log.info({ keys: event.keys }, 'identity provider keys fetched again');
          fetchFailing = false;
          fetches.reset();
          return;
        case 'fetch-failed': {
          fetchFailing = true;
          const { log: write, suppressed } = fetches.take();
          if (!write) return;
          log.warn(
            {
              code: 'ERR_JWKS_UNAVAILABLE',
              error: errorSummary(event.error),
              failures: event.failures,
              suppressed,
              retry_in_ms: event.retryInMs,
            },
            'identity provider keys could not be fetched; the last good keys stay in use up to identity.keys_max_age_seconds',
          );
        }
      }
    },
  };
}

/**
 * An error and its causes in one line, for logs and `/readyz`: messages joined with `: `, at
 * most three deep and 300 characters. Errors here come from discovery and JWKS requests (URLs,
 * network codes); they carry no credentials.
 */
export function errorSummary(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 3 && current !== undefined && current !== null; depth++) {
    if (current instanceof Error) {
      const code = (current as NodeJS.ErrnoException).code;
      const text = `${current.message}${typeof code === 'string' && !current.message.includes(code) ? ` (${code})` : ''}`;
      if (text !== '' && !parts.includes(text)) parts.push(text);
      current = current.cause;
    } else {
      parts.push(String(current));
      break;
    }
  }
  const line = parts.join(': ').replace(/\s+/g, ' ');
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
}
