/**
 * Assembles a running runtime from generated/: the catalog (hot-reloaded), an executor per
 * catalog version, upstreams (mock or configured), and the Fastify MCP server.
 *
 * On reload a new executor is built for the new connectors and swapped in; calls already in
 * flight finish on the executor they started with, which is closed once they have.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { GeneratedConnector, OpenApiDocument } from './model.ts';
import { watchCatalog, type Catalog, type CatalogWatcher } from './catalog.ts';
import { createToolCaller, type CallerOptions, type ToolCaller, type UpstreamConfig } from './call.ts';
import type { UpstreamEvent } from './tool-call.ts';
import type { MockUpstream } from './mock/upstream.ts';
import { mockCustomerId } from './mock/customer.ts';
import { mockOwners } from './mock/owners.ts';
import { buildServer } from './server.ts';
import type { CallTool } from './mcp/types.ts';
import { createLogger } from './ops/logging.ts';
import { configureUpstreams } from './credentials/upstreams.ts';
import { overlayStoredEntries } from './credentials/tenant-entries.ts';
import type { GovernanceOptions } from './governance/setup.ts';
import { createCallTool, tenantExecutor, type ConfiguredCustomers } from './call-path.ts';
import { Refusal } from './governance/refusal.ts';
import type { AuditKeys, Store } from './store/index.ts';
import type { PolicyDecider } from './governance/policy.ts';
import type { ListTools, AuthenticateRequest } from './mcp/types.ts';
import type { UpstreamEntry } from './credentials/config.ts';
import { trustedIssuers, type IdentityConfig } from './identity/providers.ts';
import type { ProtectedResourceMetadata } from './mcp/http.ts';
import type { EdgeRefusal } from './mcp/edge.ts';
import type { EdgeAuditLimits } from './mcp/edge-audit.ts';
import type { DescribeCaller } from './mcp/instructions.ts';
import type { DiscoveryOptions } from './discovery/mode.ts';

export interface RuntimeOptions {
  generatedDir: string;
  /** Serve every connector against a mock upstream driven by its (pruned) vendor document. */
  mock: boolean;
  /** Fixed ports for mock upstreams, by connector (others take a free port). */
  mockPorts?: Record<string, number>;
  /** Real upstream base URLs by connector; a connector with none falls back to its mock. */
  upstreams?: Record<string, UpstreamConfig>;
  /**
   * The upstream configuration file's entries (runtime/credentials/config.ts): each connector's
   * tenant base URL and vendor credential. Wins over `upstreams` for the connectors it names.
   */
  upstreamConfig?: Record<string, UpstreamEntry>;
  /**
   * Each tenant's own upstreams (its vendor hosts and credentials), by tenant id. With the
   * governance chain, a call runs against its caller's tenant's upstream when there is one.
   */
  tenantUpstreamConfig?: Record<string, Record<string, UpstreamEntry>>;
  /**
   * Each tenant's stored credentials (the credential broker's `tenantUpstreams`), laid over
   * `tenantUpstreamConfig`. Read whenever executors are built: at each catalog load and on
   * `reloadCredentials()`, so secrets are opened only into the authenticators that use them.
   */
  tenantCredentials?: () => Promise<Record<string, Record<string, UpstreamEntry>>>;
  allowedOrigins?: string[];
  logger?: Logger;
  /**
   * The customer this runtime acts for, by connector: the vendor's id of the MSP's customer that
   * customer-bound tools are forced to. Configuration, never a request's payload. Mock mode
   * defaults each mocked connector's to an id its document accepts, so that every tool can be tried.
   */
  customerIds?: Record<string, string>;
  /**
   * The governance chain: with a store and a policy, every call is authenticated (API key),
   * scoped to the identity's tenant and selected customer, checked against entitlements, policy
   * and quota, metered and audited; tools/list shows only what the caller may call.
   */
  governance?: {
    store: Store; policy: PolicyDecider; pepper?: string; identity?: IdentityConfig;
    /** Signs the audit checkpoints (default: SPECGATE_AUDIT_KEYS[_FILE]); interval default SPECGATE_AUDIT_CHECKPOINT_INTERVAL. */
    audit?: { keys?: AuditKeys; checkpointIntervalMs?: number };
  } & Pick<GovernanceOptions, 'responseCache' | 'vendorBudgets'>;
  /** With governance: how refusals of unauthenticated requests are rate-limited in the gateway chain. */
  edgeAudit?: EdgeAuditLimits;
  /** Executor settings (timeouts, retries, caps, breaker); defaults in runtime/call.ts. */
  caller?: Omit<CallerOptions, 'connectors' | 'upstreams' | 'onUpstream'>;
}

