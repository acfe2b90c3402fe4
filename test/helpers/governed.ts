/**
 * A governed runtime for the robustness suites (fault injection, fuzzing, isolation): the helpdesk
 * fixture connector generated into a temp folder, a SQLite store the test seeds, the default
 * policies, served over real HTTP; plus what those suites ask of the store afterwards (the usage
 * and audit rows of the calls they made).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { openStore, type Store } from '../../runtime/store/index.ts';
import { createPolicyEngine } from '../../runtime/policy/decide.ts';
import { startHttp, startRuntime, type HttpOptions, type Runtime, type RuntimeOptions } from '../../runtime/start.ts';
import type { ConnectorModel } from '../../runtime/model.ts';
import type { IdentityConfig } from '../../runtime/identity/providers.ts';
import { generateInto, root, tempDir } from './e2e.ts';

export const HELPDESK_DOCUMENT = path.join(root, 'test/fixtures/generator/helpdesk.yaml');

/**
 * Three tools: a customer-bound list with query parameters, a get with an integer path parameter,
 * and a get with a string path parameter and a header parameter (the ones injection aims at).
 */
export const HELPDESK_SPEC = `specgate: 1
connector: helpdesk
document:
  source: ${HELPDESK_DOCUMENT}
customer:
  parameters: [client_id]
tools:
  - operationId: listTickets
    name: helpdesk_list_tickets
    parameters:
      includeDeleted: { fixed: false }
  - operationId: getTicket
    name: helpdesk_get_ticket
    customer: false
  - operationId: getArticle
    name: helpdesk_get_article
    customer: false
`;

/** A plausible answer for each helpdesk path, for upstreams that answer normally. */
export function helpdeskAnswer(url: URL): unknown {
  if (url.pathname.endsWith('/tickets')) return { tickets: [{ id: 1, summary: 'printer' }] };
  if (url.pathname.includes('/articles/')) return { slug: 'a', body: 'text' };
  return { id: 1, summary: 'one' };
}

export interface Governed {
  url: string;
  store: Store;
  app: FastifyInstance;
  runtime: Runtime;
  model: ConnectorModel;
  close(): Promise<void>;
}

export interface GovernedOptions extends Pick<RuntimeOptions, 'upstreams' | 'upstreamConfig' | 'tenantUpstreamConfig' | 'caller'> {
  prefix: string;
  /** Tenants, customers, keys and grants, before the runtime starts. */
  seed(store: Store): Promise<void>;
}

export async function startGoverned(options: GovernedOptions): Promise<Governed> {
  const dir = tempDir(options.prefix);
  const specFile = path.join(dir, 'helpdesk.yaml');
  fs.writeFileSync(specFile, HELPDESK_SPEC);
  const generated = await generateInto([specFile], path.join(dir, 'generated'));
  const store = await openStore(`sqlite:${path.join(dir, 'store.db')}`);
  await options.seed(store);
  const { runtime, app, url } = await serveGoverned(store, {
    generatedDir: path.join(dir, 'generated'),
    upstreams: options.upstreams,
    upstreamConfig: options.upstreamConfig,
    tenantUpstreamConfig: options.tenantUpstreamConfig,
    caller: options.caller,
  });
  return {
    url,
    store,
    app,
    runtime,
    model: generated.builds[0]!.model,
    async close() {
      await app.close();
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ServeGovernedOptions extends Omit<RuntimeOptions, 'mock' | 'logger' | 'governance'> {
  /** Identity providers beside API keys. */
  identity?: IdentityConfig;
  /** Silent unless a test reads the logs. */
  logger?: Logger;
  /** What startHttp takes beside the port and host (metrics exposure, public URL). */
  http?: Omit<HttpOptions, 'port' | 'host' | 'logger'>;
}

/**
 * The runtime with the governance chain over `store` and the project's own policies/, against
 * real upstreams, listening over HTTP on a free loopback port: what `specgate serve --store` runs.
 */
export async function serveGoverned(store: Store, options: ServeGovernedOptions): Promise<{ runtime: Runtime; app: FastifyInstance; url: string }> {
  const { identity, logger = pino({ level: 'silent' }), http, ...rest } = options;
  const runtime = await startRuntime({
    ...rest,
    mock: false,
    logger,
    governance: { store, policy: createPolicyEngine({ dir: path.join(root, 'policies') }), ...(identity && { identity }) },
  });
  const app = await startHttp(runtime, { ...http, port: 0, host: '127.0.0.1', logger });
  const address = app.server.address();
  return { runtime, app, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/mcp` };
}

/** The official (current-era) MCP client with the caller's headers on every request. */
export async function governedClient(url: string, headers: Record<string, string>): Promise<Client> {
  const client = new Client({ name: 'specgate-robustness', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return client;
}

export interface ToolResult {
  isError?: boolean;
  content: Array<{ type: string; text: string }>;
  structuredContent?: Record<string, unknown>;
}

/** One row of each record kind, in the order they were written. */
export interface CallRecords {
  usage: Array<{ callId: string; tool: string; outcome: string; customerId: string | null }>;
  audit: Array<{ seq: number; callId: string; tool: string; outcome: string; code?: string; reason?: string }>;
}

/** Everything the store holds about a tenant's calls: usage rows and audit records. */
export async function callRecords(store: Store, tenantId: string): Promise<CallRecords> {
  const usage = await store.db.selectFrom('usage').select(['call_id', 'tool', 'outcome', 'customer_id', 'at'])
    .where('tenant_id', '=', tenantId).orderBy('at').orderBy('call_id').execute();
  const audit = await store.db.selectFrom('audit').select(['seq', 'record'])
    .where('tenant_id', '=', tenantId).orderBy('seq').execute();
  return {
    usage: usage.map((u) => ({ callId: u.call_id, tool: u.tool, outcome: u.outcome, customerId: u.customer_id })),
    audit: audit.map((a) => {
      const r = JSON.parse(a.record) as { callId: string; tool: string; outcome: string; code?: string; reason?: string };
      return { seq: a.seq, callId: r.callId, tool: r.tool, outcome: r.outcome, ...(r.code ? { code: r.code } : {}), ...(r.reason ? { reason: r.reason } : {}) };
    }),
  };
}
