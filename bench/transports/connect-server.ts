import * as http2 from 'node:http2';
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type HandlerContext } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { Authorization } from '../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import {
  Health,
  HealthCheckResponseSchema,
  type HealthCheckResponse,
} from '../../src/gen/grpc/health/v1/health_pb.js';
import { HEALTH_SERVICES, ServingStatus, type HealthState } from '../../src/wire/health.js';
import { closeGracefully } from './node-http2/server.js';
import { listen } from '../../src/net/listen.js';
import type { GrpcServer, GrpcServerOptions } from '../../src/wire/types.js';

/**
 * Serve ext_authz v3 Check and grpc.health.v1 on one port with `@connectrpc/connect-node`
 * (gRPC protocol only, HTTP/2 cleartext as Envoy's gRPC client speaks it).
 *
 * @throws Error when the address cannot be bound.
 */
export async function startGrpcServer(options: GrpcServerOptions): Promise<GrpcServer> {
  const { health } = options;
  const handler = connectNodeAdapter({
    grpc: true,
    grpcWeb: false,
    connect: false,
    readMaxBytes: options.maxReceiveMessageBytes,
    writeMaxBytes: options.maxSendMessageBytes,
    routes(router) {
      router.service(Authorization, { check: (request) => options.check(request) });
      router.service(Health, {
        check(request) {
          const status = health.status(request.service);
          if (status === undefined) throw new ConnectError('unknown service', Code.NotFound);
          return { status };
        },
        list() {
          const statuses: Record<string, HealthCheckResponse> = {};
          for (const name of HEALTH_SERVICES) {
            statuses[name] = create(HealthCheckResponseSchema, {
              status: health.status(name) ?? ServingStatus.UNKNOWN,
            });
          }
          return { statuses };
        },
        watch: (request, context) => watch(health, request.service, context),
      });
    },
  });

  const server = http2.createServer(handler);
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  const port = await listen(server, options.port, options.address);

  return {
    port,
    shutdown: (graceMs: number) => closeGracefully(server, () => sessions, graceMs),
  };
}

async function* watch(
  health: HealthState,
  service: string,
  context: HandlerContext,
): AsyncGenerator<HealthCheckResponse> {
  const first = health.status(service);
  yield create(HealthCheckResponseSchema, { status: first ?? ServingStatus.SERVICE_UNKNOWN });
  if (first === undefined) return;
  const queue: ServingStatus[] = [];
  let wake: (() => void) | undefined;
  const stop = health.onChange((status) => {
    queue.push(status);
    wake?.();
  });
  const aborted = new Promise<void>((resolve) =>
    context.signal.addEventListener('abort', () => resolve(), { once: true }),
  );
  try {
    while (!context.signal.aborted) {
      const next = queue.shift();
      if (next !== undefined) {
        yield create(HealthCheckResponseSchema, { status: next });
        continue;
      }
      await Promise.race([new Promise<void>((resolve) => (wake = resolve)), aborted]);
      wake = undefined;
    }
  } finally {
    stop();
  }
}
