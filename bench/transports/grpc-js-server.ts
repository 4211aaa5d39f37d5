import * as grpc from '@grpc/grpc-js';
import { create } from '@bufbuild/protobuf';
import type {
  CheckRequest,
  CheckResponse,
} from '../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import {
  HealthCheckResponseSchema,
  HealthListResponseSchema,
  type HealthCheckRequest,
  type HealthCheckResponse,
  type HealthListResponse,
} from '../../src/gen/grpc/health/v1/health_pb.js';
import { HEALTH_SERVICES, ServingStatus, type HealthState } from '../../src/wire/health.js';
import type { GrpcServer, GrpcServerOptions } from '../../src/wire/types.js';
import { AUTHORIZATION, HEALTH } from '../../test/support/grpc-definitions.js';

/**
 * Serve ext_authz v3 Check and grpc.health.v1 on one port with `@grpc/grpc-js`.
 *
 * @throws Error when the address cannot be bound.
 */
export async function startGrpcServer(options: GrpcServerOptions): Promise<GrpcServer> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': options.maxReceiveMessageBytes,
    'grpc.max_send_message_length': options.maxSendMessageBytes,
  });
  const inflight = new Set<Promise<unknown>>();

  server.addService(AUTHORIZATION, {
    Check(
      call: grpc.ServerUnaryCall<CheckRequest, CheckResponse>,
      callback: grpc.sendUnaryData<CheckResponse>,
    ) {
      const done = options.check(call.request).then(
        (response) => callback(null, response),
        // check() never rejects; this is the last guard, and it still denies.
        () => callback({ code: grpc.status.INTERNAL, details: 'internal error' }),
      );
      inflight.add(done);
      void done.finally(() => inflight.delete(done));
    },
  });
  const watchers = new Set<grpc.ServerWritableStream<HealthCheckRequest, HealthCheckResponse>>();
  server.addService(HEALTH, healthHandlers(options.health, watchers));

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(
      `${hostPort(options.address, options.port)}`,
      grpc.ServerCredentials.createInsecure(),
      (err, bound) => (err ? reject(err) : resolve(bound)),
    );
  });

  return {
    port,
    async shutdown(graceMs: number): Promise<void> {
      // Health Watch streams never end on their own; they have seen NOT_SERVING by now, so end
      // them, or tryShutdown would wait for them for the whole grace period.
      for (const call of watchers) call.end();
      watchers.clear();
      // Stop accepting, let in-flight Checks finish, then force-close what is left.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        timer.unref();
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      await Promise.allSettled([...inflight]);
    },
  };
}

function healthHandlers(
  health: HealthState,
  watchers: Set<grpc.ServerWritableStream<HealthCheckRequest, HealthCheckResponse>>,
): grpc.UntypedServiceImplementation {
  return {
    Check(
      call: grpc.ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>,
      callback: grpc.sendUnaryData<HealthCheckResponse>,
    ) {
      const status = health.status(call.request.service);
      if (status === undefined) {
        callback({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
        return;
      }
      callback(null, create(HealthCheckResponseSchema, { status }));
    },
    List(
      _call: grpc.ServerUnaryCall<unknown, HealthListResponse>,
      callback: grpc.sendUnaryData<HealthListResponse>,
    ) {
      const statuses: Record<string, HealthCheckResponse> = {};
      for (const name of HEALTH_SERVICES) {
        statuses[name] = create(HealthCheckResponseSchema, {
          status: health.status(name) ?? ServingStatus.UNKNOWN,
        });
      }
      callback(null, create(HealthListResponseSchema, { statuses }));
    },
    Watch(call: grpc.ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) {
      const service = call.request.service;
      const send = (status: ServingStatus | undefined) =>
        call.write(
          create(HealthCheckResponseSchema, { status: status ?? ServingStatus.SERVICE_UNKNOWN }),
        );
      send(health.status(service));
      if (health.status(service) === undefined) return;
      watchers.add(call);
      const unsubscribe = health.onChange(() => send(health.status(service)));
      const stop = () => {
        unsubscribe();
        watchers.delete(call);
      };
      call.on('cancelled', stop);
      call.on('close', stop);
      call.on('error', stop);
    },
  };
}

function hostPort(address: string, port: number): string {
  return address.includes(':') && !address.startsWith('[')
    ? `[${address}]:${port}`
    : `${address}:${port}`;
}
