/**
 * Prometheus metrics, one registry per server instance (so tests and several apps in one process
 * never share counters). The executor records upstream latency through `app.metrics`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type {} from '../mcp/edge.ts';
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
  /**
   * A `tenant` label on the tool-call counter (off by default: one series per tenant and tool can
   * be many for a large MSP). The tenant is the authenticated caller's, never a claimed one.
   */
  tenantLabel?: boolean;
  /**
   * Whether this server answers GET /metrics; default true. Off, the metrics are still collected
   * (a separate listener, runtime/ops/metrics-server.ts, can serve them).
   */
  route?: boolean;
  /** When set, GET /metrics needs `Authorization: Bearer <token>`. */
  token?: string;
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
    labelNames: options.tenantLabel ? ['connector', 'tool', 'outcome', 'reason', 'tenant'] : ['connector', 'tool', 'outcome', 'reason'],
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
  const callsOf = bound((connector, tool, outcome, reason, tenant) => calls.labels({ connector, tool, outcome, ...(reason && { reason }), ...(tenant && { tenant }) }));
  const callDurationOf = bound((connector, tool) => callDuration.labels({ connector, tool }));
  const upstreamDurationOf = bound((connector, status) => upstreamDuration.labels({ connector, status }));
  return {
    registry,
    recordToolCall({ connector, tool, outcome, reason, tenant, seconds }) {
      // Only refusals carry a reason; the other outcomes' series have no reason label at all.
      callsOf(connector, tool, outcome, reason ?? '', options.tenantLabel ? tenant ?? '' : '').inc();
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
  if (options.route === false) return;
  app.get('/metrics', { config: { ops: true }, logLevel: 'warn' }, metricsHandler(instance, options.token));
}

/** Constant-time comparison of equal-length digests. */
function sameToken(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

/** GET /metrics, behind a bearer token when one is configured. */
export function metricsHandler(instance: Pick<Metrics, 'registry'>, token?: string) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (token !== undefined) {
      const presented = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(request.headers.authorization ?? '')?.[1];
      if (presented === undefined || !sameToken(presented, token)) {
        if (request.edge) {
          request.edge.audited = true;
          request.edge.refusal = { step: 'metrics', code: presented === undefined ? 'missing' : 'invalid', reason: 'GET /metrics needs the metrics token' };
        }
        return reply.code(401).header('www-authenticate', 'Bearer realm="specgate-metrics"').send({ error: 'Unauthorized', message: 'GET /metrics needs "Authorization: Bearer <metrics token>"' });
      }
    }
    const body = await instance.registry.metrics();
    return reply.type(instance.registry.contentType).send(body);
  };
}

export default fp(metrics, { name: 'specgate-metrics', fastify: '5.x' });
