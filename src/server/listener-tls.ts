import type { TlsConfig } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import { loadTls, type TlsSource } from '../tls/reload.js';

/**
 * A listener's TLS from its config section, with reloads logged: `tls reloaded` (info) when
 * rotated files were installed, `tls reload refused` (error, with the code) when they could not
 * be used and the running certificate stays. Undefined without a section (cleartext).
 *
 * @throws GatehouseError `ERR_CONFIG_INVALID` naming the key when the files cannot be used at start.
 */
export function listenerTls(
  config: TlsConfig | undefined,
  key: string,
  log: Logger,
): TlsSource | undefined {
  if (config === undefined) return undefined;
  return loadTls(config, key, (event) => {
    if (event.type === 'tls-reloaded') log.info({ key: event.key }, 'tls reloaded');
    else
      log.error(
        { key: event.key, code: event.error.code, err: event.error },
        'tls reload refused; the running certificate stays',
      );
  });
}
