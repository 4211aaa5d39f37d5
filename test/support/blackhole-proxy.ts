/**
 * A TCP proxy on loopback that can drop a connection silently: after `silence()`, the
 * connections open at that moment stay open at both ends but nothing passes either way (no FIN,
 * no RST), as when a NAT or load balancer forgets a flow or a network path starts dropping
 * packets. Connections made afterwards pass normally.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface BlackholeProxy {
  readonly port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** From now on, nothing passes on the connections open now; they are never closed. */
  silence(): void;
  close(): Promise<void>;
}

/** Start a proxy on a free loopback port forwarding to 127.0.0.1:`targetPort`. */
export async function startBlackholeProxy(targetPort: number): Promise<BlackholeProxy> {
  const sockets = new Set<Socket>();
  const silencers = new Set<() => void>();
  let connections = 0;
  const server: Server = createServer((client) => {
    connections += 1;
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    sockets.add(client);
    sockets.add(upstream);
    let silent = false;
    client.on('data', (chunk: Buffer) => {
      if (!silent) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!silent) client.write(chunk);
    });
    const silence = () => {
      silent = true;
    };
    silencers.add(silence);
    const end = () => {
      silencers.delete(silence);
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const s of [client, upstream]) {
      s.on('error', end);
      // A silenced connection hides its end too: the other side never learns of it.
      s.on('close', () => {
        if (!silent) end();
      });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    get connections() {
      return connections;
    },
    silence() {
      for (const silence of silencers) silence();
      silencers.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
