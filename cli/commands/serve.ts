import type { Command } from 'commander';
import path from 'node:path';
import { defaultGeneratedDir, defaultPoliciesDir } from '../../generator/paths.ts';
import type { Runtime } from '../../runtime/start.ts';
import type { IdentityConfig } from '../../runtime/identity/providers.ts';
import type { RuntimeUpstreamConfig } from '../../runtime/credentials/config.ts';
import { DEFAULT_DISCOVERY_THRESHOLD, parseDiscoveryMode, parseDiscoveryThreshold, type DiscoveryOptions } from '../../runtime/discovery/mode.ts';
// Heavy modules load inside the action, so `--help` answers at once.

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the connectors in generated/ over MCP Streamable HTTP (POST /mcp)')
    .option('--port <n>', 'port', (v) => Number.parseInt(v, 10), 3000)
    .option('--host <h>', 'interface to listen on', '127.0.0.1')
    .option('--mock', 'serve every connector against a mock upstream driven by its document')
    .option('--mock-port <connector=port...>', 'listen port of a connector\'s mock upstream (default: a free port)')
    .option('--generated <dir>', 'folder of generated connectors', defaultGeneratedDir)
    .option('--allow-origin <origin...>', 'browser origins allowed to call /mcp (default: localhost only)')
    .option('--customer <connector=id...>', "the customer's id in a vendor, forced on customer-bound tools (mock mode: 1)")
    .option('--config <file>', 'upstream configuration (YAML): base URL and vendor credential per connector, secrets as ${ENV_VAR}')
    .option('--store <url>', 'turn on the governance chain over this store (sqlite:<file> or postgres://...; env SPECGATE_STORE): API keys, tenants, customers, entitlements, policy, quotas, metering, audit')
    .option('--create-store', 'with --store: create the store if it does not exist (otherwise a store that is not there is an error)')
    .option('--policies <dir>', 'policy folder for the governance chain', defaultPoliciesDir())
    .option('--master-key-file <file>', 'master keys that open the stored vendor credentials (default: env SPECGATE_MASTER_KEYS)')
    .option('--public-url <url>', 'the base URL clients reach this server at, e.g. https://mcp.example.com (env SPECGATE_PUBLIC_URL): the 401 challenge and the protected-resource metadata name it; default the listen address')
    .option('--metrics-port <n>', 'serve /metrics on a listener of its own on this port (and not on the MCP port)', (v) => Number.parseInt(v, 10))
    .option('--metrics-host <h>', 'interface the metrics listener binds; keep it private', '127.0.0.1')
    .option('--metrics-tenant-label', 'label tool-call metrics with the caller\'s tenant (one series per tenant and tool: mind the cardinality)')
    .option('--public-metrics', 'serve /metrics on the MCP port without a token (default without --store only; env SPECGATE_METRICS_TOKEN puts it behind a bearer token instead)')
    .option('--list-ttl <ms>', 'how long a client may reuse tools/list and the server instructions (2026-07-28 cache hints); list_changed still reaches listening clients at once', '5000')
    .option('--list-changed-poll <ms>', 'with --store: how often listening sessions are checked for grant, key and customer changes (list_changed)', '5000')
    .option('--discovery <mode>', 'progressive discovery: auto (meta-tools when a caller may use more tools than --discovery-threshold), on, off', 'auto')
    .option('--discovery-threshold <tools>', 'with --discovery auto: list the meta-tools above this many visible tools', String(DEFAULT_DISCOVERY_THRESHOLD))
    .option('--cache <tool=ms...>', 'with --store: reuse the results of these tools (names or globs) for this many ms, per tenant, customer and arguments, over their spec\'s response.cacheMs (0: never)')
    .option('--vendor-budget <connector=requests/seconds...>', 'with --store: refuse calls to a connector past this many requests per window, per tenant (e.g. autotask=9000/3600)')
    .option('--admin-port <n>', 'serve the admin HTTP API (/admin/v1) on this port, a listener of its own (needs --store; admin keys from `specgate admin-key create`, or env SPECGATE_ADMIN_TOKEN)', (v) => Number.parseInt(v, 10))
    .option('--admin-host <h>', 'interface the admin API listens on; keep it private', '127.0.0.1')
    .action(async (opts: { port: number; host: string; mock?: boolean; mockPort?: string[]; generated: string; allowOrigin?: string[]; customer?: string[]; config?: string; store?: string; createStore?: boolean; policies: string; masterKeyFile?: string; publicUrl?: string; metricsPort?: number; metricsHost: string; publicMetrics?: boolean; metricsTenantLabel?: boolean; adminPort?: number; adminHost: string; discovery: string; discoveryThreshold: string; listTtl: string; listChangedPoll: string; cache?: string[]; vendorBudget?: string[] }) => {
      const { identity, ...config } = await readConfig(opts.config);
      const store = opts.store ?? process.env.SPECGATE_STORE;
      if (identity && !store) throw new Error(`${opts.config}: identity providers authenticate callers of the governance chain: give --store too`);
      if (opts.adminPort !== undefined && !store) throw new Error('--admin-port serves the governance store over HTTP: give --store too');
      const publicUrl = parsePublicUrl(opts.publicUrl ?? process.env.SPECGATE_PUBLIC_URL);
      const metricsToken = process.env.SPECGATE_METRICS_TOKEN || undefined;
      const mockPorts = parseMockPorts(opts.mockPort);
      const cacheTools = parseCache(opts.cache);
      const vendorBudgets = parseVendorBudgets(opts.vendorBudget);
      if ((cacheTools || vendorBudgets) && !store) throw new Error('--cache and --vendor-budget are steps of the governance chain: give --store too');
      const opened = await openGovernance(store, opts.policies, identity, !!opts.createStore);
      const governance = opened && { ...opened, ...(cacheTools && { responseCache: { tools: cacheTools } }), ...(vendorBudgets && { vendorBudgets }) };
      const credentials = governance && await openCredentials(governance.store, opts.masterKeyFile);
      const { startHttp, startRuntime, upstreamsFromEnv } = await import('../../runtime/start.ts');
      const { createLogger } = await import('../../runtime/ops/logging.ts');
      const logger = createLogger();
      const runtime = await startRuntime({ generatedDir: path.resolve(opts.generated), mock: !!opts.mock, ...(mockPorts && { mockPorts }), upstreams: upstreamsFromEnv(), ...config, logger, customerIds: parseCustomers(opts.customer), ...(governance ? { governance } : {}), ...(credentials ? { tenantCredentials: credentials.tenantUpstreams } : {}) });
      // /metrics on the MCP port: never beside a metrics listener; behind the token when there is one;
      // open when asked, or by default without a store (a local, ungoverned runtime).
      const metricsExposure = opts.metricsPort !== undefined ? 'off' : metricsToken ? 'token' : opts.publicMetrics || !governance ? 'open' : 'off';
      const app = await startHttp(runtime, {
        port: opts.port, host: opts.host, logger, metricsExposure, discovery: discoveryOf(opts), listTtlMs: listTtlOf(opts.listTtl), listChangedPollMs: pollOf(opts.listChangedPoll), ...(metricsToken && { metricsToken }), ...(publicUrl && { publicUrl }),
        ...(opts.allowOrigin ? { allowedOrigins: opts.allowOrigin } : {}),
        ...(governance && { onClosed: () => governance.store.close() }),
        ...(opts.metricsTenantLabel && { metricsTenantLabel: true }),
      });
      if (opts.metricsPort !== undefined) {
        const { startMetricsServer } = await import('../../runtime/ops/metrics-server.ts');
        const metricsApp = await startMetricsServer({ metrics: app.metrics, port: opts.metricsPort, host: opts.metricsHost, ...(metricsToken && { token: metricsToken }) });
        // The MCP app is already listening (no more hooks): close with its server.
        app.server.once('close', () => void metricsApp.close());
        const m = metricsApp.server.address();
        process.stderr.write(`  metrics on http://${opts.metricsHost}:${typeof m === 'object' && m ? m.port : opts.metricsPort}/metrics\n`);
      } else if (metricsExposure === 'off') {
        process.stderr.write('  /metrics is not served on the MCP port of a governed runtime: use --metrics-port, SPECGATE_METRICS_TOKEN or --public-metrics\n');
      }
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : opts.port;
      describe(runtime, `http://${opts.host}:${port}/mcp`);
      if (governance && opts.adminPort !== undefined) {
        // A separate listener, loopback by default: the port facing AI clients never carries the operator surface.
        const { startAdminServer, ADMIN_PREFIX } = await import('../../runtime/admin/index.ts');
        const { catalogReporter } = await import('../../runtime/admin/catalog-report.ts');
        const admin = await startAdminServer({
          catalog: catalogReporter(runtime),
          store: governance.store, port: opts.adminPort, host: opts.adminHost, logger,
          ...(governance.pepper ? { pepper: governance.pepper } : {}),
          ...(process.env.SPECGATE_ADMIN_TOKEN ? { adminToken: process.env.SPECGATE_ADMIN_TOKEN } : {}),
          ...(credentials ? { broker: credentials } : {}),
        });
        for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void admin.close());
        const a = admin.server.address();
        const adminUrl = `http://${opts.adminHost}:${typeof a === 'object' && a ? a.port : opts.adminPort}`;
        process.stderr.write(`  admin API on ${adminUrl}${ADMIN_PREFIX} (OpenAPI at ${ADMIN_PREFIX}/openapi.json), console on ${adminUrl}/console/\n`);
      }
      // `specgate credential set` runs in another process: poll the store and rebuild the executors when it changes
      // (an unref'd timer, so it never holds the process open).
      credentials?.watch(() => void runtime.reloadCredentials(), { onError: (e) => logger.error({ err: e.message }, 'credential watch failed') });
      if (governance) process.stderr.write(`  governance chain on: API keys required (Authorization: Bearer sg_...)${identity ? `, or access tokens from ${identity.providers.map((p) => p.name).join(', ')}` : ''}, customer selected with the Specgate-Customer header\n`);
    });

  program
    .command('stdio')
    .description('serve the connectors in generated/ over stdio, for a local desktop client')
    .option('--mock', 'serve every connector against a mock upstream driven by its document')
    .option('--generated <dir>', 'folder of generated connectors', defaultGeneratedDir)
    .option('--customer <connector=id...>', "the customer's id in a vendor, forced on customer-bound tools (mock mode: 1)")
    .option('--config <file>', 'upstream configuration (YAML): base URL and vendor credential per connector, secrets as ${ENV_VAR}')
    .option('--store <url>', 'run the governance chain over this store (env SPECGATE_STORE); the caller is the API key in env SPECGATE_API_KEY')
    .option('--create-store', 'with --store: create the store if it does not exist')
    .option('--policies <dir>', 'policy folder for the governance chain', defaultPoliciesDir())
    .option('--master-key-file <file>', 'master keys that open the stored vendor credentials (default: env SPECGATE_MASTER_KEYS)')
    .option('--list-ttl <ms>', 'how long a client may reuse tools/list and the server instructions (2026-07-28 cache hints); list_changed still reaches listening clients at once', '5000')
    .option('--list-changed-poll <ms>', 'with --store: how often listening sessions are checked for grant, key and customer changes (list_changed)', '5000')
    .option('--discovery <mode>', 'progressive discovery: auto (meta-tools when a caller may use more tools than --discovery-threshold), on, off', 'auto')
    .option('--discovery-threshold <tools>', 'with --discovery auto: list the meta-tools above this many visible tools', String(DEFAULT_DISCOVERY_THRESHOLD))
    .option('--select-customer <id>', 'with --store: the customer (of the key\'s tenant) this session acts for (env SPECGATE_CUSTOMER)')
    .action(async (opts: { mock?: boolean; generated: string; customer?: string[]; config?: string; store?: string; createStore?: boolean; policies: string; masterKeyFile?: string; selectCustomer?: string; discovery: string; discoveryThreshold: string; listTtl: string; listChangedPoll: string }) => {
      const { identity, ...config } = await readConfig(opts.config);
      const store = opts.store ?? process.env.SPECGATE_STORE;
      // The key comes from the environment, never the command line, where `ps` would show it.
      const apiKey = process.env.SPECGATE_API_KEY;
      if (store && !apiKey) throw new Error('stdio with a store runs the governance chain: set SPECGATE_API_KEY to the API key of the local user');
      const governance = await openGovernance(store, opts.policies, identity, !!opts.createStore);
      const credentials = governance && await openCredentials(governance.store, opts.masterKeyFile);
      const { startRuntime, upstreamsFromEnv } = await import('../../runtime/start.ts');
      const { serveStdio } = await import('../../runtime/mcp/stdio.ts');
      const { createLogger } = await import('../../runtime/ops/logging.ts');
      const { default: pino } = await import('pino');
      // stdout carries the protocol: every log line goes to stderr.
      const logger = createLogger({ destination: pino.destination(2) });
      const runtime = await startRuntime({
        generatedDir: path.resolve(opts.generated), mock: !!opts.mock, upstreams: upstreamsFromEnv(), ...config, logger, customerIds: parseCustomers(opts.customer),
        ...(governance ? { governance } : {}), ...(credentials ? { tenantCredentials: credentials.tenantUpstreams } : {}),
      });
      const customer = opts.selectCustomer ?? process.env.SPECGATE_CUSTOMER;
      const toolsets = process.env.SPECGATE_TOOLSETS;
      const credentialHeaders = apiKey && governance ? { authorization: `Bearer ${apiKey}`, ...(customer && { 'specgate-customer': customer }) } : undefined;
      const headers = credentialHeaders || toolsets ? { ...credentialHeaders, ...(toolsets && { 'specgate-toolsets': toolsets }) } : undefined;
      // Refuse at startup, with the reason, rather than answer every message with the same refusal.
      if (credentialHeaders && runtime.authenticate) await runtime.authenticate({ headers: credentialHeaders, requestId: 'stdio-startup' });
      serveStdio(() => runtime.catalog(), runtime.callTool, {
        logger, discovery: discoveryOf(opts), listTtlMs: listTtlOf(opts.listTtl), ...(runtime.listTools && { listTools: runtime.listTools }), ...(headers && { headers }),
        listChangedPollMs: pollOf(opts.listChangedPoll), ...(runtime.visibilityFingerprint && { visibilityFingerprint: runtime.visibilityFingerprint }),
        ...(runtime.describeCaller && { describeCaller: runtime.describeCaller }),
        // One connection per process, for the process's life: nothing to unsubscribe.
        toolsChanged: (listener) => {
          runtime.on('reload', listener);
          return () => undefined;
        },
      });
      describe(runtime, 'stdio');
      if (governance) process.stderr.write(`  governance chain on: acting as the key in SPECGATE_API_KEY${customer ? ` for customer ${customer}` : ''}\n`);
    });
}

