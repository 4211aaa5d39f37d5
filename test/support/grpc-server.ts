/**
 * The wire-level tests' gRPC listener: Gatehouse's own (src/wire/http2/server.ts) on a loopback
 * port, its health SERVING, 4 MiB message limits unless the test sets others.
 */
import { HealthState, ServingStatus } from '../../src/wire/health.js';
import { startGrpcServer } from '../../src/wire/http2/server.js';
import type { GrpcServer, GrpcServerOptions } from '../../src/wire/types.js';

export type ServingGrpcOptions = Pick<GrpcServerOptions, 'check'> &
  Partial<Omit<GrpcServerOptions, 'check'>>;

export function startServingGrpc(options: ServingGrpcOptions): Promise<GrpcServer> {
  const health = new HealthState();
  health.set(ServingStatus.SERVING);
  return startGrpcServer({
    address: '127.0.0.1',
    port: 0,
    maxReceiveMessageBytes: 4 << 20,
    maxSendMessageBytes: 4 << 20,
    health,
    ...options,
  });
}
