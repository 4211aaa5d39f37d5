/**
 * Tracing is off and free when not configured — no OpenTelemetry SDK module is even loaded —
 * and, when configured, a Check span reaches a real OTLP/HTTP receiver as a child of the
 * caller's traceparent.
 *
 * This file imports Gatehouse only dynamically, after a module hook that records every module
 * resolved, so the first test sees the whole import graph.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { registerHooks } from 'node:module';
import { test } from 'node:test';

const resolved: string[] = [];
registerHooks({
  resolve(specifier, context, nextResolve) {
    const result = nextResolve(specifier, context);
    resolved.push(result.url);
    return result;
  },
});

const { connect, httpRequest } = await import('../../support/grpc-client.js');
const { findTool } = await import('../../support/tools.js');
const { configDoc, policyDir, startFromFile, until, writeConfig } = await import('./support.js');

const opa = findTool('opa');
const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const PARENT_SPAN = 'b7ad6b7169203331';

/**
 * OpenTelemetry modules that tracing would load. `@opentelemetry/api` alone is excluded: the
 * no-op API facade is required by prom-client itself (its process CPU metric reads exemplar
 * context from it), not by Gatehouse.
 */
function otelLoaded(): string[] {
  return resolved.filter(
    (url) =>
      (/\/@opentelemetry\//.test(url) && !/\/@opentelemetry\/api\//.test(url)) ||
      /\/tracing\/otel\.js$/.test(url),
  );
}

test('without tracing configured, no OpenTelemetry SDK or exporter module is imported', {
  skip: opa === undefined && 'opa not found',
}, async () => {
  const { gatehouse, logs } = await startFromFile(writeConfig(configDoc(policyDir(), opa!)));
  const client = connect(gatehouse.grpcPort);
  try {
    const response = await client.check(
      httpRequest({
        path: '/public/x',
        headers: { 'x-request-id': 'no-tracing', traceparent: `00-${TRACE_ID}-${PARENT_SPAN}-01` },
      }),
    );
    assert.equal(response.httpResponse.case, 'okResponse');
    await until(
      () => logs.lines.some((l) => l['request_id'] === 'no-tracing'),
      5000,
      'the decision line',
    );
    const line = logs.lines.find((l) => l['request_id'] === 'no-tracing')!;
    assert.equal(line['trace_id'], TRACE_ID, 'traceparent still reaches the log');
  } finally {
    client.close();
    await gatehouse.stop();
  }
  assert.ok(
    resolved.some((url) => url.endsWith('/src/server/start.js')),
    'the hook saw Gatehouse load',
  );
  assert.deepEqual(otelLoaded(), []);
});

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: { key: string; value: Record<string, unknown> }[];
}

/** A minimal OTLP/HTTP (JSON) traces receiver on loopback. */
async function startReceiver(): Promise<{ server: Server; url: string; spans: OtlpSpan[] }> {
  const spans: OtlpSpan[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          resourceSpans?: { scopeSpans?: { spans?: OtlpSpan[] }[] }[];
        };
        for (const rs of body.resourceSpans ?? [])
          for (const ss of rs.scopeSpans ?? []) spans.push(...(ss.spans ?? []));
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return { server, url: `http://127.0.0.1:${port}/v1/traces`, spans };
}

test('with tracing.otlp_endpoint, a Check span arrives at the OTLP receiver in the trace from traceparent', {
  skip: opa === undefined && 'opa not found',
}, async () => {
  const receiver = await startReceiver();
  const { gatehouse, logs } = await startFromFile(
    writeConfig(
      configDoc(policyDir(), opa!, {
        tracing: { otlp_endpoint: receiver.url, service_name: 'gatehouse-test' },
      }),
    ),
  );
  const client = connect(gatehouse.grpcPort);
  try {
    const response = await client.check(
      httpRequest({
        path: '/public/x',
        headers: { 'x-request-id': 'traced', traceparent: `00-${TRACE_ID}-${PARENT_SPAN}-01` },
        contextExtensions: { route: 'app' },
      }),
    );
    assert.equal(response.httpResponse.case, 'okResponse');
  } finally {
    client.close();
    await gatehouse.stop(); // flushes the span processor
    receiver.server.close();
  }
  assert.ok(
    otelLoaded().some((url) => url.includes('/@opentelemetry/sdk-trace-base/')),
    'the SDK loads only now',
  );
  const check = receiver.spans.find((s) => s.name === 'gatehouse.check');
  assert.ok(check, `no gatehouse.check span among ${receiver.spans.map((s) => s.name).join(', ')}`);
  assert.equal(check.traceId, TRACE_ID);
  assert.equal(check.parentSpanId, PARENT_SPAN);
  const status = check.attributes?.find((a) => a.key === 'http.response.status_code')?.value;
  assert.deepEqual(status, { intValue: 200 });
  const evaluation = receiver.spans.find((s) => s.name === 'gatehouse.policy.evaluate');
  assert.equal(evaluation?.parentSpanId, check.spanId, 'policy evaluation nests under Check');
  const line = logs.lines.find((l) => l['request_id'] === 'traced');
  assert.equal(line?.['trace_id'], TRACE_ID);
  assert.equal(line?.['span_id'], check.spanId, "the log names Gatehouse's own span");
});
