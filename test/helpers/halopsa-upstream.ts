/**
 * The execution steps' test bench: the real generated HaloPSA connector (model, openapi-fetch
 * client, guard, resilience policy) against a real node:http upstream that holds two tickets,
 * 7 of our customer (HaloPSA client 42) and 8 of another (client 99).
 */
import { afterAll, afterEach, beforeAll } from 'vitest';
import path from 'node:path';
import { loadCatalog } from '../../runtime/catalog.ts';
import type { GeneratedConnector, ToolModel } from '../../runtime/model.ts';
import type { ToolCallContext } from '../../runtime/tool-call.ts';
import { createConnectorRuntime, type UpstreamConfig } from '../../runtime/call.ts';
import type { CursorSigner } from '../../runtime/upstream/cursor.ts';
import { startRecorder, type Recorder } from '../fixtures/call/harness.ts';
import { root } from './e2e.ts';

export const TICKETS: Record<string, unknown> = {
  7: { id: 7, summary: 'Printer', client_id: 42 },
  8: { id: 8, summary: 'Someone else', client_id: 99 },
};

/** The actions the upstream lists for a ticket. */
export const actionsOf = (ticket: number) => ({ record_count: 1, actions: [{ id: 1, ticket_id: ticket, note: 'Called back' }] });

export interface HaloBench {
  tool(name: string): ToolModel;
  /** The upstream; its recorded requests are cleared after each test. */
  up(): Recorder;
  runtime(upstream?: Partial<UpstreamConfig>, options?: Parameters<typeof createConnectorRuntime>[3]): ReturnType<typeof createConnectorRuntime>;
  connector(): GeneratedConnector;
  /** Closed after the file's tests. */
  defer(close: () => Promise<void>): void;
}

/** Registers the file's hooks; `signer` seals the cursors of every runtime made. */
export function useHaloBench(signer: CursorSigner): HaloBench {
  let halo: GeneratedConnector;
  let up: Recorder;
  const cleanup: Array<() => Promise<void>> = [];
  beforeAll(async () => {
    const catalog = await loadCatalog(path.join(root, 'generated'));
    halo = catalog.connectors.find((c) => c.model.name === 'halopsa')!;
    up = await startRecorder((url, req) => {
      const ticket = /^\/api\/Tickets\/(\d+)$/.exec(url.pathname);
      if (ticket) return TICKETS[ticket[1]!] ? { body: TICKETS[ticket[1]!] } : { status: 404, body: { message: 'no such ticket' } };
      if (url.pathname === '/api/Actions') return { body: actionsOf(Number(url.searchParams.get('ticket_id'))) };
      // A vendor that echoes the credential it was sent in its error text.
      if (url.pathname === '/api/Tickets') return { status: 400, body: { error: `bad request for key ${req.headers['x-api-key'] as string}` } };
      return { status: 500, body: 'unexpected' };
    });
    cleanup.push(up.close);
  }, 60_000);
  afterAll(async () => {
    while (cleanup.length) await cleanup.pop()!();
  });
  afterEach(() => {
    up.requests.length = 0;
  });
  return {
    tool: (name) => halo.model.tools.find((t) => t.name === name)!,
    up: () => up,
    connector: () => halo,
    runtime(upstream = {}, options = {}) {
      const rt = createConnectorRuntime(halo, { baseUrl: up.url, ...upstream }, signer, { retries: 0, ...options });
      cleanup.push(() => rt.guard.close());
      return rt;
    },
    defer: (close) => void cleanup.push(close),
  };
}

/** A call of tenant t1 for customer cust-a, whose HaloPSA client id is 42. */
export function haloContext(extra: Partial<ToolCallContext> = {}): ToolCallContext {
  return { requestId: 'r1', signal: new AbortController().signal, tenantId: 't1', customerIds: { halopsa: '42' }, customer: 'cust-a', ...extra };
}
