/**
 * The OpenTelemetry tracer, exporting over OTLP/HTTP (JSON). Imported only by `createTracer`
 * when `tracing.otlp_endpoint` is configured.
 *
 * It uses its own provider (never the global one) and explicit parent contexts, so it needs no
 * context manager; an AsyncLocalStorage carries the current Check span to the identity stage.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
  type Span as OtelSpan,
  type Tracer as OtelTracer,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import type { Span, SpanAttributes, Tracer } from './tracer.js';

/** Options for {@link createOtelTracer}. */
export interface OtelTracerOptions {
  /** The OTLP/HTTP traces URL, e.g. `http://collector:4318/v1/traces`. */
  readonly endpoint: string;
  readonly serviceName: string;
  /** Fraction of new (parentless) traces recorded; a caller's sampled flag is followed. */
  readonly sampleRatio: number;
}

/** Build the OpenTelemetry-backed tracer. */
export function createOtelTracer(options: OtelTracerOptions): Tracer {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.sampleRatio) }),
    spanProcessors: [
      new BatchSpanProcessor(new OTLPTraceExporter({ url: options.endpoint }), {
        scheduledDelayMillis: 1000,
      }),
    ],
  });
  const tracer = provider.getTracer('gatehouse');
  const currentSpan = new AsyncLocalStorage<Span>();
  return {
    enabled: true,
    startCheck(parent, attributes) {
      const ctx =
        parent === undefined
          ? ROOT_CONTEXT
          : trace.setSpanContext(ROOT_CONTEXT, {
              traceId: parent.traceId,
              spanId: parent.spanId,
              traceFlags: parent.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
              isRemote: true,
            });
      return wrap(
        tracer,
        tracer.startSpan('gatehouse.check', { kind: SpanKind.SERVER, attributes }, ctx),
      );
    },
    run: (span, fn) => currentSpan.run(span, fn),
    current: () => currentSpan.getStore(),
    shutdown: () => provider.shutdown(),
  };
}

function wrap(tracer: OtelTracer, span: OtelSpan): Span {
  const context = span.spanContext();
  const recorded = span.isRecording();
  return {
    traceId: context.traceId,
    spanId: recorded ? context.spanId : undefined,
    child: (name: string, attributes?: SpanAttributes) =>
      wrap(
        tracer,
        tracer.startSpan(
          name,
          { kind: SpanKind.INTERNAL, ...(attributes === undefined ? {} : { attributes }) },
          trace.setSpan(ROOT_CONTEXT, span),
        ),
      ),
    setAttributes: (attributes: SpanAttributes) => void span.setAttributes(attributes),
    fail: (code: string) => {
      span.setAttribute('gatehouse.error_code', code);
      span.setStatus({ code: SpanStatusCode.ERROR, message: code });
    },
    end: () => span.end(),
  };
}
