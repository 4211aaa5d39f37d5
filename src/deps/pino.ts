/**
 * The one place that reaches into `pino` beyond its documented API: the decision log writes
 * its plain lines itself (src/log/decision-log.ts), so it needs the logger's destination stream
 * and its serialised bindings, which pino keeps behind the symbols of `pino.symbols`.
 *
 * Those symbols and what they hold are internals, so this module refuses to load with any
 * pino version but {@link PINO_VERSION} (a test pins the installed and locked versions to it).
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { requireVersion } from './version-guard.js';

/** The pino version this adapter was written and tested for. */
export const PINO_VERSION = '10.4.0';

requireVersion('pino', PINO_VERSION, 'src/deps/pino.ts');

function internal(log: Logger, symbol: symbol): unknown {
  return (log as unknown as Record<symbol, unknown>)[symbol];
}

/**
 * The stream `log` writes its lines to (its destination).
 *
 * @throws GatehouseError `ERR_INTERNAL` when the logger has none (not a pino logger).
 */
export function loggerDestination(log: Logger): DestinationStream {
  const stream = internal(log, pino.symbols.streamSym);
  if (
    typeof stream !== 'object' ||
    stream === null ||
    typeof (stream as { write?: unknown }).write !== 'function'
  ) {
    throw new GatehouseError('ERR_INTERNAL', {
      message: 'the logger has no pino destination stream',
    });
  }
  return stream as DestinationStream;
}

/**
 * `log`'s bindings serialised as pino writes them after the time: `,"service":"gatehouse",…`
 * (with the leading comma), or `''` when it has none.
 */
export function loggerBindingsJson(log: Logger): string {
  const chindings = internal(log, pino.symbols.chindingsSym);
  return typeof chindings === 'string' ? chindings : '';
}
