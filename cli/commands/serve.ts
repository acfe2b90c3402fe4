import type { Command } from 'commander';
import path from 'node:path';
import { defaultGeneratedDir } from '../../generator/paths.ts';
import { startHttp, startRuntime, upstreamsFromEnv } from '../../runtime/start.ts';
import { serveStdio } from '../../runtime/mcp/stdio.ts';
import { createLogger } from '../../runtime/ops/logging.ts';
import pino from 'pino';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the connectors in generated/ over MCP Streamable HTTP (POST /mcp)')
    .option('--port <n>', 'port', (v) => Number.parseInt(v, 10), 3000)
    .option('--host <h>', 'interface to listen on', '127.0.0.1')
    .option('--mock', 'serve every connector against a mock upstream driven by its document')
    .option('--generated <dir>', 'folder of generated connectors', defaultGeneratedDir)
    .option('--allow-origin <origin...>', 'browser origins allowed to call /mcp (default: localhost only)')
    .action(async (opts: { port: number; host: string; mock?: boolean; generated: string; allowOrigin?: string[] }) => {
      const logger = createLogger();
      const runtime = await startRuntime({ generatedDir: path.resolve(opts.generated), mock: !!opts.mock, upstreams: upstreamsFromEnv(), logger });
      const app = await startHttp(runtime, { port: opts.port, host: opts.host, logger, ...(opts.allowOrigin ? { allowedOrigins: opts.allowOrigin } : {}) });
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : opts.port;
      describe(runtime, `http://${opts.host}:${port}/mcp`);
    });

  program
    .command('stdio')
    .description('serve the connectors in generated/ over stdio, for a local desktop client')
    .option('--mock', 'serve every connector against a mock upstream driven by its document')
    .option('--generated <dir>', 'folder of generated connectors', defaultGeneratedDir)
    .action(async (opts: { mock?: boolean; generated: string }) => {
      // stdout carries the protocol: every log line goes to stderr.
      const logger = createLogger({ destination: pino.destination(2) });
      const runtime = await startRuntime({ generatedDir: path.resolve(opts.generated), mock: !!opts.mock, upstreams: upstreamsFromEnv(), logger });
      serveStdio(() => runtime.catalog(), runtime.callTool, { logger });
      describe(runtime, 'stdio');
    });
}

function describe(runtime: Awaited<ReturnType<typeof startRuntime>>, where: string): void {
  const catalog = runtime.catalog();
  const upstreams = runtime.upstreams();
  process.stderr.write(`specgate: serving MCP on ${where}: ${catalog.connectors.length} connector(s), ${catalog.tools.length} tools\n`);
  for (const c of catalog.connectors) {
    const u = upstreams[c.model.name];
    const tools = catalog.tools.filter((t) => t.connector === c.model.name).length;
    process.stderr.write(`  ${c.model.name}: ${tools} tools -> ${u ? `${u.url}${u.mock ? ' (mock)' : ''}` : 'no upstream configured'}\n`);
  }
}
