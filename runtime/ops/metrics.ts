/**
 * Prometheus metrics, one registry per server instance (so tests and several apps in one process
 * never share counters). The executor records upstream latency through `app.metrics`.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
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
  /** Reads each connector's circuit breaker ('closed', 'half-open', 'open') whenever /metrics is scraped. */
  watchBreakers(source: () => Record<string, string>): void;
}

/** The breaker gauge's values: alert on `== 2` (open). */
export const BREAKER_VALUES: Record<string, number> = { closed: 0, 'half-open': 1, open: 2, isolated: 3 };

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
  const breakerSources: Array<() => Record<string, string>> = [];
  new Gauge({
    name: 'specgate_upstream_breaker_state',
    help: 'Circuit breaker of each upstream: 0 closed, 1 half-open, 2 open, 3 isolated',
    labelNames: ['connector'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const source of breakerSources) {
        for (const [connector, state] of Object.entries(source())) this.set({ connector }, BREAKER_VALUES[state] ?? -1);
      }
    },
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
    watchBreakers(source) {
      breakerSources.push(source);
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