export interface Runtime {
  catalog(): Catalog;
  /** Hears every upstream call (metrics) and every catalog swap (list_changed). */
  on(event: 'upstream', listener: (e: UpstreamEvent) => void): void;
  on(event: 'reload', listener: (catalog: Catalog) => void): void;
  callTool: CallTool;
  /** Set when the governance chain is on: per-caller visibility and request authentication. */
  listTools?: ListTools;
  authenticate?: AuthenticateRequest;
  /** Set with the governance chain: changes whenever the store's grants, keys or customers do (list_changed). */
  visibilityFingerprint?: () => Promise<string>;
  /** Set with the governance chain: the tenant and customer a request acts for (server instructions). */
  describeCaller?: DescribeCaller;
  /** What /.well-known/oauth-protected-resource announces: the trusted issuers and this resource's id. */
  protectedResource?: ProtectedResourceMetadata;
  /** Set with governance: writes the audit record of a request refused at the HTTP edge. */
  auditRefusal?: (refusal: EdgeRefusal) => Promise<void>;
  /** The customer id each connector's customer-bound tools are forced to. */
  customerIds(): Record<string, string>;
  /** Connector name -> where its calls go, and whether that is a mock. */
  upstreams(): Record<string, { url: string; mock: boolean }>;
  /** Each connector's circuit breaker; 'open' when any tenant's upstream for it is open. */
  breakers(): Record<string, string>;
  /** Rebuilds the executors for the current catalog after a stored credential changed; on failure the old ones stay. */
  reloadCredentials(): Promise<void>;
  close(): Promise<void>;
}

/** Upstream base URLs from the environment: SPECGATE_UPSTREAM_<CONNECTOR>=https://... */
export function upstreamsFromEnv(env: NodeJS.ProcessEnv = process.env): Record<string, UpstreamConfig> {
  const out: Record<string, UpstreamConfig> = {};
  for (const [k, v] of Object.entries(env)) {
    const m = /^SPECGATE_UPSTREAM_([A-Z0-9_]+)$/.exec(k);
    if (m && v) out[m[1].toLowerCase()] = { baseUrl: v };
  }
  return out;
}

