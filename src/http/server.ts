import * as http from 'node:http';
import * as https from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { TlsSource } from '../tls/reload.js';
import type { ReadinessReport } from '../health/readiness.js';
import { listen } from '../net/listen.js';
import { PATHS } from '../pages/pages.js';
import { JWKS_HEADERS } from '../pages/reply.js';

/**
 * Where `/metrics` comes from: a prom-client Registry, or (a cluster primary) anything that
 * renders the Prometheus text on demand, e.g. the workers' registries aggregated.
 */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

/** Readiness as `/readyz` reports it; a cluster primary adds how many workers are ready. */
export type HttpReadiness = ReadinessReport & {
  readonly workers?: { readonly total: number; readonly ready: number };
};

export interface HttpListenerOptions {
  readonly address: string;
  readonly port: number;
  /** Readiness now: a policy is loaded, the IdP discovered (when configured), not draining. */
  readonly readiness: () => HttpReadiness;
  /** Served at `/metrics` in the Prometheus text format. */
  readonly metrics?: MetricsSource | undefined;
  /** Gatehouse's public keys, served at `/.well-known/gatehouse/jwks.json` when identity is on. */
  readonly jwks?: { readonly keys: readonly object[] } | undefined;
  /** Serve HTTPS (with client certificates when it has a client CA) instead of HTTP. */
  readonly tls?: TlsSource | undefined;
}

/** A running HTTP listener. */
export interface HttpListener {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The operator's HTTP listener: `GET /healthz` (alive), `GET /readyz` (ready to answer
 * Checks: a policy is loaded, the identity provider discovered when sign-in is configured,
 * and Gatehouse is not draining), `GET /metrics` (Prometheus) and
 * `GET /.well-known/gatehouse/jwks.json` (the keys upstreams verify assertions with, also
 * answered through Envoy). Everything else is 404.
 * Bind it to loopback or a private interface; it is not meant for Envoy's public listener
 * (`/metrics` and `/readyz` are not reserved paths: through Envoy they are ordinary requests
 * the policy decides on, and Gatehouse never answers them there).
 */
export async function startHttpListener(options: HttpListenerOptions): Promise<HttpListener> {
  const tls = options.tls;
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (tls !== undefined && !tls.admits(req.socket as TLSSocket)) {
      // The certificate chains to the CA but names no allowed client.
      send(res, 403, { error: 'client certificate not allowed' }, { connection: 'close' });
      return;
    }
    const path = (req.url ?? '/').split('?', 1)[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, { error: 'method not allowed' }, { allow: 'GET, HEAD' });
      return;
    }
    switch (path) {
      case '/healthz':
        send(res, 200, { status: 'alive' });
        return;
      case PATHS.jwks:
        if (options.jwks === undefined) send(res, 404, { error: 'not found' });
        else send(res, 200, options.jwks, Object.fromEntries(JWKS_HEADERS));
        return;
      case '/readyz': {
        const report = options.readiness();
        send(res, report.ready ? 200 : 503, {
          status: report.ready ? 'ready' : 'not ready',
          policy: report.policy,
          identity_provider: report.identity_provider,
          ...(report.identity_provider_error === undefined
            ? {}
            : { identity_provider_error: report.identity_provider_error }),
          ...(report.identity_keys_fetched_at === undefined
            ? {}
            : { identity_keys_fetched_at: report.identity_keys_fetched_at }),
          ...(report.session_store === undefined ? {} : { session_store: report.session_store }),
          draining: report.draining,
          ...(report.workers === undefined ? {} : { workers: report.workers }),
        });
        return;
      }
      case '/metrics': {
        const registry = options.metrics;
        if (registry === undefined) {
          send(res, 404, { error: 'not found' });
          return;
        }
        registry.metrics().then(
          (text) => {
            res.writeHead(200, {
              'content-type': registry.contentType,
              'cache-control': 'no-store',
              'content-length': Buffer.byteLength(text),
            });
            res.end(text);
          },
          () => send(res, 500, { error: 'metrics unavailable' }),
        );
        return;
      }
      default:
        send(res, 404, { error: 'not found' });
    }
  };
  let server: http.Server;
  if (tls === undefined) server = http.createServer(handler);
  else {
    const secure = https.createServer(tls.serverOptions(), handler);
    tls.attach(secure);
    server = secure;
  }
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  const port = await listen(server, options.port, options.address);
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        tls?.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function send(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    ...headers,
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}
