/**
 * "What a real Envoy then does": one real Envoy whose ext_authz server is a replay server that
 * answers each Check with a response recorded from the plugin or from Gatehouse (chosen by the
 * request's `x-conformance-replay` header), in front of a recording upstream. The same HTTP
 * request is sent once per system; the client's and the upstream's view are compared.
 */
import * as grpc from '@grpc/grpc-js';
import { request as httpRequest } from 'node:http';
import type {
  CheckRequest,
  CheckResponse,
} from '../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import { startEnvoy, type RunningEnvoy } from '../support/envoy.js';
import { AUTHORIZATION } from '../support/grpc-definitions.js';
import { repoPath } from '../support/paths.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import type { Observed } from './compare.js';

const REPLAY = 'x-conformance-replay';

/** Response headers that differ per request whatever the system. */
const VOLATILE = new Set(['date', 'x-envoy-upstream-service-time', 'content-length', 'server']);
/** Upstream request headers Envoy or the client set per request. */
const UPSTREAM_VOLATILE = new Set([
  REPLAY,
  'x-request-id',
  'x-forwarded-proto',
  'x-envoy-expected-rq-timeout-ms',
  'content-length',
  'host',
  'connection',
]);
/** Request headers a client cannot send as such. */
const NOT_SENDABLE = new Set([
  'host',
  'content-length',
  'connection',
  'transfer-encoding',
  'keep-alive',
  'upgrade',
  'te',
  'x-request-id',
  'expect',
]);

export interface EnvoyStage {
  /** Send the case's request through Envoy with `answer` as the Check response; what was seen. */
  observe(key: string, request: CheckRequest, answer: CheckResponse | Error): Promise<Observed>;
  stop(): Promise<void>;
}

export async function startEnvoyStage(): Promise<EnvoyStage> {
  const answers = new Map<string, CheckResponse | Error>();
  const server = new grpc.Server();
  server.addService(AUTHORIZATION as unknown as grpc.ServiceDefinition, {
    Check(
      call: grpc.ServerUnaryCall<CheckRequest, CheckResponse>,
      callback: grpc.sendUnaryData<CheckResponse>,
    ) {
      const key = call.request.attributes?.request?.http?.headers[REPLAY] ?? '';
      const answer = answers.get(key);
      if (answer === undefined)
        callback({ code: grpc.status.NOT_FOUND, details: `no answer for ${key}` });
      else if (answer instanceof Error)
        callback({ code: grpc.status.UNKNOWN, details: answer.message });
      else callback(null, answer);
    },
  });
  const grpcPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve(port),
    ),
  );
  let upstream: Upstream | undefined;
  let envoy: RunningEnvoy | undefined;
  try {
    upstream = await startUpstream();
    envoy = await startEnvoy({
      config: repoPath('test', 'conformance', 'envoy.yaml'),
      gatehousePort: grpcPort,
      upstreams: { app: upstream.port },
    });
  } catch (err) {
    await upstream?.close();
    server.forceShutdown();
    throw err;
  }
  const app = upstream;
  const proxy = envoy;
  return {
    async observe(key, request, answer) {
      answers.set(key, answer);
      const http = request.attributes?.request?.http;
      const method = http?.method || 'GET';
      const path =
        http?.path.startsWith('/') === true && !/[\s\0-\x1f]/.test(http.path) ? http.path : '/';
      const headers: Record<string, string> = { [REPLAY]: key };
      for (const [name, value] of Object.entries(http?.headers ?? {})) {
        if (name.startsWith(':') || NOT_SENDABLE.has(name) || /[\0\r\n]/.test(value)) continue;
        headers[name] = value;
      }
      const body =
        http?.body !== undefined && http.body !== '' && method !== 'GET' ? http.body : undefined;
      const res = await new Promise<{ status: number; raw: string[]; body: string }>(
        (resolve, reject) => {
          const req = httpRequest(
            { host: '127.0.0.1', port: proxy.port, method, path, headers, agent: false },
            (r) => {
              const chunks: Buffer[] = [];
              r.on('data', (c: Buffer) => chunks.push(c));
              r.on('end', () =>
                resolve({
                  status: r.statusCode ?? 0,
                  raw: r.rawHeaders,
                  body: Buffer.concat(chunks).toString('utf8'),
                }),
              );
              r.on('error', reject);
            },
          );
          req.on('error', reject);
          req.end(body);
        },
      );
      answers.delete(key);
      const pairs = (raw: readonly string[], skip: ReadonlySet<string>): string[] => {
        const out: string[] = [];
        for (let i = 0; i + 1 < raw.length; i += 2) {
          const name = (raw[i] as string).toLowerCase();
          if (!skip.has(name)) out.push(`${name}: ${raw[i + 1] as string}`);
        }
        return out.sort();
      };
      // Cases run concurrently: the upstream's request is found by its replay key.
      const seen = app.requests.find((r) => r.headers[REPLAY] === key);
      return {
        status: res.status,
        headers: pairs(res.raw, VOLATILE),
        // An allowed request's body echoes per-request ids; what reached the upstream is compared instead.
        body: seen === undefined ? res.body : '',
        upstream:
          seen === undefined
            ? undefined
            : { url: seen.url, headers: pairs(seen.rawHeaders, UPSTREAM_VOLATILE) },
      };
    },
    async stop() {
      await proxy.stop();
      await app.close();
      server.forceShutdown();
    },
  };
}
