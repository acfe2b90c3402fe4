/**
 * End-to-end parts shared by the tests that go spec -> generate -> serve -> MCP client: a
 * generated folder inside the project (so generated code resolves openapi-fetch and
 * runtime/model.ts), the runtime over real HTTP, and both eras of the official MCP client.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as LegacyHttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { generate, type GenerateResult } from '../../generator/generate.ts';
import { projectRoot, openapiDir } from '../../generator/paths.ts';
import { startHttp, startRuntime, type Runtime, type RuntimeOptions } from '../../runtime/start.ts';
import type { UpstreamConfig } from '../../runtime/call.ts';

export const root = projectRoot;

/** The vendors' documents; tests that need them skip with this reason when absent. */
export const vendorDir = openapiDir();
export const haveVendorDocs = fs.existsSync(path.join(vendorDir, 'halopsa.json'));
export const vendorDocsMissing = `vendor OpenAPI documents not found in ${vendorDir} (set SPECGATE_OPENAPI_DIR)`;

/** A fresh folder under the project, removed by the caller's cleanup. */
export function tempDir(prefix: string): string {
  fs.mkdirSync(path.join(root, 'test', '.tmp'), { recursive: true });
  return fs.mkdtempSync(path.join(root, 'test', '.tmp', `${prefix}-`));
}

export async function generateInto(specFiles: string[], outDir: string, check = false): Promise<GenerateResult> {
  const result = await generate(specFiles, { outDir, check });
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new Error(`generation failed:\n${errors.map((e) => `${e.file}:${e.line}:${e.column} ${e.message}`).join('\n')}`);
  return result;
}

export interface Served {
  url: string;
  runtime: Runtime;
  app: FastifyInstance;
  close(): Promise<void>;
}

export async function serve(generatedDir: string, options: { mock?: boolean; upstreams?: Record<string, UpstreamConfig>; caller?: RuntimeOptions['caller'] } = {}): Promise<Served> {
  const logger = pino({ level: 'silent' });
  const runtime = await startRuntime({ generatedDir, mock: options.mock ?? !options.upstreams, upstreams: options.upstreams, logger, caller: options.caller });
  const app = await startHttp(runtime, { port: 0, host: '127.0.0.1', logger });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}/mcp`, runtime, app, close: () => app.close() };
}

/** The current-era client (2026-07-28, negotiated through server/discover). */
export async function modernClient(url: string): Promise<Client> {
  const client = new Client({ name: 'specgate-test-modern', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

/** A 2025-era client (initialize handshake), as most deployed clients still are. */
export async function legacyClient(url: string): Promise<LegacyClient> {
  const client = new LegacyClient({ name: 'specgate-test-legacy', version: '1.0.0' });
  await client.connect(new LegacyHttpTransport(new URL(url)));
  return client;
}

/** Every tool, following tools/list cursors to the end. */
export async function listAll(client: Client | LegacyClient): Promise<Array<{ name: string; inputSchema: any; outputSchema?: any }>> {
  const tools: Array<{ name: string; inputSchema: any; outputSchema?: any }> = [];
  let cursor: string | undefined;
  do {
    const page = await (client as Client).listTools(cursor ? { cursor } : {});
    tools.push(...(page.tools as typeof tools));
    cursor = page.nextCursor;
  } while (cursor);
  return tools;
}
