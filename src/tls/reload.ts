/**
 * A listener's TLS, kept current: the files are watched (src/files/watch.ts: renames, symlink
 * swaps as in Kubernetes Secret volumes, re-created folders) and a change installs a new secure
 * context with `setSecureContext`. Connections already open keep the context they were made
 * with; new ones get the new certificate. A rotation that cannot be used (half-written files, a
 * key that does not match) is refused and the running context stays.
 */
import type { Server as TlsServer } from 'node:tls';
import type { SecureContextOptions, TLSSocket } from 'node:tls';
import { watchFiles, type FileWatcher } from '../files/watch.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { readTlsFiles, type TlsFiles } from './files.js';
import { peerAllowed } from './peer.js';

/** What the reloader did, for logs. */
export type TlsEvent =
  | { readonly type: 'tls-reloaded'; readonly key: string }
  | { readonly type: 'tls-reload-failed'; readonly key: string; readonly error: GatehouseError };

/** The TLS of one listener. */
export interface TlsSource {
  /** Options for `createSecureServer`/`https.createServer` (the current files, plus mTLS settings). */
  serverOptions(): SecureContextOptions & {
    readonly requestCert: boolean;
    readonly rejectUnauthorized: boolean;
  };
  /** Whether a connected client's certificate carries an allowed identity (always true without a list). */
  admits(socket: TLSSocket): boolean;
  /** Watch the files and install changes into `server`. */
  attach(server: TlsServer): void;
  close(): void;
}

/**
 * Load a listener's TLS files now and return the source that keeps them current.
 *
 * @param key the config key (`grpc.tls`, `http.tls`) that errors and events name.
 * @throws GatehouseError `ERR_CONFIG_INVALID` when the files cannot be read or used at start.
 */
export function loadTls(
  files: TlsFiles,
  key: string,
  onEvent: (event: TlsEvent) => void = () => undefined,
): TlsSource {
  const mtls = files.client_ca_file !== undefined;
  let current = readTlsFiles(files, key);
  let watcher: FileWatcher | undefined;
  const serverOptions = () => ({ ...current, requestCert: mtls, rejectUnauthorized: mtls });
  return {
    serverOptions,
    admits: (socket) => !mtls || peerAllowed(socket.getPeerCertificate(), files.allowed_clients),
    attach(server) {
      watcher?.close();
      const paths = [
        files.cert_file,
        files.key_file,
        ...(files.client_ca_file === undefined ? [] : [files.client_ca_file]),
      ];
      watcher = watchFiles({
        paths,
        // Certificate and key are usually written one after the other: let both land.
        debounceMs: 500,
        onChange: () => {
          try {
            current = readTlsFiles(files, key);
            server.setSecureContext(serverOptions());
            onEvent({ type: 'tls-reloaded', key });
          } catch (err) {
            onEvent({
              type: 'tls-reload-failed',
              key,
              error: GatehouseError.from(err, 'ERR_CONFIG_INVALID'),
            });
          }
        },
      });
    },
    close() {
      watcher?.close();
      watcher = undefined;
    },
  };
}
