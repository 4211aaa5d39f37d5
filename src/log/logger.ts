import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths never written to a log line: tokens, cookies, authorization headers, codes, secrets.
 * Declared once here so every logger (and the redaction test) uses the same list.
 */
export const REDACT_PATHS: readonly string[] = Object.freeze([
  'headers.authorization',
  'headers.cookie',
  'headers["set-cookie"]',
  'headers["proxy-authorization"]',
  'headers["x-gatehouse-jwt-assertion"]',
  '*.token',
  '*.id_token',
  '*.access_token',
  '*.refresh_token',
  '*.client_secret',
]);

/**
 * Create the service logger: pino JSON lines, asynchronous destination so a slow stdout never
 * blocks the Check path.
 *
 * @example
 *   const log = createLogger({ level: 'info' });
 */
export function createLogger(options: { level: string; destination?: DestinationStream }): Logger {
  const destination = options.destination ?? pino.destination({ dest: 1, sync: false, minLength: 4096 });
  return pino(
    {
      level: options.level,
      base: { service: 'gatehouse' },
      redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
