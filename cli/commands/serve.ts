import type { Command } from 'commander';
import path from 'node:path';
import { defaultGeneratedDir, defaultPoliciesDir } from '../../generator/paths.ts';
import type { Runtime } from '../../runtime/start.ts';
import type { IdentityConfig } from '../../runtime/identity/providers.ts';
import type { RuntimeUpstreamConfig } from '../../runtime/credentials/config.ts';
// Heavy modules load inside the action, so `--help` answers at once.

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the connectors in generated/ over MCP Streamable HTTP (POST /mcp)')
    .option('--port <n>', 'port', (v) => Number.parseInt(v, 10), 3000)
    .option('--host <h>', 'interface to listen on', '127.0.0.1')
    .option('--mock', 'serve every connector against a mock upstream driven by its document')
    .option('--generated <dir>', 'folder of generated connectors', defaultGeneratedDir)
    .option('--allow-origin <origin...>', 'browser origins allowed to call /mcp (default: localhost only)')
    .option('--customer <connector=id...>', "the customer's id in a vendor, forced on customer-bound tools (mock mode: 1)")
    .option('--config <file>', 'upstream configuration (YAML): base URL and vendor credential per connector, secrets as ${ENV_VAR}')
    .option('--store <url>', 'turn on the governance chain over this store (sqlite:<file> or postgres://...; env SPECGATE_STORE): API keys, tenants, customers, entitlements, policy, quotas, metering, audit')
    .option('--policies <dir>', 'policy folder for the governance chain', defaultPoliciesDir())
    .option('--master-key-file <file>', 'master keys that open the stored vendor credentials (default: env SPECGATE_MASTER_KEYS)')
    .option('--admin-port <n>', 'serve the admin HTTP API (/admin/v1) on this port, a listener of its own (needs --store; admin keys from `specgate admin-key create`, or env SPECGATE_ADMIN_TOKEN)', (v) => Number.parseInt(v, 10))
    .option('--admin-host <h>', 'interface the admin API listens on; keep it private', '127.0.0.1')
    .action(async (opts: { port: number; host: string; mock?: boolean; generated: string; allowOrigin?: string[]; customer?: string[]; config?: string; store?: string; policies: string; masterKeyFile?: string; adminPort?: number; adminHost: string }) => {
      const { identity, ...config } = await readConfig(opts.config);
      const store = opts.store ?? process.env.SPECGATE_STORE;
      if (identity && !store) throw new Error(`${opts.config}: identity providers authenticate callers of the governance chain: give --store too`);
      if (opts.adminPort !== undefined && !store) throw new Error('--admin-port serves the governance store over HTTP: give --store too');
      const governance = await openGovernance(store, opts.policies, identity);
      const credentials = governance && await openCredentials(governance.store, opts.masterKeyFile);
      const { startHttp, startRuntime, upstreamsFromEnv } = await import('../../runtime/start.ts');
      const { createLogger } = await import('../../runtime/ops/logging.ts');
      const logger = createLogger();
      const runtime = await startRuntime({ generatedDir: path.resolve(opts.generated), mock: !!opts.mock, upstreams: upstreamsFromEnv(), ...config, logger, customerIds: parseCustomers(opts.customer), ...(governance ? { governance } : {}), ...(credentials ? { tenantCredentials: credentials.tenantUpstreams } : {}) });
      const app = await startHttp(runtime, { port: opts.port, host: opts.host, logger, ...(opts.allowOrigin ? { allowedOrigins: opts.allowOrigin } : {}) });
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : opts.port;
      describe(runtime, `http://${opts.host}:${port}/mcp`);
      if (governance && opts.adminPort !== undefined) {
        // A separate listener, loopback by default: the port facing AI clients never carries the operator surface.
        const { startAdminServer, ADMIN_PREFIX } = await import('../../runtime/admin/index.ts');
        const admin = await startAdminServer({
          store: governance.store, port: opts.adminPort, host: opts.adminHost, logger,
          ...(governance.pepper ? { pepper: governance.pepper } : {}),
          ...(process.env.SPECGATE_ADMIN_TOKEN ? { adminToken: process.env.SPECGATE_ADMIN_TOKEN } : {}),
          ...(credentials ? { broker: credentials } : {}),
        });
        for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void admin.close());
        const a = admin.server.address();
        process.stderr.write(`  admin API on http://${opts.adminHost}:${typeof a === 'object' && a ? a.port : opts.adminPort}${ADMIN_PREFIX}\n`);
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
    .option('--policies <dir>', 'policy folder for the governance chain', defaultPoliciesDir())
    .option('--master-key-file <file>', 'master keys that open the stored vendor credentials (default: env SPECGATE_MASTER_KEYS)')
    .option('--select-customer <id>', 'with --store: the customer (of the key\'s tenant) this session acts for (env SPECGATE_CUSTOMER)')
    .action(async (opts: { mock?: boolean; generated: string; customer?: string[]; config?: string; store?: string; policies: string; masterKeyFile?: string; selectCustomer?: string }) => {
      const { identity, ...config } = await readConfig(opts.config);
      const store = opts.store ?? process.env.SPECGATE_STORE;
      // The key comes from the environment, never the command line, where `ps` would show it.
      const apiKey = process.env.SPECGATE_API_KEY;
      if (store && !apiKey) throw new Error('stdio with a store runs the governance chain: set SPECGATE_API_KEY to the API key of the local user');
      const governance = await openGovernance(store, opts.policies, identity);
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
      const headers = apiKey && governance ? { authorization: `Bearer ${apiKey}`, ...(customer && { 'specgate-customer': customer }) } : undefined;
      // Refuse at startup, with the reason, rather than answer every message with the same refusal.
      if (headers && runtime.authenticate) await runtime.authenticate({ headers, requestId: 'stdio-startup' });
      serveStdio(() => runtime.catalog(), runtime.callTool, { logger, ...(runtime.listTools && { listTools: runtime.listTools }), ...(headers && { headers }) });
      describe(runtime, 'stdio');
      if (governance) process.stderr.write(`  governance chain on: acting as the key in SPECGATE_API_KEY${customer ? ` for customer ${customer}` : ''}\n`);
    });
}

async function openGovernance(url: string | undefined, policies: string, identity?: IdentityConfig) {
  if (!url) return undefined;
  const { openStore } = await import('../../runtime/store/index.ts');
  const { createPolicyEngine } = await import('../../runtime/policy/decide.ts');
  const policy = createPolicyEngine({ dir: path.resolve(policies) });
  const store = await openStore(url);
  return { store, policy, ...(process.env.SPECGATE_KEY_PEPPER ? { pepper: process.env.SPECGATE_KEY_PEPPER } : {}), ...(identity && { identity }) };
}

async function openCredentials(store: import('../../runtime/store/index.ts').Store, masterKeyFile: string | undefined) {
  const { createCredentialBroker } = await import('../../runtime/credentials/broker.ts');
  const { loadKeyring } = await import('../../runtime/credentials/keyring.ts');
  return createCredentialBroker({ store, keyring: loadKeyring({ file: masterKeyFile }) });
}

async function readConfig(file: string | undefined): Promise<{ upstreamConfig?: RuntimeUpstreamConfig['upstreams']; tenantUpstreamConfig?: RuntimeUpstreamConfig['tenants']; identity?: IdentityConfig }> {
  if (!file) return {};
  const { loadRuntimeConfig } = await import('../../runtime/credentials/config.ts');
  const config = loadRuntimeConfig(path.resolve(file));
  return { upstreamConfig: config.upstreams, tenantUpstreamConfig: config.tenants, ...(config.identity && { identity: config.identity }) };
}

function parseCustomers(entries: string[] | undefined): Record<string, string> | undefined {
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
