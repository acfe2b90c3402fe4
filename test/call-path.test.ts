/**
 * runtime/call-path.ts itself: the order of the execution steps (7.x) as one call meets them, and
 * the entry (5) and tenant executor choice (6.14), with the real generated HaloPSA connector
 * against real node:http upstreams. The governed steps (6.x) are proved through the same path by
 * governance.test.ts, security-governance.test.ts and request-context.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { ToolCallContext, UpstreamEvent } from '../runtime/tool-call.ts';
import type { RequestContext } from '../runtime/request-context.ts';
import { createToolCaller, type UpstreamConfig } from '../runtime/call.ts';
import { createCallTool, executeTool, tenantExecutor, type Executors } from '../runtime/call-path.ts';
import { createCursorSigner, encodeCursor } from '../runtime/upstream/cursor.ts';
import { cursorBinding } from '../runtime/execution/scope.ts';
import { startRecorder, type Recorder } from './fixtures/call/harness.ts';
import { TICKETS, actionsOf, haloContext, useHaloBench } from './helpers/halopsa-upstream.ts';

const signer = createCursorSigner([Buffer.alloc(32, 9)]);
const SECRET = 'hk_live_0123456789abcdef';
const bench = useHaloBench(signer);
const { tool } = bench;
let up: Recorder;
beforeAll(() => {
  up = bench.up();
});

function runtime(events: UpstreamEvent[] = [], upstream: Partial<UpstreamConfig> = {}) {
  return bench.runtime(upstream, { onUpstream: (e) => events.push(e) });
}

function context(extra: Partial<ToolCallContext> = {}): ToolCallContext {
  return haloContext({ usage: { upstreamBytes: 0 }, ownership: { withheld: 0 }, ...extra });
}

const paths = () => up.requests.map((r) => r.url.split('?')[0]);

describe('execution, in the order of call-path.ts (7.x)', () => {
  it('7.1 refuses invalid arguments by name before building anything: nothing sent, nothing billed, no upstream event', async () => {
    const events: UpstreamEvent[] = [];
    const ctx = context();
    const result = await executeTool(runtime(events), tool('halopsa_get_ticket'), { ticket_id: 'seven' }, ctx);
    expect(result.isError).toBe(true);
    expect(result.content[0]!.text).toMatch(/ticket_id/);
    expect(up.requests).toEqual([]);
    expect(events).toEqual([]);
    expect(ctx.usage).toEqual({ upstreamBytes: 0, reachedVendor: false });
  });

  it('7.1 is not repeated for arguments the governed path validated (6.9): the same arguments reach 7.3', async () => {
    // What 6.9 let through is what 7.3 builds from; a call outside the governed path never carries the mark.
    const result = await executeTool(runtime(), tool('halopsa_get_ticket'), { ticket_id: 7 }, context({ validated: true }));
    expect(result.isError).toBeFalsy();
    expect(paths()).toEqual(['/api/Tickets/7']);
  });

  it('a call cancelled before it started sends nothing', async () => {
    const abort = new AbortController();
    abort.abort();
    const result = await executeTool(runtime(), tool('halopsa_get_ticket'), { ticket_id: 7 }, context({ signal: abort.signal }));
    expect(result.content[0]!.text).toBe('The call was cancelled by the client');
    expect(up.requests).toEqual([]);
  });

  it("7.2 a cursor sealed for another tenant is refused before the request is built: nothing sent", async () => {
    const list = tool('halopsa_list_tickets');
    const theirs = signer.seal(cursorBinding(list, context({ tenantId: 't2' })), encodeCursor({ p: 2 }));
    const result = await executeTool(runtime(), list, { cursor: theirs }, context());
    expect(result.isError).toBe(true);
    expect(result.content[0]!.text).toMatch(/cursor/i);
    expect(up.requests).toEqual([]);
  });

  it("7.4 before 7.5: a parent ticket of another customer stops the call before the tool's own request", async () => {
    const ctx = context();
    const result = await executeTool(runtime(), tool('halopsa_list_ticket_actions'), { ticket_id: 8 }, ctx);
    expect(result.isError).toBe(true);
    expect(paths()).toEqual(['/api/Tickets/8']);
    expect(ctx.ownership?.refused?.code).toBe('other-customer');
    // The parent's answer was received: metering bills it.
    expect(ctx.usage).toEqual({ upstreamBytes: Buffer.byteLength(JSON.stringify(TICKETS[8])), reachedVendor: true });
  });

  it("7.4 to 7.11 for a record of this customer's: parent, then the tool's request, shaped and conformed, both bills in one", async () => {
    const events: UpstreamEvent[] = [];
    const ctx = context();
    const result = await executeTool(runtime(events), tool('halopsa_list_ticket_actions'), { ticket_id: 7 }, ctx);
    expect(result.isError).toBeFalsy();
    expect(paths()).toEqual(['/api/Tickets/7', '/api/Actions']);
    expect(result.structuredContent).toMatchObject({ result: { record_count: 1, actions: [{ id: 1, ticket_id: 7, note: 'Called back' }] } });
    expect(ctx.usage).toEqual({ upstreamBytes: Buffer.byteLength(JSON.stringify(TICKETS[7])) + Buffer.byteLength(JSON.stringify(actionsOf(7))), reachedVendor: true });
    expect(events).toEqual([expect.objectContaining({ connector: 'halopsa', tool: 'halopsa_list_ticket_actions', status: 200 })]);
  });

  it('7.6: the answer of another customer is refused, and never shown', async () => {
    const ctx = context();
    const result = await executeTool(runtime(), tool('halopsa_get_ticket'), { ticket_id: 8 }, ctx);
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result)).not.toMatch(/Someone else/);
    expect(ctx.ownership?.refused?.code).toBe('other-customer');
  });

  it("7.10: a vendor's error text that echoes the credential comes back with the credential scrubbed", async () => {
    const events: UpstreamEvent[] = [];
    const result = await executeTool(runtime(events, { authenticate: (req) => void req.headers.set('x-api-key', SECRET) }), tool('halopsa_list_tickets'), {}, context());
    expect(result.isError).toBe(true);
    expect(result.content[0]!.text).toMatch(/HTTP 400/);
    expect(JSON.stringify(result)).not.toContain(SECRET);
    expect(result.content[0]!.text).toContain('[redacted]');
    expect(events).toEqual([expect.objectContaining({ status: 400 })]);
  });
});

describe('the entry (5) and the executor choice (6.14)', () => {
  function executor(upstream: Recorder) {
    const caller = createToolCaller({ connectors: [bench.connector()], upstreams: { halopsa: { baseUrl: upstream.url } }, retries: 0, cursorKeys: [Buffer.alloc(32, 9)] });
    bench.defer(() => caller.close());
    return caller;
  }
  const request = (extra: Record<string, unknown> = {}): RequestContext => ({ requestId: 'q1', signal: new AbortController().signal, headers: {}, ...extra });

  it('ungoverned, customer-bound tools are bound to the configured customer, whatever the request context carries', async () => {
    const callTool = createCallTool({ executors: () => ({ shared: executor(up), tenants: new Map() }), customers: () => ({ ids: { halopsa: '42' }, namedIds: {} }) });
    // A context forged to carry another customer's ids (and a tenant) changes nothing.
    const forged = request({ customerIds: { halopsa: '99' }, tenantId: 'evil' });
    const result = await callTool(tool('halopsa_get_ticket'), { ticket_id: 7 }, forged);
    expect(result.isError).toBeFalsy();
    await callTool(tool('halopsa_list_contracts'), {}, forged);
    const contracts = up.requests.find((r) => r.url.startsWith('/api/ClientContract'));
    expect(new URL(contracts!.url, 'http://x').searchParams.get('client_id')).toBe('42');
  });

  it("reads the executors at each call, so a hot reload's executor serves the next call", async () => {
    const other = await startRecorder(() => ({ body: TICKETS[7] }));
    bench.defer(other.close);
    let current: Executors = { shared: executor(up), tenants: new Map() };
    const callTool = createCallTool({ executors: () => current, customers: () => ({ ids: { halopsa: '42' }, namedIds: {} }) });
    await callTool(tool('halopsa_get_ticket'), { ticket_id: 7 }, request());
    current = { shared: executor(other), tenants: new Map() };
    await callTool(tool('halopsa_get_ticket'), { ticket_id: 7 }, request());
    expect(up.requests).toHaveLength(1);
    expect(other.requests).toHaveLength(1);
  });

  it('a tenant with upstreams of its own calls them; every other tenant, and a call without one, the shared ones', async () => {
    const own = await startRecorder(() => ({ body: TICKETS[7] }));
    bench.defer(own.close);
    const chosen = tenantExecutor(() => ({ shared: executor(up), tenants: new Map([['t-own', executor(own)]]) }));
    const call = (tenantId?: string) => chosen.callTool(tool('halopsa_get_ticket'), { ticket_id: 7 }, context(tenantId === undefined ? { tenantId: undefined } : { tenantId }));
    await call('t-own');
    expect([own.requests.length, up.requests.length]).toEqual([1, 0]);
    await call('t-other');
    await call('');
    await call(undefined);
    expect([own.requests.length, up.requests.length]).toEqual([1, 3]);
  });
});
