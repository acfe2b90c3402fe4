/**
 * The Fastify app: ops plugins first (health, metrics, shutdown), then the MCP endpoint. Every
 * piece of state hangs off the instance as a decorator, so several apps can live in one process.
 */
import { uuidv7 } from './ids.ts';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import mcpHttp, { type ProtectedResourceMetadata } from './mcp/http.ts';
import { catalogGetter } from './mcp/factory.ts';
import type { AuthenticateRequest, CallTool, CatalogSource, ListTools } from './mcp/types.ts';
import type { DescribeCaller } from './mcp/instructions.ts';
import type { DiscoveryOptions } from './discovery/mode.ts';
import health from './ops/health.ts';
import { createLogger } from './ops/logging.ts';
import metrics from './ops/metrics.ts';
import shutdown, { type ShutdownOptions } from './ops/shutdown.ts';
import { refuseCredentialsInUrl } from './ops/url-credentials.ts';
import { edgeRefusalOf, type EdgeRefusal, type EdgeState } from './mcp/edge.ts';

export interface BuildServerOptions {
  /** The catalog, or a getter returning the current one (hot reload swaps what it returns). */
  catalog: CatalogSource;
  callTool: CallTool;
  /** Per-caller tool visibility and request authentication: the governance chain, when enabled. */
  listTools?: ListTools;
  authenticate?: AuthenticateRequest;
  /** Who a request acts for, named in the server instructions. */
  describeCaller?: DescribeCaller;
  /** Progressive discovery (runtime/discovery); default off. */
  discovery?: DiscoveryOptions;
  /** The store's visibility fingerprint, polled so that listening sessions hear grant and key changes. */
  visibilityFingerprint?: () => Promise<string>;
  /** Its poll interval, ms; default 5,000. */
  listChangedPollMs?: number;
  /** The ttlMs of the tools/list and server/discover cache hints; default 0. */
  listTtlMs?: number;
  /** The protected-resource metadata's trusted issuers and resource id (with `authenticate`). */
  protectedResource?: ProtectedResourceMetadata;
  /** Origin allow-list for /mcp (hostnames or origins); default localhost only. */
  allowedOrigins?: string[];
  /** A pino logger (see ops/logging.ts createLogger); default: createLogger() to stdout. */
  logger?: Logger;
  /** tools/list page size; default 100. */
  pageSize?: number;
  /** Request body limit in bytes; default 4 MiB. */
  bodyLimit?: number;
  shutdown?: ShutdownOptions;
  /** Process metrics on /metrics; default true. */
  defaultMetrics?: boolean;
  /** A `tenant` label on mcp_tool_calls_total (the authenticated caller's tenant); default off. */
  metricsTenantLabel?: boolean;
  /**
   * GET /metrics on this (client-facing) port: `open` (default), `token` (needs `metricsToken`)
   * or `off` (serve them on a separate listener, runtime/ops/metrics-server.ts, or not at all).
   */
  metricsExposure?: 'open' | 'token' | 'off';
  metricsToken?: string;
  /** The base URL clients reach this server at; see McpHttpOptions.publicUrl. */
  publicUrl?: string;
  /**
   * Audits every request refused at the edge (401/403/503 before the MCP handler, credentials in
   * the URL, body too large, Origin, malformed JSON-RPC ...); awaited before the answer leaves.
   */
  auditRefusal?: (refusal: EdgeRefusal) => Promise<void>;
}

export async function buildServer(options: BuildServerOptions): Promise<FastifyInstance> {
  const getCatalog = catalogGetter(options.catalog);
  const app = Fastify({
    loggerInstance: options.logger ?? createLogger(),
    // Ids are ours: a client-chosen request id would let callers forge audit correlation.
    genReqId: () => uuidv7(),
    requestIdHeader: false,
    ...(options.bodyLimit !== undefined && { bodyLimit: options.bodyLimit }),
  }) as unknown as FastifyInstance;
  app.decorateRequest('edge', null as unknown as EdgeState);
  // The id a call's usage row and audit record are keyed by: a client can quote it to support,
  // and the crash suite (bench/crash.ts) matches every answered call to its records with it.
  app.addHook('onRequest', async (request, reply) => {
    request.edge = {};
    reply.header('x-request-id', request.id);
    return refuseCredentialsInUrl(request, reply);
  });
  const { auditRefusal } = options;
  if (auditRefusal) {
    // onSend runs for every answer, errors included (body limit, Origin, the SDK's 4xx), and is
    // awaited: the refusal's record is durable before its answer leaves.
    app.addHook('onSend', async (request, reply, payload) => {
      const refusal = edgeRefusalOf(request, reply, payload);
      if (refusal) await auditRefusal(refusal);
      return payload;
    });
  }

  await app.register(health, { isCatalogLoaded: () => getCatalog() !== undefined });
  const exposure = options.metricsExposure ?? 'open';
  if (exposure === 'token' && !options.metricsToken) throw new Error('metricsExposure "token" needs metricsToken');
  await app.register(metrics, {
    ...(options.defaultMetrics !== undefined && { defaultMetrics: options.defaultMetrics }),
    ...(options.metricsTenantLabel && { tenantLabel: true }),
    route: exposure !== 'off',
    ...(exposure === 'token' && { token: options.metricsToken }),
  });
  await app.register(shutdown, options.shutdown ?? {});
  await app.register(mcpHttp, {
    catalog: getCatalog,
    callTool: options.callTool,
    ...(options.listTools && { listTools: options.listTools }),
    ...(options.authenticate && { authenticate: options.authenticate }),
    ...(options.describeCaller && { describeCaller: options.describeCaller }),
    ...(options.discovery && { discovery: options.discovery }),
    ...(options.visibilityFingerprint && { visibilityFingerprint: options.visibilityFingerprint }),
    ...(options.listChangedPollMs !== undefined && { listChangedPollMs: options.listChangedPollMs }),
    ...(options.listTtlMs !== undefined && { listTtlMs: options.listTtlMs }),
    ...(options.protectedResource && { protectedResource: options.protectedResource }),
    ...(options.publicUrl && { publicUrl: options.publicUrl }),
    logger: app.log,
    observe: (observation) => app.metrics.recordToolCall(observation),
    ...(options.allowedOrigins !== undefined && { allowedOrigins: options.allowedOrigins }),
    ...(options.pageSize !== undefined && { pageSize: options.pageSize }),
    ...(options.bodyLimit !== undefined && { bodyLimit: options.bodyLimit }),
  });
  return app;
}