export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  const logger = options.logger ?? createLogger();
  const mocks = new Map<string, { doc: string; mock: MockUpstream; customerId: string }>();

  async function upstreamsFor(connectors: GeneratedConnector[]): Promise<Record<string, UpstreamConfig>> {
    const out: Record<string, UpstreamConfig> = {};
    // Throws on a credential that does not fit the vendor's document: at startup, or (on reload) the old catalog stays.
    const configured = { ...options.upstreams, ...configureUpstreams(connectors.map((c) => c.model), options.upstreamConfig ?? {}) };
    for (const name of Object.keys(options.mockPorts ?? {})) {
      if (!connectors.some((c) => c.model.name === name)) {
        throw new Error(`--mock-port ${name}=${options.mockPorts![name]}: there is no connector "${name}" (connectors: ${connectors.map((c) => c.model.name).join(', ')})`);
      }
    }
    for (const c of connectors) {
      const name = c.model.name;
      const real = configured[name];
      if (real && !options.mock) {
        out[name] = real;
        continue;
      }
      const docFile = path.join(options.generatedDir, name, 'openapi.json');
      const text = fs.readFileSync(docFile, 'utf8');
      const running = mocks.get(name);
      if (running && running.doc === text) {
        out[name] = { baseUrl: running.mock.url };
        continue;
      }
      const doc = JSON.parse(text) as OpenApiDocument;
      // Prism (and faker under it) loads only when a connector is actually mocked.
      const { startMockUpstream } = await import('./mock/upstream.ts');
      const customerId = mockCustomerId(c.model, doc);
      const port = options.mockPorts?.[name];
      // A fixed port is needed again by the new mock; a free one lets the old serve until the new is up.
      if (running && port !== undefined) await running.mock.close();
      let mock: MockUpstream;
      try {
        mock = await startMockUpstream(doc, { rewrite: mockOwners(c.model, customerId), ...(port !== undefined && { port }) });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (port === undefined) throw new Error(`connector "${name}": ${(err as Error).message}`);
        throw new Error(`the mock upstream of ${name} cannot listen on port ${port}${code === 'EADDRINUSE' ? ': the port is in use' : code ? ` (${code})` : ''}; choose another with --mock-port ${name}=<port>`);
      }
      mocks.set(name, { doc: text, mock, customerId });
      if (running && port === undefined) await running.mock.close();
      out[name] = { baseUrl: mock.url };
    }
    return out;
  }

  let where: Record<string, { url: string; mock: boolean }> = {};
  const upstreamListeners: Array<(e: UpstreamEvent) => void> = [];
  const reloadListeners: Array<(c: Catalog) => void> = [];

  /**
   * The executors for one catalog version: the shared one, and one per tenant that has upstreams
   * of its own (its entries over the shared ones), all built from one resolution of the shared
   * upstreams.
   */
  async function executorsFor(catalog: Catalog): Promise<{ shared: ToolCaller; tenants: Map<string, ToolCaller> }> {
    const { connectors } = catalog;
    const upstreams = await upstreamsFor(connectors);
    where = Object.fromEntries(Object.entries(upstreams).map(([k, v]) => [k, { url: v.baseUrl, mock: mocks.get(k)?.mock.url === v.baseUrl }]));
    const executor = (u: Record<string, UpstreamConfig>) =>
      createToolCaller({ ...options.caller, connectors, upstreams: u, onUpstream: (e) => upstreamListeners.forEach((l) => l(e)) });
    const models = connectors.map((c) => c.model);
    const tenants = new Map<string, ToolCaller>();
    const stored = (await options.tenantCredentials?.()) ?? {};
    for (const [tenant, entries] of Object.entries(overlayStoredEntries(options.upstreamConfig ?? {}, options.tenantUpstreamConfig ?? {}, stored))) {
      tenants.set(tenant, executor({ ...upstreams, ...configureUpstreams(models, entries) }));
    }
    return { shared: executor(upstreams), tenants };
  }

  const watcher: CatalogWatcher = await watchCatalog(options.generatedDir, {
    onReload: (catalog) => {
      void swap(catalog);
    },
    onError: (error) => logger.error({ err: error.message }, 'catalog reload failed; still serving the previous catalog'),
  });
  let first: Awaited<ReturnType<typeof executorsFor>>;
  try {
    first = await executorsFor(watcher.current());
  } catch (err) {
    // Nothing is returned to close them: the mocks already started and the watcher go now.
    watcher.close();
    for (const { mock } of mocks.values()) await mock.close();
    throw err;
  }
  let caller = first.shared;
  let tenantCallers = first.tenants;
  let callerVersion = watcher.current();
  // With each catalog version: an ungoverned call binds customer-bound tools to these.
  let customers: ConfiguredCustomers = { ids: customerIdsFor(callerVersion), namedIds: customerNamedIdsFor(callerVersion) };

  async function swap(catalog: Catalog, why: 'catalog' | 'credentials' = 'catalog'): Promise<void> {
    try {
      const next = await executorsFor(catalog);
      const old = caller;
      const oldTenants = tenantCallers;
      caller = next.shared;
      tenantCallers = next.tenants;
      callerVersion = catalog;
      customers = { ids: customerIdsFor(catalog), namedIds: customerNamedIdsFor(catalog) };
      logger.info({ connectors: catalog.connectors.length, tools: catalog.tools.length }, `${why} reloaded`);
      if (why === 'catalog') reloadListeners.forEach((l) => l(catalog));
      await old.close();
      for (const c of oldTenants.values()) await c.close();
    } catch (error) {
      logger.error({ err: (error as Error).message }, `${why} reload failed`);
    }
  }

  function customerIdsFor(catalog: Catalog): Record<string, string> {
    const ids: Record<string, string> = {};
    for (const c of catalog.connectors) {
      const id = options.customerIds?.[c.model.name] ?? (where[c.model.name]?.mock ? mocks.get(c.model.name)?.customerId : undefined);
      if (id !== undefined) ids[c.model.name] = id;
    }
    return ids;
  }

  /** In mock mode the mock customer holds every named id the connector declares (Datto RMM's siteId), all the same value. */
  function customerNamedIdsFor(catalog: Catalog): Record<string, Record<string, string>> {
    const named: Record<string, Record<string, string>> = {};
    for (const c of catalog.connectors) {
      const id = where[c.model.name]?.mock ? mocks.get(c.model.name)?.customerId : undefined;
      const names = c.model.customer?.ids ?? [];
      if (id !== undefined && names.length) named[c.model.name] = Object.fromEntries(names.map((n) => [n, id]));
    }
    return named;
  }

  // Read at call time, so a hot reload's new executors are the ones used.
  const executors = () => ({ shared: caller, tenants: tenantCallers });
  // Loaded only with a store: the governed steps bring the store drivers and the identity providers.
  const governance = options.governance
    ? (await import('./governance/setup.ts')).createGovernance({
      store: options.governance.store,
      policy: options.governance.policy,
      caller: tenantExecutor(executors),
      ...(options.governance.pepper ? { apiKeys: { pepper: options.governance.pepper } } : {}),
      ...(options.governance.identity ? { identity: options.governance.identity } : {}),
      // The call is audited as an internal error; the cause goes only to the log.
      onInternalError: (error, requestId) => logger.error({ err: error, requestId }, 'governance chain failed; audited as an internal error'),
      ...(options.governance.responseCache ? { responseCache: options.governance.responseCache } : {}),
      ...(options.governance.vendorBudgets ? { vendorBudgets: options.governance.vendorBudgets } : {}),
    })
    : undefined;
  // The store's modules load only for a governed runtime, as the governance chain does.
  const store = options.governance && await import('./store/index.ts');
  const checkpoints = options.governance && store!.startCheckpointSchedule({
    store: options.governance.store, logger,
    keys: options.governance.audit?.keys ?? store!.loadAuditKeys(),
    intervalMs: options.governance.audit?.checkpointIntervalMs ?? store!.checkpointIntervalMs(),
  });
  const edgeAuditor = options.governance ? (await import('./mcp/edge-audit.ts')).createEdgeAuditor(options.governance.store, options.edgeAudit) : undefined;
  const governed = governance
    ? {
      auditRefusal: (refusal: EdgeRefusal) => edgeAuditor!.record(refusal),
      visibilityFingerprint: (await import('./discovery/list-changed.ts')).visibilityFingerprint(options.governance!.store.db),
      listTools: ((ctx) => governance.visibleTools(ctx, callerVersion)) as ListTools,
      authenticate: (async (ctx) => {
        const req = { headers: ctx.headers, requestId: ctx.requestId };
        const identity = await governance.identify(req);
        const caller = { subject: identity.subject, tenantId: identity.tenantId, keyId: identity.keyId };
        try {
          // Every connector's vendor ids at once: the request context carries them to each call.
          return { caller, principal: await governance.principal(req, callerVersion.connectors.map((c) => c.model.name), identity) };
        } catch (error) {
          // The credential verified: the refusal (a forged tenant, another tenant's customer) is audited in its tenant.
          if (error instanceof Refusal) Object.assign(error, { caller });
          throw error;
        }
      }) as AuthenticateRequest,
      describeCaller: (async (ctx) => {
        const p = ctx.principal ?? await governance.principal(ctx, []);
        const customer = p.customer.customerId === null ? null : await store!.tenantsRepo(options.governance!.store).getCustomer(p.customer.customerId);
        return { tenantId: p.tenantId, customer: customer ? { id: customer.id, name: customer.name } : null };
      }) as DescribeCaller,
      protectedResource: {
        authorizationServers: options.governance?.identity ? trustedIssuers(options.governance.identity) : [],
        ...(options.governance?.identity?.resource ? { resource: options.governance.identity.resource } : {}),
      },
    }
    : {};

  return {
    catalog: () => callerVersion,
    ...governed,
    callTool: createCallTool({ ...(governance && { governance }), executors, customers: () => customers }),
    customerIds: () => customerIdsFor(callerVersion),
    reloadCredentials: () => swap(callerVersion, 'credentials'),
    upstreams: () => where,
    breakers() {
      const states = caller.breakers();
      for (const c of tenantCallers.values()) {
        for (const [name, state] of Object.entries(c.breakers())) if (state !== 'closed' && states[name] !== 'open') states[name] = state;
      }
      return states;
    },
    on(event: 'upstream' | 'reload', listener: (x: never) => void) {
      if (event === 'upstream') upstreamListeners.push(listener as (e: UpstreamEvent) => void);
      else reloadListeners.push(listener as (c: Catalog) => void);
    },
    async close() {
      watcher.close();
      await edgeAuditor?.close();
      await caller.close();
      for (const c of tenantCallers.values()) await c.close();
      for (const { mock } of mocks.values()) await mock.close();
      // After the calls drained (graceful shutdown): the last checkpoint covers every answered call.
      await checkpoints?.close();
    },
  };
}

