import * as grpc from '@grpc/grpc-js';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import {
  CheckRequestSchema,
  type CheckResponse,
} from '../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import {
  HealthCheckRequestSchema,
  type HealthCheckResponse,
} from '../../src/gen/grpc/health/v1/health_pb.js';
import { AUTHORIZATION, HEALTH } from './grpc-definitions.js';

/** A real gRPC client over a real socket, for integration tests. */
export interface TestClient {
  check(request: MessageInitShape<typeof CheckRequestSchema>): Promise<CheckResponse>;
  health(service?: string): Promise<HealthCheckResponse>;
  /** Opens a Watch stream; statuses arrive in `seen`. */
  watch(service?: string): { seen: number[]; cancel(): void; next(): Promise<number> };
  close(): void;
}

const AuthorizationClient = grpc.makeGenericClientConstructor(AUTHORIZATION, 'Authorization');
const HealthClient = grpc.makeGenericClientConstructor(HEALTH, 'Health');

/** Connect to a Gatehouse gRPC port on loopback. */
export function connect(port: number): TestClient {
  const target = `127.0.0.1:${port}`;
  const creds = grpc.credentials.createInsecure();
  const authz = new AuthorizationClient(target, creds);
  const health = new HealthClient(target, creds);
  const unary = <T>(client: grpc.Client, name: string, message: unknown): Promise<T> =>
    new Promise((resolve, reject) => {
      (
        client as unknown as Record<
          string,
          (m: unknown, cb: (e: grpc.ServiceError | null, r: T) => void) => void
        >
      )[name]!(message, (err, res) => (err ? reject(err) : resolve(res)));
    });
  return {
    check: (request) => unary<CheckResponse>(authz, 'Check', create(CheckRequestSchema, request)),
    health: (service = '') =>
      unary<HealthCheckResponse>(health, 'Check', create(HealthCheckRequestSchema, { service })),
    watch(service = '') {
      const seen: number[] = [];
      const waiters: ((s: number) => void)[] = [];
      const call = (
        health as unknown as { Watch(m: unknown): grpc.ClientReadableStream<HealthCheckResponse> }
      ).Watch(create(HealthCheckRequestSchema, { service }));
      call.on('data', (m: HealthCheckResponse) => {
        seen.push(m.status);
        waiters.shift()?.(m.status);
      });
      call.on('error', () => undefined);
      let read = 0;
      return {
        seen,
        cancel: () => call.cancel(),
        next: () =>
          new Promise<number>((resolve) => {
            if (read < seen.length) resolve(seen[read++]!);
            else
              waiters.push((s) => {
                read++;
                resolve(s);
              });
          }),
      };
    },
    close() {
      authz.close();
      health.close();
    },
  };
}

/** A CheckRequest for `method path` on `host`, with optional headers, body and route. */
export function httpRequest(options: {
  method?: string;
  path: string;
  host?: string;
  headers?: Record<string, string>;
  body?: string;
  contextExtensions?: Record<string, string>;
}): MessageInitShape<typeof CheckRequestSchema> {
  const method = options.method ?? 'GET';
  const host = options.host ?? 'app.example.com';
  return {
    attributes: {
      source: {
        address: {
          address: {
            case: 'socketAddress',
            value: { address: '10.0.0.7', portSpecifier: { case: 'portValue', value: 50000 } },
          },
        },
      },
      request: {
        http: {
          id: '1',
          method,
          path: options.path,
          host,
          scheme: 'https',
          protocol: 'HTTP/1.1',
          headers: {
            ':authority': host,
            ':method': method,
            ':path': options.path,
            'x-request-id': 'req-1',
            ...options.headers,
          },
          body: options.body ?? '',
          size: BigInt(Buffer.byteLength(options.body ?? '')),
        },
      },
      contextExtensions: options.contextExtensions ?? {},
    },
  };
}
