/**
 * A listener's TLS material, read from files: certificate chain, private key and, for mTLS, the
 * CA that client certificates must chain to.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { GatehouseError } from '../errors/gatehouse-error.js';

/** Where a listener's TLS files are (config `grpc.tls` / `http.tls`). */
export interface TlsFiles {
  readonly cert_file: string;
  readonly key_file: string;
  /** When set, clients must present a certificate that chains to this CA (mTLS). */
  readonly client_ca_file?: string;
  /** With `client_ca_file`: the client identities accepted (empty: any certificate from the CA). */
  readonly allowed_clients: readonly string[];
}

/**
 * Read the files and check that they make a usable context (the key matches the certificate, the
 * PEM parses), so a half-written rotation is refused instead of installed.
 *
 * @throws GatehouseError `ERR_CONFIG_INVALID` naming the file that could not be read or used.
 */
export function readTlsFiles(files: TlsFiles, key: string): SecureContextOptions {
  const read = (path: string, name: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new GatehouseError('ERR_CONFIG_INVALID', {
        message: `${key}.${name}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
        cause: err,
      });
    }
  };
  const options: SecureContextOptions = {
    cert: read(files.cert_file, 'cert_file'),
    key: read(files.key_file, 'key_file'),
    ...(files.client_ca_file === undefined
      ? {}
      : { ca: read(files.client_ca_file, 'client_ca_file') }),
    minVersion: 'TLSv1.2',
  };
  try {
    createSecureContext(options);
  } catch (err) {
    throw new GatehouseError('ERR_CONFIG_INVALID', {
      message: `${key}: the certificate, key or CA cannot be used: ${err instanceof Error ? err.message : String(err)}`,
      cause: err,
    });
  }
  return options;
}
