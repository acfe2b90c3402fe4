/**
 * The execution steps of runtime/call-path.ts (7.x), each module called directly with the real
 * generated HaloPSA connector (its model, its openapi-fetch client, its guard and resilience
 * policy) against a real node:http upstream: the call scope and cursor binding, send, the parent
 * owner check, the next cursor and the report.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { ToolCallContext, UpstreamEvent } from '../runtime/tool-call.ts';
import { createCursorSigner, decodeCursor, encodeCursor } from '../runtime/upstream/cursor.ts';
import { buildUpstreamRequest } from '../runtime/upstream/request.ts';
import { ToolCallError } from '../runtime/upstream/errors.ts';
import { callScope, cursorBinding } from '../runtime/execution/scope.ts';
import { send } from '../runtime/execution/send.ts';
import { checkParentOwner } from '../runtime/execution/parent-owner.ts';
import { sealedNextCursor } from '../runtime/execution/next-cursor.ts';
import { reportCall } from '../runtime/execution/report.ts';
import type { Recorder } from './fixtures/call/harness.ts';
import { TICKETS, haloContext, useHaloBench } from './helpers/halopsa-upstream.ts';

const signer = createCursorSigner([Buffer.alloc(32, 7)]);
const bench = useHaloBench(signer);
const { tool } = bench;
const context = haloContext;
const runtime = bench.runtime;
let up: Recorder;
beforeAll(() => {
  up = bench.up();
});

describe('the call scope and the cursor binding (execution/scope.ts)', () => {
  it("binds the tenant, the customer's vendor id of the tool's own connector, and the one operation the request must be", () => {
    const scope = callScope(tool('halopsa_get_ticket'), context({ customerIds: { hudu: '7', halopsa: '42' } }));
    expect(scope).toEqual({ tenant: 't1', customer: '42', expected: { method: 'GET', path: '/Tickets/{id}' }, bytes: 0, secrets: new Set() });
    // Nobody to name: no tenant or customer for the credential broker to pick a token by.
    const bare = callScope(tool('halopsa_get_ticket'), { requestId: 'r', signal: new AbortController().signal, customerIds: { hudu: '7' } });
    expect(bare).not.toHaveProperty('tenant');
    expect(bare).not.toHaveProperty('customer');
  });

  it("shares the secrets of the call's other requests, so one scrub covers every request of the call", () => {
    const outer = callScope(tool('halopsa_list_ticket_actions'), context());
    const parent = callScope(tool('halopsa_get_ticket'), context(), outer.secrets);
    expect(parent.secrets).toBe(outer.secrets);
    expect(callScope(tool('halopsa_get_ticket'), context()).secrets).not.toBe(outer.secrets);
  });

  it('a cursor sealed for one tool, tenant and customer opens for no other', () => {
    const list = tool('halopsa_list_tickets');
    const payload = encodeCursor({ p: 3 });
    const sealed = signer.seal(cursorBinding(list, context()), payload);
    expect(signer.open(cursorBinding(list, context()), sealed)).toBe(payload);
    expect(() => signer.open(cursorBinding(list, context({ tenantId: 't2' })), sealed)).toThrow(/cursor/i);
    expect(() => signer.open(cursorBinding(list, context({ customerIds: { halopsa: '43' } })), sealed)).toThrow(/cursor/i);
    expect(() => signer.open(cursorBinding(tool('halopsa_list_assets'), context()), sealed)).toThrow(/cursor/i);
  });
});

describe('send (execution/send.ts)', () => {
  it("sends the operation through the call's scoped fetch and reads the answer", async () => {
    const rt = runtime();
    const t = tool('halopsa_get_ticket');
    const ctx = context();
    const scope = callScope(t, ctx);
    const { request } = buildUpstreamRequest(t, { ticket_id: 7 }, ctx);
    const answer = await send(rt, t, rt.client[t.operation.operationId]!, request, scope, ctx.signal);
    expect(answer.raw).toEqual(TICKETS[7]);
    expect(answer.response.status).toBe(200);
    expect(up.requests.map((r) => `${r.method} ${r.url.split('?')[0]}`)).toEqual(['GET /api/Tickets/7']);
    // What the scope observed is what metering and metrics read.
    expect(scope).toMatchObject({ status: 200, dispatched: true, bytes: Buffer.byteLength(JSON.stringify(TICKETS[7])) });
  });

  it('two calls in flight each send with their own scope: tenant, credential and byte count never cross', async () => {
    const rt = runtime({ authenticate: (req, call) => void req.headers.set('authorization', `Bearer key-of-${call?.tenant}`) });
    const t = tool('halopsa_get_ticket');
    const a = context({ tenantId: 'alpha' });
    const b = context({ tenantId: 'beta' });
    const scopeA = callScope(t, a);
    const scopeB = callScope(t, b);
    await Promise.all([
      send(rt, t, rt.client[t.operation.operationId]!, buildUpstreamRequest(t, { ticket_id: 7 }, a).request, scopeA, a.signal),
      send(rt, t, rt.client[t.operation.operationId]!, buildUpstreamRequest(t, { ticket_id: 8 }, b).request, scopeB, b.signal),
    ]);
    const byUrl = Object.fromEntries(up.requests.map((r) => [r.url, r.headers.authorization]));
    expect(byUrl).toEqual({ '/api/Tickets/7?includedetails=true': 'Bearer key-of-alpha', '/api/Tickets/8?includedetails=true': 'Bearer key-of-beta' });
    expect([...scopeA.secrets]).toContain('Bearer key-of-alpha');
    expect([...scopeA.secrets].join(' ')).not.toMatch(/beta/);
    expect([...scopeB.secrets]).toContain('Bearer key-of-beta');
    expect([...scopeB.secrets].join(' ')).not.toMatch(/alpha/);
    expect(scopeA.bytes).toBe(Buffer.byteLength(JSON.stringify(TICKETS[7])));
    expect(scopeB.bytes).toBe(Buffer.byteLength(JSON.stringify(TICKETS[8])));
  });

  it("refuses a request that is not the scope's own operation before anything leaves, even one the allow-list has", async () => {
    const rt = runtime();
    const actions = tool('halopsa_list_ticket_actions');
    const ctx = context();
    // The scope is get_ticket's; the operation sent is another allowed one.
    const scope = callScope(tool('halopsa_get_ticket'), ctx);
    const { request } = buildUpstreamRequest(actions, { ticket_id: 7 }, ctx);
    await expect(send(rt, actions, rt.client[actions.operation.operationId]!, request, scope, ctx.signal)).rejects.toThrow(/refused by the allow-list/);
    expect(up.requests).toEqual([]);
    expect(scope.dispatched).not.toBe(true);
  });

  it('a vendor error status is a ToolCallError the model can act on, naming the operation and the status', async () => {
    const rt = runtime();
    const t = tool('halopsa_get_ticket');
    const ctx = context();
    const error = await send(rt, t, rt.client[t.operation.operationId]!, buildUpstreamRequest(t, { ticket_id: 404 }, ctx).request, callScope(t, ctx), ctx.signal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ToolCallError);
    expect((error as Error).message).toBe('Not found: halopsa has nothing at GET /Tickets/{id} for these arguments (HTTP 404). Vendor said: {"message":"no such ticket"}');
  });
});

describe('the parent owner check (execution/parent-owner.ts)', () => {
  const actions = () => tool('halopsa_list_ticket_actions');

  it("lets the call go on when the parent ticket is this customer's, and counts the parent's bytes with the call's", async () => {
    const rt = runtime();
    const ctx = context({ ownership: { withheld: 0 } });
    const outer = callScope(actions(), ctx);
    expect(await checkParentOwner(rt, actions(), { ticket_id: 7 }, ctx, outer)).toBeUndefined();
    expect(up.requests.map((r) => r.url)).toEqual(['/api/Tickets/7?includedetails=true']);
    expect(outer.bytes).toBe(Buffer.byteLength(JSON.stringify(TICKETS[7])));
    expect(outer.dispatched).toBe(true);
    expect(ctx.ownership).toEqual({ withheld: 0 });
  });

  it("refuses when the parent ticket is another customer's, says so for the audit, and never shows the parent", async () => {
    const rt = runtime();
    const ctx = context({ ownership: { withheld: 0 } });
    const refused = await checkParentOwner(rt, actions(), { ticket_id: 8 }, ctx, callScope(actions(), ctx));
    expect(refused?.isError).toBe(true);
    expect(refused?.content[0]!.text).toMatch(/another customer/);
    expect(refused?.content[0]!.text).not.toMatch(/Someone else/);
    expect(ctx.ownership?.refused?.code).toBe('other-customer');
  });

  it('refuses, naming the argument, when the parent cannot be named; nothing is sent', async () => {
    const refused = await checkParentOwner(runtime(), actions(), { limit: 3 }, context(), callScope(actions(), context()));
    expect(refused?.content[0]!.text).toBe(`Invalid arguments: "ticket_id" is required: halopsa_list_ticket_actions first checks that the record it belongs to is this customer's`);
    expect(up.requests).toEqual([]);
  });

  it('refuses when the connector has no parent tool to check with (a stale build), nothing sent', async () => {
    const rt = { ...runtime(), tools: new Map([[actions().name, actions()]]) };
    const refused = await checkParentOwner(rt, actions(), { ticket_id: 7 }, context(), callScope(actions(), context()));
    expect(refused?.content[0]!.text).toBe('The halopsa connector has no tool "halopsa_get_ticket" to check whose record this is; regenerate the connector');
    expect(up.requests).toEqual([]);
  });

  it("a vendor failure reading the parent fails the call (as 7.10's message), its bytes still counted", async () => {
    const ctx = context();
    const outer = callScope(actions(), ctx);
    await expect(checkParentOwner(runtime(), actions(), { ticket_id: 404 }, ctx, outer)).rejects.toThrow(/Not found: halopsa has nothing at GET \/Tickets\/\{id\}/);
    expect(outer.bytes).toBe(Buffer.byteLength(JSON.stringify({ message: 'no such ticket' })));
  });
});

describe('the next cursor (execution/next-cursor.ts)', () => {
  const list = () => tool('halopsa_list_tickets');
  const answer = { raw: {}, response: new Response('', { status: 200 }) };
  const pageOf = (ctx: ToolCallContext) => buildUpstreamRequest(list(), {}, ctx).page;

  it('none for a tool without pagination', () => {
    const rt = runtime();
    expect(sealedNextCursor(rt, tool('halopsa_get_ticket'), cursorBinding(tool('halopsa_get_ticket'), context()), undefined, answer, undefined, { available: 1, returned: 1 })).toBeUndefined();
  });

  it('after a full page, a cursor to the next page that only this tool, tenant and customer can open', () => {
    const rt = runtime();
    const ctx = context();
    const page = pageOf(ctx)!;
    const binding = cursorBinding(list(), ctx);
    const full = { available: page.size, returned: page.size };
    const sealed = sealedNextCursor(rt, list(), binding, page, answer, undefined, full)!;
    expect(decodeCursor(signer.open(binding, sealed))).toEqual({ p: 2 });
    expect(() => signer.open(cursorBinding(list(), context({ tenantId: 't2' })), sealed)).toThrow(/cursor/i);
    // A short page is the last.
    expect(sealedNextCursor(rt, list(), binding, page, answer, undefined, { available: page.size - 1, returned: page.size - 1 })).toBeUndefined();
  });

  it("a page the ownership check thinned still leads on: the counts are the vendor's, not the filtered list's", () => {
    const rt = runtime();
    const ctx = context();
    const page = pageOf(ctx)!;
    const binding = cursorBinding(list(), ctx);
    // The vendor sent a full page; one item was another customer's and withheld.
    const kept = Array.from({ length: page.size - 1 }, (_, i) => i);
    const shown = { available: page.size - 1, returned: page.size - 1 };
    const sealed = sealedNextCursor(rt, list(), binding, page, answer, { rawCount: page.size, kept }, shown);
    expect(sealed && decodeCursor(signer.open(binding, sealed))).toEqual({ p: 2 });
    // Counted on the filtered list, pagination would stop one page early.
    expect(sealedNextCursor(rt, list(), binding, page, answer, undefined, shown)).toBeUndefined();
  });
});

describe('the report (execution/report.ts)', () => {
  const t = () => tool('halopsa_get_ticket');

  it('fills in what metering bills and tells metrics of a call that got to the upstream stage', () => {
    const events: UpstreamEvent[] = [];
    const ctx = context({ usage: { upstreamBytes: 0 } });
    const scope = { ...callScope(t(), ctx), bytes: 120, status: 200, dispatched: true };
    reportCall({ name: 'halopsa', onUpstream: (e) => events.push(e) }, t(), ctx, scope, true, performance.now());
    expect(ctx.usage).toEqual({ upstreamBytes: 120, reachedVendor: true });
    expect(events).toEqual([{ connector: 'halopsa', tool: 'halopsa_get_ticket', status: 200, durationMs: expect.any(Number), bytes: 120 }]);
  });

  it('a call refused before sending is billed as not having reached the vendor and is no upstream event', () => {
    const events: UpstreamEvent[] = [];
    const ctx = context({ usage: { upstreamBytes: 99, reachedVendor: true } });
    reportCall({ name: 'halopsa', onUpstream: (e) => events.push(e) }, t(), ctx, callScope(t(), ctx), false, performance.now());
    expect(ctx.usage).toEqual({ upstreamBytes: 0, reachedVendor: false });
    expect(events).toEqual([]);
  });

  it("a request that failed on the way is reported as 'error', and a throwing metrics hook does not fail the call", () => {
    const ctx = context({ usage: { upstreamBytes: 0 } });
    expect(() => reportCall({ name: 'halopsa', onUpstream: () => { throw new Error('metrics down'); } }, t(), ctx, callScope(t(), ctx), true, performance.now())).not.toThrow();
    const events: UpstreamEvent[] = [];
    reportCall({ name: 'halopsa', onUpstream: (e) => events.push(e) }, t(), ctx, callScope(t(), ctx), true, performance.now());
    expect(events[0]?.status).toBe('error');
  });
});