function listTtlOf(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--list-ttl: expected a whole number of milliseconds (0 or more), got '${value}'`);
  return n;
}

function pollOf(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 10 || n > 3_600_000) throw new Error(`--list-changed-poll: expected a whole number of milliseconds from 10 to 3600000, got '${value}'`);
  return n;
}

function discoveryOf(opts: { discovery: string; discoveryThreshold: string; listTtl: string }): DiscoveryOptions {
  return { mode: parseDiscoveryMode(opts.discovery), threshold: parseDiscoveryThreshold(opts.discoveryThreshold) };
}

/** `tool=ms` pairs of --cache. */
export function parseCache(entries: string[] | undefined): Record<string, number> | undefined {
  if (!entries?.length) return undefined;
  return Object.fromEntries(entries.map((e) => {
    const m = /^([^=]+)=(\d+)$/.exec(e);
    if (!m) throw new Error(`--cache: expected tool=milliseconds, got '${e}'`);
    return [m[1], Number(m[2])];
  }));
}

/** `connector=requests/seconds` pairs of --vendor-budget. */
export function parseVendorBudgets(entries: string[] | undefined): Record<string, { requests: number; perSeconds: number }> | undefined {
  if (!entries?.length) return undefined;
  return Object.fromEntries(entries.map((e) => {
    const m = /^([a-z][a-z0-9_]*)=(\d+)\/(\d+)$/.exec(e);
    if (!m) throw new Error(`--vendor-budget: expected connector=requests/seconds (e.g. autotask=9000/3600), got '${e}'`);
    return [m[1], { requests: Number(m[2]), perSeconds: Number(m[3]) }];
  }));
}

async function openGovernance(url: string | undefined, policies: string, identity: IdentityConfig | undefined, create: boolean) {

  if (!url) return undefined;
  const { openStore } = await import('../../runtime/store/index.ts');
  const { createPolicyEngine } = await import('../../runtime/policy/decide.ts');
  const policy = createPolicyEngine({ dir: path.resolve(policies) });
  const store = await openStore(url, { create });
  return { store, policy, ...(process.env.SPECGATE_KEY_PEPPER ? { pepper: process.env.SPECGATE_KEY_PEPPER } : {}), ...(identity && { identity }) };
}

async function openCredentials(store: import('../../runtime/store/index.ts').Store, masterKeyFile: string | undefined) {
  const { createCredentialBroker } = await import('../../runtime/credentials/broker.ts');
  const { loadKeyring } = await import('../../runtime/credentials/keyring.ts');
  return createCredentialBroker({ store, keyring: loadKeyring({ file: masterKeyFile }) });
}

export async function readConfig(file: string | undefined): Promise<{ upstreamConfig?: RuntimeUpstreamConfig['upstreams']; tenantUpstreamConfig?: RuntimeUpstreamConfig['tenants']; identity?: IdentityConfig }> {
  if (!file) return {};
  const { loadRuntimeConfig } = await import('../../runtime/credentials/config.ts');
  const config = loadRuntimeConfig(path.resolve(file));
  return { upstreamConfig: config.upstreams, tenantUpstreamConfig: config.tenants, ...(config.identity && { identity: config.identity }) };
}

/** An absolute http(s) base URL, or undefined; anything else is refused at startup. */
function parsePublicUrl(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new Error(`--public-url ${value}: not a URL; give the base URL clients reach the server at, e.g. https://mcp.example.com`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error(`--public-url ${value}: must be an http(s) URL`);
  if (u.search || u.hash) throw new Error(`--public-url ${value}: must not carry a query or fragment`);
  return value.replace(/\/+$/, '');
}

