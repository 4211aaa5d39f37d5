/**
 * Gatehouse's tracing surface: spans for Check, policy evaluation, bearer verification (JWKS)
 * and the sign-in token exchange. Off by default, and then free: the no-op tracer below is
 * all that runs, and no OpenTelemetry module is imported (`./otel.js` is loaded with a dynamic
 * import only when `tracing` is configured).
 */
import type { TraceParent } from './traceparent.js';

/** Span attribute values. */
export type SpanAttributes = Readonly<Record<string, string | number | boolean>>;

/** One span. */
export interface Span {
  /** Set when the span is recorded (tracing on). */
  readonly traceId: string | undefined;
  readonly spanId: string | undefined;
  /** A child span. */
  child(name: string, attributes?: SpanAttributes): Span;
  setAttributes(attributes: SpanAttributes): void;
  /** Mark the span failed with a Gatehouse error code. */
  fail(code: string): void;
  end(): void;
}

/** Creates spans. */
export interface Tracer {
  readonly enabled: boolean;
  /** The server span of one Check, a child of the caller's `traceparent` when there is one. */
  startCheck(parent: TraceParent | undefined, attributes: SpanAttributes): Span;
  /** Run `fn` with `span` as the current span, so work it calls (identity) can nest under it. */
  run<T>(span: Span, fn: () => Promise<T>): Promise<T>;
  /** The current span set by {@link Tracer.run}, if any. */
  current(): Span | undefined;
  /** Export what is buffered and stop. */
  shutdown(): Promise<void>;
}

/** A span that records nothing. */
export const NOOP_SPAN: Span = Object.freeze({
  traceId: undefined,
  spanId: undefined,
  child: () => NOOP_SPAN,
  setAttributes: () => undefined,
  fail: () => undefined,
  end: () => undefined,
});

/** The tracer when tracing is not configured. */
export const NOOP_TRACER: Tracer = Object.freeze({
  enabled: false,
  startCheck: () => NOOP_SPAN,
  run: <T>(_span: Span, fn: () => Promise<T>) => fn(),
  current: () => undefined,
  shutdown: () => Promise.resolve(),
});

/** Tracing settings (the `tracing` config section). */
export interface TracingOptions {
  readonly otlp_endpoint?: string;
  readonly service_name: string;
  readonly sample_ratio: number;
}

/**
 * The tracer for a configuration: {@link NOOP_TRACER} without `tracing.otlp_endpoint`,
 * otherwise an OpenTelemetry tracer exporting over OTLP/HTTP (loaded only then).
 *
 * @example const tracer = await createTracer(config.tracing);
 */
export async function createTracer(options: TracingOptions | undefined): Promise<Tracer> {
  if (options?.otlp_endpoint === undefined) return NOOP_TRACER;
  const { createOtelTracer } = await import('./otel.js');
  return createOtelTracer({
    endpoint: options.otlp_endpoint,
    serviceName: options.service_name,
    sampleRatio: options.sample_ratio,
  });
}
