/**
 * What identity configuration means, written once for the workers and the cluster primary: when
 * sign-in is on, and Gatehouse's signing keys as configured.
 */
import type { Config } from '../config/types.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import type { KeyRing } from '../keys/key-ring.js';
import { loadSigningKeys } from '../keys/load.js';
import type { Logger } from '../log/logger.js';

/** The `identity` section when sign-in is configured (an issuer and a client id), else undefined. */
export function configuredIdentity(
  config: Config,
): (NonNullable<Config['identity']> & { issuer: string; client_id: string }) | undefined {
  const identity = config.identity;
  if (identity === undefined || identity.issuer === undefined || identity.client_id === undefined)
    return undefined;
  return { ...identity, issuer: identity.issuer, client_id: identity.client_id };
}

/**
 * Gatehouse's signing keys from `keys.signing` (generated in development mode).
 *
 * @throws GatehouseError `ERR_KEYS_INVALID` (or the loader's code) naming `keys.signing`.
 */
export async function loadConfiguredSigningKeys(config: Config, log: Logger): Promise<KeyRing> {
  return loadSigningKeys({
    files: config.keys.signing,
    development: config.development,
    log: (m) => log.info(m),
  }).catch((err: unknown) => {
    const error = GatehouseError.from(err, 'ERR_KEYS_INVALID');
    throw new GatehouseError(error.code, { message: `keys.signing: ${error.message}`, cause: err });
  });
}