/** `--mock-port connector=port`: fixed ports for mock upstreams (a browser or another tool can then be pointed at them). */
export function parseMockPorts(entries: string[] | undefined): Record<string, number> | undefined {
  if (!entries) return undefined;
  const out: Record<string, number> = {};
  for (const e of entries) {
    const m = /^([a-z][a-z0-9_]*)=(\d{1,5})$/.exec(e);
    const port = m ? Number(m[2]) : NaN;
    if (!m || port < 1 || port > 65535) throw new Error(`--mock-port ${e}: expected <connector>=<port from 1 to 65535>, e.g. halopsa=9101`);
    if (Object.values(out).includes(port)) throw new Error(`--mock-port ${e}: port ${port} is already given to another connector`);
    out[m[1]!] = port;
  }
  return out;
}

export function parseCustomers(entries: string[] | undefined): Record<string, string> | undefined {
  if (!entries) return undefined;
  const out: Record<string, string> = {};
  for (const e of entries) {
    const m = /^([a-z][a-z0-9_]*)=(.+)$/.exec(e);
    if (!m) throw new Error(`--customer ${e}: expected <connector>=<customer id in that vendor>, e.g. halopsa=42`);
    out[m[1]] = m[2];
  }
  return out;
}

function describe(runtime: Runtime, where: string): void {
  const catalog = runtime.catalog();
  const upstreams = runtime.upstreams();
  process.stderr.write(`specgate: serving MCP on ${where}: ${catalog.connectors.length} connector(s), ${catalog.tools.length} tools\n`);
  for (const c of catalog.connectors) {
    const u = upstreams[c.model.name];
    const tools = catalog.tools.filter((t) => t.connector === c.model.name).length;
    const customer = runtime.customerIds()[c.model.name];
    process.stderr.write(`  ${c.model.name}: ${tools} tools -> ${u ? `${u.url}${u.mock ? ' (mock)' : ''}` : 'no upstream configured'}${customer !== undefined ? `, customer ${customer}` : ''}\n`);
  }
}
