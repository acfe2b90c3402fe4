import type { Command } from 'commander';
// Heavy modules load inside the action, so `--help` answers at once.
import path from 'node:path';
import { defaultGeneratedDir } from '../../generator/paths.ts';
import { parseCustomers, readConfig } from './serve.ts';

interface TryOptions { args: string; mock?: boolean; upstream?: string; generated: string; config?: string; customer?: string[] }

export function registerTry(program: Command): void {
  program
    .command('try')
    .description('call one tool without an MCP client (ungoverned, through the same call path as serve) and print its structured result')
    .argument('<tool>', 'the tool name, e.g. halopsa_list_tickets')
    .option('--args <json>', 'the arguments, as a JSON object', '{}')
    .option('--mock', "call the mock upstream driven by the connector's document")
    .option('--upstream <url>', "call the tool's connector at this base URL")
    .option('--generated <dir>', 'folder of generated connectors', defaultGeneratedDir)
    .option('--config <file>', 'upstream configuration (YAML), as for serve')
    .option('--customer <connector=id...>', "the customer's id in a vendor, forced on customer-bound tools (mock mode: 1)")
    .action(async (tool: string, opts: TryOptions) => {
      if (opts.mock && opts.upstream) throw new Error('--mock and --upstream exclude each other: give one');
      const args = parseArgs(opts.args);
      const generatedDir = path.resolve(opts.generated);
      const { loadCatalog } = await import('../../runtime/catalog.ts');
      const catalog = await loadCatalog(generatedDir);
      const entry = catalog.byName.get(tool);
      if (!entry) throw new Error(await unknownTool(tool, catalog.tools.map((t) => t.name), generatedDir));
      const connector = entry.connector.model.name;
      const { identity: _identity, ...config } = await readConfig(opts.config);
      const { startRuntime, upstreamsFromEnv } = await import('../../runtime/start.ts');
      const { createLogger } = await import('../../runtime/ops/logging.ts');
      const { default: pino } = await import('pino');
      const { runToolCall } = await import('../../runtime/mcp/tools.ts');
      const { uuidv7 } = await import('../../runtime/ids.ts');
      // stdout carries the result: log lines go to stderr, warnings and worse only.
      const logger = createLogger({ destination: pino.destination(2), level: process.env.LOG_LEVEL ?? 'warn' });
      const upstreams = { ...upstreamsFromEnv(), ...(opts.upstream && { [connector]: { baseUrl: opts.upstream } }) };
      const runtime = await startRuntime({ generatedDir, mock: !!opts.mock, upstreams, ...config, logger, customerIds: parseCustomers(opts.customer) });
      try {
        const where = runtime.upstreams()[connector];
        process.stderr.write(`${tool} -> ${where ? `${where.url}${where.mock ? ' (mock)' : ''}` : 'no upstream'}\n`);
        const controller = new AbortController();
        process.once('SIGINT', () => controller.abort());
        const result = await runToolCall(runtime.catalog(), tool, args, { requestId: uuidv7(), signal: controller.signal, headers: {} }, { callTool: runtime.callTool, logger });
        if (result.isError) {
          const text = result.content.map((c) => (c.type === 'text' ? c.text : `[${c.type}]`)).join('\n');
          process.stderr.write(`${tool}: ${text}\n`);
          process.exitCode = 1;
          return;
        }
        process.stdout.write(`${JSON.stringify(result.structuredContent ?? result.content, null, 2)}\n`);
      } finally {
        await runtime.close();
      }
    });
}

function parseArgs(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`--args is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`--args must be a JSON object of arguments, e.g. '{"limit": 5}'; got ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}`);
  }
  return value as Record<string, unknown>;
}

async function unknownTool(tool: string, names: string[], generatedDir: string): Promise<string> {
  const { distance } = await import('fastest-levenshtein');
  const near = names.map((n) => ({ n, d: distance(n, tool) })).filter((x) => x.d <= Math.max(3, tool.length / 3)).sort((a, b) => a.d - b.d || a.n.localeCompare(b.n)).slice(0, 3).map((x) => x.n);
  return `unknown tool "${tool}" in ${path.relative(process.cwd(), generatedDir) || '.'} (${names.length} tools)${near.length ? `; did you mean ${near.join(', ')}?` : ''}`;
}