export interface HttpOptions {
  port: number;
  host: string;
  allowedOrigins?: string[];
  logger?: Logger;
  /** The base URL clients reach the server at (the 401 challenge and the protected-resource metadata); default the listen address. */
  publicUrl?: string;
  /** GET /metrics on this port: default `open` without governance, `off` with it (see BuildServerOptions). */
  metricsExposure?: 'open' | 'token' | 'off';
  metricsToken?: string;
  /** A `tenant` label on the tool-call counter; default off. */
  metricsTenantLabel?: boolean;
  discovery?: DiscoveryOptions;
  listTtlMs?: number;
  /** How often listening sessions' visible lists are checked against the store, ms; default 5,000. */
  listChangedPollMs?: number;
  /** Run when the server closes, after the runtime (whose last audit checkpoint needs the store): e.g. closing the store. */
  onClosed?: () => Promise<void>;
}

export async function startHttp(runtime: Runtime, options: HttpOptions): Promise<FastifyInstance> {
  const logger = options.logger;
  const governed = runtime.authenticate !== undefined;
  if (governed && !options.publicUrl) {
    (logger ?? createLogger()).warn('no public URL configured (serve --public-url or SPECGATE_PUBLIC_URL): the 401 challenge and the protected-resource metadata name the listen address, which clients behind a proxy cannot reach');
  }
  const app = await buildServer({
    catalog: () => runtime.catalog(),
    callTool: runtime.callTool,
    ...(runtime.auditRefusal ? { auditRefusal: runtime.auditRefusal } : {}),
    ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}),
    metricsExposure: options.metricsExposure ?? (options.metricsToken ? 'token' : governed ? 'off' : 'open'),
    ...(options.metricsToken ? { metricsToken: options.metricsToken } : {}),
    ...(options.metricsTenantLabel ? { metricsTenantLabel: true } : {}),
    ...(runtime.listTools ? { listTools: runtime.listTools } : {}),
    ...(runtime.authenticate ? { authenticate: runtime.authenticate } : {}),
    ...(runtime.describeCaller ? { describeCaller: runtime.describeCaller } : {}),
    ...(options.discovery ? { discovery: options.discovery } : {}),
    ...(options.listTtlMs !== undefined ? { listTtlMs: options.listTtlMs } : {}),
    ...(runtime.visibilityFingerprint ? { visibilityFingerprint: runtime.visibilityFingerprint } : {}),
    ...(options.listChangedPollMs !== undefined ? { listChangedPollMs: options.listChangedPollMs } : {}),
    ...(runtime.protectedResource ? { protectedResource: runtime.protectedResource } : {}),
    ...(options.allowedOrigins ? { allowedOrigins: options.allowedOrigins } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  runtime.on('upstream', (e) => app.metrics.recordUpstream({ connector: e.connector, status: e.status, seconds: e.durationMs / 1000 }));
  app.metrics.watchBreakers(() => runtime.breakers());
  runtime.on('reload', () => app.mcp.toolsChanged());
  app.addHook('onClose', async () => {
    await runtime.close();
    // A PostgreSQL pool left open would keep the process alive after SIGTERM.
    await options.onClosed?.();
  });
  // OTLP export when the standard OTEL_* variables ask for it; the SDK loads only then.
  const tracing = await (await import('./ops/tracing.ts')).startTracing();
  if (tracing) app.addHook('onClose', async () => tracing.shutdown());
  await app.listen({ port: options.port, host: options.host });
  return app;
}
