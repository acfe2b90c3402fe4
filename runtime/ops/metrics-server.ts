/**
 * GET /metrics on a listener of its own (`serve --metrics-port`), loopback by default: scrapers
 * reach it on a private interface while the port facing AI clients serves no metrics at all.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { metricsHandler, type Metrics } from './metrics.ts';

export interface MetricsServerOptions {
  metrics: Pick<Metrics, 'registry'>;
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** When set, scrapes need `Authorization: Bearer <token>`. */
  token?: string;
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false }) as unknown as FastifyInstance;
  app.get('/metrics', metricsHandler(options.metrics, options.token));
  await app.listen({ port: options.port, host: options.host ?? '127.0.0.1' });
  return app;
}
