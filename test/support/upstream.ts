import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the upstream received it (what Envoy forwarded). */
export interface RecordedRequest {
  readonly method: string;
  /** Path and query, as received. */
  readonly url: string;
  /** Header names lower-cased (Node's view); repeated headers joined as Node does. */
  readonly headers: IncomingHttpHeaders;
  /** Raw header list, name/value pairs in arrival order, original case. */
  readonly rawHeaders: readonly string[];
  /** The body, decoded as UTF-8. */
  readonly body: string;
}

/** A running echo upstream. */
export interface Upstream {
  readonly port: number;
  /** Every request received so far, oldest first. */
  readonly requests: RecordedRequest[];
  /**
   * The most recent request a test made, if any: Chromium's own `/favicon.ico` fetch after a
   * page loads is left out, since it races the test's assertions on the page's request.
   */
  last(): RecordedRequest | undefined;
  close(): Promise<void>;
}

/**
 * Starts an HTTP/1.1 upstream on 127.0.0.1 (a port of its own choosing) that records every
 * request and answers `200` with the request echoed as JSON (`{ method, url, headers, body }`),
 * so a test can assert on what reached the application from either side.
 *
 * @example
 * const app = await startUpstream();
 * t.after(() => app.close());
 */
export async function startUpstream(): Promise<Upstream> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(recorded);
      const payload = JSON.stringify({
        method: recorded.method,
        url: recorded.url,
        headers: recorded.headers,
        body: recorded.body,
      });
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(payload),
      });
      res.end(payload);
    });
  });
  // Envoy keeps upstream connections alive; don't let them hold close() up.
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    requests,
    last: () => requests.findLast((r) => r.url !== '/favicon.ico'),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
