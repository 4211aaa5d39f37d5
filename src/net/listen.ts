import type { Server } from 'node:net';

/**
 * Bind `server` to `address`:`port` and resolve with the port it got (useful when 0 was asked for).
 *
 * Once bound, errors the server still emits (an accept() that fails, e.g. EMFILE when file
 * descriptors run out) go to `onError`: that connection is not accepted, the client (Envoy)
 * retries or denies, and the process keeps serving the others instead of crashing.
 *
 * @throws Error (rejects) when the address cannot be bound, e.g. EADDRINUSE.
 */
export function listen(
  server: Server,
  port: number,
  address: string,
  onError: (err: Error) => void = () => undefined,
): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      server.on('error', onError);
      const bound = server.address();
      resolve(typeof bound === 'object' && bound !== null ? bound.port : port);
    });
  });
}
