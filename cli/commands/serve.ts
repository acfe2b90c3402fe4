import type { Command } from 'commander';
import path from 'node:path';
import { defaultGeneratedDir, projectRoot } from '../../generator/paths.ts';
import type { Runtime } from '../../runtime/start.ts';
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
    .option('--policies <dir>', 'policy folder for the governance chain', path.join(projectRoot, 'policies'))
    .action(async (opts: { port: number; host: string; mock?: boolean; generated: string; allowOrigin?: string[]; customer?: string[]; config?: string; store?: string; policies: string }) => {
      const config = await readConfig(opts.config);
      const governance = await openGovernance(opts.store ?? process.env.SPECGATE_STORE, opts.policies);
      const { startHttp, startRuntime, upstreamsFromEnv } = await import('../../runtime/start.ts');
      const { createLogger } = await import('../../runtime/ops/logging.ts');
      const logger = createLogger();
      const runtime = await startRuntime({ generatedDir: path.resolve(opts.generated), mock: !!opts.mock, upstreams: upstreamsFromEnv(), ...config, logger, customerIds: parseCustomers(opts.customer), ...(governance ? { governance } : {}) });
      const app = await startHttp(runtime, { port: opts.port, host: opts.host, logger, ...(opts.allowOrigin ? { allowedOrigins: opts.allowOrigin } : {}) });
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : opts.port;
      describe(runtime, `http://${opts.host}:${port}/mcp`);
      if (governance) process.stderr.write('  governance chain on: API keys required (Authorization: Bearer sg_...), customer selected with the Specgate-Customer header\n');
    });

  program
    .command('stdio')
    .description('serve the connectors in generated/ over stdio, for a local desktop client')
    .option('--mock', 'serve every connector against a mock upstream driven by its document')
    .option('--generated <dir>', 'folder of generated connectors', defaultGeneratedDir)
    .option('--customer <connector=id...>', "the customer's id in a vendor, forced on customer-bound tools (mock mode: 1)")
    .option('--config <file>', 'upstream configuration (YAML): base URL and vendor credential per connector, secrets as ${ENV_VAR}')
    .action(async (opts: { mock?: boolean; generated: string; customer?: string[]; config?: string }) => {
      const config = await readConfig(opts.config);
      const { startRuntime, upstreamsFromEnv } = await import('../../runtime/start.ts');
      const { serveStdio } = await import('../../runtime/mcp/stdio.ts');
      const { createLogger } = await import('../../runtime/ops/logging.ts');
      const { default: pino } = await import('pino');
      // stdout carries the protocol: every log line goes to stderr.
      const logger = createLogger({ destination: pino.destination(2) });
      const runtime = await startRuntime({ generatedDir: path.resolve(opts.generated), mock: !!opts.mock, upstreams: upstreamsFromEnv(), ...config, logger, customerIds: parseCustomers(opts.customer) });
      serveStdio(() => runtime.catalog(), runtime.callTool, { logger });
      describe(runtime, 'stdio');
    });
}

async function openGovernance(url: string | undefined, policies: string) {
  if (!url) return undefined;
  const { openStore } = await import('../../runtime/store/index.ts');
  const { createPolicyEngine } = await import('../../runtime/policy/decide.ts');
  const policy = createPolicyEngine({ dir: path.resolve(policies) });
  const store = await openStore(url);
  return { store, policy, ...(process.env.SPECGATE_KEY_PEPPER ? { pepper: process.env.SPECGATE_KEY_PEPPER } : {}) };
}

async function readConfig(file: string | undefined) {
  if (!file) return {};
  const { loadRuntimeConfig } = await import('../../runtime/credentials/config.ts');
  const config = loadRuntimeConfig(path.resolve(file));
  return { upstreamConfig: config.upstreams, tenantUpstreamConfig: config.tenants };
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
