/**
 * Liveness and readiness. /healthz answers while the process serves HTTP at all; /readyz only
 * while the catalog is loaded and no shutdown has begun, so a load balancer drains this instance
 * before it stops.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export interface Readiness {
  readonly shuttingDown: boolean;
  isReady(): boolean;
  /** Why the instance is not ready; empty when ready. */
  reasons(): string[];
  beginShutdown(): void;
}

export interface HealthOptions {
  /** True once a catalog is available to serve. */
  isCatalogLoaded: () => boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    readiness: Readiness;
  }
  interface FastifyContextConfig {
    /** Operational route: served during shutdown and not counted as in-flight work. */
    ops?: boolean;
  }
}

async function health(app: FastifyInstance, options: HealthOptions): Promise<void> {
  let shuttingDown = false;
  const reasons = (): string[] => {
    const out: string[] = [];
    let loaded = false;
    try {
      loaded = options.isCatalogLoaded();
    } catch {
      loaded = false;
    }
    if (!loaded) out.push('catalog not loaded');
    if (shuttingDown) out.push('shutting down');
    return out;
  };
  app.decorate('readiness', {
    get shuttingDown() {
      return shuttingDown;
    },
    isReady: () => reasons().length === 0,
    reasons,
    beginShutdown() {
      shuttingDown = true;
    },
  } satisfies Readiness);

  app.get('/healthz', { config: { ops: true }, logLevel: 'warn' }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { ops: true }, logLevel: 'warn' }, async (_request, reply) => {
    const why = reasons();
    if (why.length > 0) return reply.code(503).send({ status: 'not ready', reasons: why });
    return { status: 'ready' };
  });
}

export default fp(health, { name: 'specgate-health', fastify: '5.x' });
