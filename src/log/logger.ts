import { pino, type DestinationStream, type Logger } from 'pino';
import { LineBatcher } from './line-batcher.js';

export type { Logger } from 'pino';

/** Header names whose values are credentials: never written, wherever headers appear. */
const SECRET_HEADERS = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-gatehouse-jwt-assertion',
] as const;

/** Where the policy input keeps the request headers (decision lines carry the input at debug). */
const INPUT_HEADERS = 'input.attributes.request.http.headers';

/**
 * Paths never written to a log line: tokens, cookies, authorization headers, codes, secrets.
 * Declared once here so every logger (and the redaction test) uses the same list.
 *
 * - `headers.*` covers any line that logs a header map directly;
 * - `input.*` covers the policy input written on decision lines at debug level: its headers,
 *   every query value (codes, states, tokens travel there), the raw path and `:path` (their
 *   query values are masked, see {@link redactQueryValues}), and the body in all its forms
 *   (form posts carry passwords);
 * - `*.token`, `*.id_token`, … cover detail objects handed to the log by the OIDC code.
 */
export const REDACT_PATHS: readonly string[] = Object.freeze([
  ...SECRET_HEADERS.map((h) => `headers["${h}"]`),
  ...SECRET_HEADERS.map((h) => `${INPUT_HEADERS}["${h}"]`),
  `${INPUT_HEADERS}[":path"]`,
  'input.attributes.request.http.path',
  'input.attributes.request.http.query',
  'input.attributes.request.http.body',
  'input.attributes.request.http.rawBody',
  'input.parsed_body',
  'input.parsed_query.*',
  '*.token',
  '*.id_token',
  '*.access_token',
  '*.refresh_token',
  '*.client_secret',
  '*.secret',
]);

/**
 * Query parameters whose values are credentials or one-time codes (OAuth `code` and `state`,
 * tokens, Gatehouse's own hand-off `request`/`handoff`). Masked even when a decision log is
 * configured to keep query strings.
 */
export const SECRET_QUERY_PARAMS: ReadonlySet<string> = new Set([
  'code',
  'state',
  'token',
  'access_token',
  'id_token',
  'refresh_token',
  'client_secret',
  'password',
  'handoff',
  'request',
  'id_token_hint',
  'session_state',
  'api_key',
  'apikey',
  'key',
  'sig',
  'signature',
]);

const CENSOR = '[redacted]';

/**
 * A path with every query value replaced by `[redacted]` (names kept, so a reader still sees
 * which parameters were sent), or only the values of {@link SECRET_QUERY_PARAMS} when
 * `onlySecrets` is true.
 *
 * @example redactQueryValues('/cb?code=abc&x=1') // → '/cb?code=[redacted]&x=[redacted]'
 */
export function redactQueryValues(path: string, onlySecrets = false): string {
  const q = path.indexOf('?');
  if (q < 0) return path;
  const parts = path
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 0) return pair;
      const name = pair.slice(0, eq);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name.replace(/\+/g, ' '));
      } catch {
        // A malformed name is masked like a secret one.
        return `${name}=${CENSOR}`;
      }
      return !onlySecrets || SECRET_QUERY_PARAMS.has(decoded.toLowerCase())
        ? `${name}=${CENSOR}`
        : pair;
    });
  return `${path.slice(0, q)}?${parts.join('&')}`;
}

/** Paths are kept, their query values masked; everything else declared is replaced whole. */
function censor(value: unknown, path: string[]): unknown {
  const last = path[path.length - 1];
  if ((last === 'path' || last === ':path') && typeof value === 'string')
    return redactQueryValues(value);
  return CENSOR;
}

/**
 * Standard output for log lines, written asynchronously: pino's SonicBoom, which starts a write
 * once `minLength` bytes wait (and at least every second), each write at most `maxWrite` bytes;
 * lines reach it in batches, one per turn of the event loop (src/log/line-batcher.ts), so that
 * each batch is built once rather than copied again with every line.
 */
export function stdoutDestination(options: {
  readonly minLength: number;
  readonly maxWrite: number;
  /** Another file descriptor than stdout's (the benchmark's driver writes to /dev/null). */
  readonly fd?: number;
}): DestinationStream {
  const stream = pino.destination({
    dest: options.fd ?? 1,
    sync: false,
    minLength: options.minLength,
    maxWrite: options.maxWrite,
    periodicFlush: 1000,
  });
  return new LineBatcher(stream, options.maxWrite);
}

/**
 * Create the service logger: pino JSON lines, asynchronous destination so a slow stdout never
 * blocks the Check path (batched, and flushed at least every second).
 *
 * @example
 *   const log = createLogger({ level: 'info' });
 */
export function createLogger(options: { level: string; destination?: DestinationStream }): Logger {
  const destination =
    options.destination ?? stdoutDestination({ minLength: 4096, maxWrite: 16_384 });
  return pino(
    {
      level: options.level,
      base: { service: 'gatehouse' },
      redact: { paths: [...REDACT_PATHS], censor },
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
