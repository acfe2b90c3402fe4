/**
 * Prometheus metrics, one registry per server instance (so tests and several apps in one process
 * never share counters). The executor records upstream latency through `app.metrics`.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ToolCallObservation } from '../mcp/types.ts';

export interface UpstreamObservation {
  connector: string;
  /** HTTP status, or a word such as 'timeout' / 'network' when there was none. */
  status: number | string;
  seconds: number;
}

export interface Metrics {
  registry: Registry;
  recordToolCall(observation: ToolCallObservation): void;
  recordUpstream(observation: UpstreamObservation): void;
}

export interface MetricsOptions {
  /** Process metrics (CPU, memory, event loop); default true. */
  defaultMetrics?: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics;
  }
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const calls = new Counter({
    name: 'mcp_tool_calls_total',
    help: 'MCP tool calls by outcome (ok; refused = the governance chain said no, reason = <step>/<code>; error = any other isError result; exception = executor threw)',
    labelNames: ['connector', 'tool', 'outcome', 'reason'] as const,
    registers: [registry],
  });
  const callDuration = new Histogram({
    name: 'mcp_tool_call_duration_seconds',
    help: 'Duration of MCP tool calls',
    labelNames: ['connector', 'tool'] as const,
    registers: [registry],
  });
  const upstreamDuration = new Histogram({
    name: 'upstream_request_duration_seconds',
    help: 'Duration of upstream vendor API requests',
    labelNames: ['connector', 'status'] as const,
    registers: [registry],
  });
  // Bound children per label set: prom-client would otherwise hash the labels on every observation.
  const bound = <T>(make: (...labels: string[]) => T) => {
    const cache = new Map<string, T>();
    return (...labels: string[]): T => {
      const key = labels.join('\u0000');
      let child = cache.get(key);
      if (!child) cache.set(key, (child = make(...labels)));
      return child;
    };
  };
  const callsOf = bound((connector, tool, outcome, reason) => calls.labels({ connector, tool, outcome, ...(reason && { reason }) }));
  const callDurationOf = bound((connector, tool) => callDuration.labels({ connector, tool }));
  const upstreamDurationOf = bound((connector, status) => upstreamDuration.labels({ connector, status }));
  return {
    registry,
    recordToolCall({ connector, tool, outcome, reason, seconds }) {
      // Only refusals carry a reason; the other outcomes' series have no reason label at all.
      callsOf(connector, tool, outcome, reason ?? '').inc();
      callDurationOf(connector, tool).observe(seconds);
    },
    recordUpstream({ connector, status, seconds }) {
      upstreamDurationOf(connector, String(status)).observe(seconds);
    },
  };
}

async function metrics(app: FastifyInstance, options: MetricsOptions): Promise<void> {
  const instance = createMetrics(options);
  app.decorate('metrics', instance);
  app.get('/metrics', { config: { ops: true }, logLevel: 'warn' }, async (_request, reply) => {
    const body = await instance.registry.metrics();
    return reply.type(instance.registry.contentType).send(body);
  });
}

export default fp(metrics, { name: 'specgate-metrics', fastify: '5.x' });
