import { GatehouseError } from '../../errors/gatehouse-error.js';

/**
 * Check a symmetric key handed in by the caller: exactly 32 bytes (A256GCM with `dir`).
 *
 * @throws GatehouseError `ERR_CONFIG_INVALID` naming `what` (a caller's mistake, found at start).
 */
export function assertKey(key: Uint8Array, what: string): Uint8Array {
  if (!(key instanceof Uint8Array) || key.byteLength !== 32) {
    throw new GatehouseError('ERR_CONFIG_INVALID', {
      message: `${what}: must be exactly 32 bytes`,
    });
  }
  return key;
}

/** Epoch seconds of `now`. */
export function epochSeconds(now: Date): number {
  return Math.floor(now.getTime() / 1000);
}
