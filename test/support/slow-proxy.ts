/**
 * A TCP proxy on loopback that delays everything the client sends by `delayMs` (changeable at
 * any time), to make a real server slow without touching it: put it in front of the demo IdP
 * (`startIdp({ issuerPort: proxy.port })`) and every discovery, token and JWKS request waits.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface SlowProxy {
  readonly port: number;
  /** Delay applied to each chunk the client sends, in order. */
  delayMs: number;
  /** Connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

/** Start a proxy on 127.0.0.1:`port` (0: any free port) forwarding to 127.0.0.1:`targetPort`. */
export async function startSlowProxy(options: {
  readonly port?: number;
  readonly targetPort: () => number;
}): Promise<SlowProxy> {
  const sockets = new Set<Socket>();
  let delayMs = 0;
  let connections = 0;
  const server: Server = createServer((client) => {
    connections += 1;
    const upstream = createConnection({ host: '127.0.0.1', port: options.targetPort() });
    sockets.add(client);
    sockets.add(upstream);
    let queue: Promise<void> = Promise.resolve();
    client.on('data', (chunk: Buffer) => {
      const delay = delayMs;
      // One chain per connection: chunks keep their order whatever the delay does meanwhile.
      queue = queue.then(async () => {
        if (delay > 0) await sleep(delay);
        if (!upstream.destroyed) upstream.write(chunk);
      });
    });
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    get delayMs() {
      return delayMs;
    },
    set delayMs(value: number) {
      delayMs = value;
    },
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
