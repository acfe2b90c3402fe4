/**
 * Graceful shutdown: on a signal (or `app.shutdown()`), readiness turns false, new MCP requests
 * get 503, requests already running finish (up to a grace timeout), then the server closes. Ops
 * routes keep answering meanwhile so the load balancer can see the instance draining.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export interface ShutdownOptions {
  /** How long in-flight requests may take to finish; default 10 s. */
  graceMs?: number;
  /** Signals that start a shutdown; default SIGTERM and SIGINT. Pass [] to handle them elsewhere. */
  signals?: NodeJS.Signals[];
  /** Called after the server closed, e.g. to exit the process. */
  onClosed?: (result: { drained: boolean }) => void;
}

export interface InFlight {
  count(): number;
}

declare module 'fastify' {
  interface FastifyInstance {
    inflight: InFlight;
    /** Starts (or joins) the graceful shutdown; resolves once the server is closed. */
    shutdown(): Promise<{ drained: boolean }>;
  }
}

async function shutdown(app: FastifyInstance, options: ShutdownOptions): Promise<void> {
  const graceMs = options.graceMs ?? 10_000;
  let active = 0;
  let onIdle: (() => void) | undefined;
  let closing: Promise<{ drained: boolean }> | undefined;

  app.decorate('inflight', { count: () => active } satisfies InFlight);

  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.config?.ops) return;
    if (app.readiness.shuttingDown) {
      reply.header('connection', 'close').header('retry-after', '1');
      return reply.code(503).send({ jsonrpc: '2.0', error: { code: -32000, message: 'Server is shutting down; retry on another instance' }, id: null });
    }
    active += 1;
    // 'close' fires exactly once per response, finished or aborted, SSE included.
    reply.raw.once('close', () => {
      active -= 1;
      if (active === 0) onIdle?.();
    });
  });

  const drain = (): Promise<boolean> =>
    new Promise((resolve) => {
      if (active === 0) return resolve(true);
      const timer = setTimeout(() => resolve(false), graceMs);
      onIdle = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });

  app.decorate('shutdown', function (): Promise<{ drained: boolean }> {
    closing ??= (async () => {
      app.readiness.beginShutdown();
      const drained = await drain();
      if (!drained) {
        app.log.warn({ inflight: active, graceMs }, 'grace period over; closing with requests in flight');
        // Dropping the sockets aborts the exchanges, whose signals reach the executor.
        app.server.closeAllConnections();
      }
      await app.close();
      options.onClosed?.({ drained });
      return { drained };
    })();
    return closing;
  });

  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const onSignal = (signal: NodeJS.Signals) => {
    app.log.info({ signal }, 'shutting down');
    void app.shutdown();
  };
  for (const signal of signals) process.on(signal, onSignal);
  app.addHook('onClose', async () => {
    for (const signal of signals) process.off(signal, onSignal);
  });
}

export default fp(shutdown, { name: 'specgate-shutdown', fastify: '5.x', dependencies: ['specgate-health'] });
