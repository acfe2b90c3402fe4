/**
 * OpenTelemetry traces: a server span per MCP request, a child per chain step and per upstream
 * attempt, the W3C trace context taken from the HTTP headers or the 2026-07-28 `_meta`
 * (`traceparent`, `tracestate`) and passed on to the vendor.
 *
 * The SDK loads only when an OTLP endpoint is configured with the standard variables
 * (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT; OTEL_SDK_DISABLED=true or
 * OTEL_TRACES_EXPORTER=none turn it off); otherwise the API's no-op tracer costs nothing. The
 * parent context travels explicitly with the request (no context manager): AsyncLocalStorage's
 * hooks would tax every promise in the process. Span attributes carry names, ids and statuses,
 * never argument values or secrets.
 */
import {
  ROOT_CONTEXT, SpanKind, SpanStatusCode, propagation, trace, type Attributes, type Context, type Span, type TextMapGetter,
} from '@opentelemetry/api';
import { packageVersion } from '../package-info.ts';


export type TraceContext = Context;
export { SpanKind };

/** Whether the environment asks for traces to be exported. */
export function tracingConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED === 'true' || env.OTEL_TRACES_EXPORTER === 'none') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT);
}

export interface Tracing {
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
}

/**
 * Registers a tracer provider that exports over OTLP/HTTP (JSON), configured by the standard
 * OTEL_* variables (endpoint, headers, timeout, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES).
 * Returns undefined when tracing is not configured.
 */
export async function startTracing(env: NodeJS.ProcessEnv = process.env): Promise<Tracing | undefined> {
  if (!tracingConfigured(env)) return undefined;
  const [{ BasicTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes, defaultResource }, { W3CTraceContextPropagator }] = await Promise.all([
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/core'),
  ]);
  const provider = new BasicTracerProvider({
    resource: defaultResource().merge(resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME ?? 'specgate', 'service.version': packageVersion() })),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  trace.setGlobalTracerProvider(provider);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  return {
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      propagation.disable();
    },
  };
}

const tracer = () => trace.getTracer('specgate', packageVersion());

const recordGetter: TextMapGetter<Record<string, unknown>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const v = carrier[key];
    return typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined;
  },
};

/**
 * The caller's trace context: the request's `_meta` (2026-07-28, SEP-414) when it carries one,
 * else the HTTP `traceparent`/`tracestate` headers, else none (a new trace).
 */
export function extractContext(headers: Record<string, unknown>, meta?: Record<string, unknown>): TraceContext {
  if (meta && typeof meta.traceparent === 'string') return propagation.extract(ROOT_CONTEXT, meta, recordGetter);
  return propagation.extract(ROOT_CONTEXT, headers, recordGetter);
}

/** Starts a span as a child of `parent` (the request's context). End it with `endSpan`. */
export function startSpan(name: string, parent: TraceContext | undefined, attributes?: Attributes, kind: SpanKind = SpanKind.INTERNAL): Span {
  return tracer().startSpan(name, { kind, ...(attributes && { attributes }) }, parent ?? ROOT_CONTEXT);
}

/** The context whose active span is `span`: what children of it are started under. */
export function contextOf(span: Span, parent: TraceContext | undefined): TraceContext {
  return trace.setSpan(parent ?? ROOT_CONTEXT, span);
}

export function endSpan(span: Span, error?: unknown, attributes?: Attributes): void {
  if (attributes) span.setAttributes(attributes);
  if (error !== undefined) {
    // The error's class and step only: its message may quote a vendor's answer.
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as { name?: string })?.name ?? 'error' });
  }
  span.end();
}

/** Runs one step as a child span of `parent`; a thrown error marks the span and goes on. */
export async function inSpan<T>(name: string, parent: TraceContext | undefined, fn: () => Promise<T> | T, attributes?: Attributes): Promise<T> {
  const span = startSpan(name, parent, attributes);
  try {
    const value = await fn();
    span.end();
    return value;
  } catch (e) {
    endSpan(span, e, { 'specgate.refused': (e as { name?: string })?.name === 'Refusal' });
    throw e;
  }
}

/** Writes the trace context of `ctx` into outgoing request headers (the vendor request). */
export function injectContext(ctx: TraceContext | undefined, headers: Headers): void {
  if (!ctx) return;
  propagation.inject(ctx, headers, { set: (carrier, key, value) => carrier.set(key, value) });
}

/** Whether a span would be recorded: lets hot paths skip building attributes when tracing is off. */
export function isRecording(ctx: TraceContext | undefined): boolean {
  return ctx !== undefined && trace.getSpan(ctx)?.isRecording() === true;
}
