/**
 * Fault injection: a governed runtime (SQLite store, default policies) in front of an upstream
 * that misbehaves on command, called through the official MCP client over real HTTP. For each
 * fault: the caller gets an isError result a model can act on, the runtime answers the next good
 * call, retries reach the upstream exactly as often as runtime/call.ts is configured to, the
 * breaker opens and half-opens, and each call leaves exactly one usage row and one audit record
 * with its outcome; the audit chain verifies at the end.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import { apiKeysRepo, auditRepo, settingsRepo, tenantsRepo } from '../runtime/store/index.ts';
import { startFaultyUpstream, type Fault, type FaultyUpstream } from './helpers/faulty-upstream.ts';
import { callRecords, governedClient, helpdeskAnswer, startGoverned, type Governed, type ToolResult } from './helpers/governed.ts';

const SECRET = 'hd_live_0123456789abcdefghijklmnopqrstuv';
const TIMEOUT_MS = 800;
const RETRIES = 2;
const MAX_BYTES = 1024 * 1024;
const BREAKER = { threshold: 6, halfOpenAfterMs: 1500 };
const ATTEMPTS = RETRIES + 1;

describe('fault injection through the governed runtime', () => {
  let up: FaultyUpstream;
  let elsewhere: FaultyUpstream;
  let rt: Governed;
  let client: Client;
  let calls = 0;

  beforeAll(async () => {
    up = await startFaultyUpstream({ answer: helpdeskAnswer });
    elsewhere = await startFaultyUpstream({ answer: () => ({ stolen: true }) });
    rt = await startGoverned({
      prefix: 'fault-injection',
      upstreamConfig: { helpdesk: { baseUrl: up.url, credential: { kind: 'apiKey', key: SECRET } } },
      caller: { timeoutMs: TIMEOUT_MS, retries: RETRIES, maxResponseBytes: MAX_BYTES, breaker: BREAKER },
      async seed(store) {
        const tenants = tenantsRepo(store);
        await tenants.createTenant({ id: 'msp-a', name: 'MSP A' });
        await tenants.createCustomer({ id: 'contoso', tenantId: 'msp-a', name: 'Contoso' });
        await tenants.setVendorId('contoso', 'helpdesk', '4242');
        await settingsRepo(store).grant('msp-a', 'helpdesk', '*');
      },
    });
    const { key } = await apiKeysRepo(rt.store).create({ tenantId: 'msp-a', subject: 'alice', roles: ['technician'] });
    client = await governedClient(rt.url, { authorization: `Bearer ${key}`, 'specgate-customer': 'contoso' });
    // Warm up (validators, policy, connection pool) so the slow-answer case is not a cold start.
    await client.callTool({ name: 'helpdesk_get_ticket', arguments: { id: 1 } });
    calls++;
  });
  afterAll(async () => {
    await client?.close();
    await rt?.close();
    await up?.close();
    await elsewhere?.close();
  });
  afterEach(() => up.set({ kind: 'ok' }));

  /**
   * One tools/call, checked for what every call must leave behind: one usage row and one audit
   * record, same call id, the result's outcome; and no credential in the result.
   */
  async function call(tool: string, args: Record<string, unknown>): Promise<ToolResult & { upstreamRequests: number }> {
    const before = await callRecords(rt.store, 'msp-a');
    const sent = up.requests.length;
    const result = (await client.callTool({ name: tool, arguments: args })) as ToolResult;
    calls++;
    const after = await callRecords(rt.store, 'msp-a');
    const outcome = result.isError ? 'error' : 'ok';
    const usage = after.usage.filter((u) => !before.usage.some((b) => b.callId === u.callId));
    const audit = after.audit.slice(before.audit.length);
    expect(usage).toEqual([{ callId: expect.any(String), tool, outcome, customerId: 'contoso' }]);
    // A failed call's record says why, in the words the caller got.
    const reason = result.isError ? { reason: result.content.map((c) => c.text).join(' ') } : {};
    expect(audit).toEqual([{ seq: before.audit.length + 1, callId: usage[0]!.callId, tool, outcome, ...reason }]);
    expect(JSON.stringify(result)).not.toContain(SECRET);
    return { ...result, upstreamRequests: up.requests.length - sent };
  }

  const getTicket = () => call('helpdesk_get_ticket', { id: 7 });

  /** The runtime still serves: a normal call right after the fault succeeds with the vendor's data. */
  async function expectHealthy() {
    up.set({ kind: 'ok' });
    const r = await call('helpdesk_list_tickets', {});
    expect(r.isError, r.content[0]?.text).toBeFalsy();
    expect(r.structuredContent).toEqual({ result: { tickets: [{ id: 1, summary: 'printer' }] } });
    expect(r.upstreamRequests).toBe(1);
    const last = up.requests.at(-1)!;
    expect(new URL(last.url, up.origin).searchParams.get('client_id')).toBe('4242');
    expect(last.headers['x-api-key']).toBe(SECRET);
  }

  function text(r: ToolResult): string {
    expect(r.isError).toBe(true);
    return r.content[0]!.text;
  }

  it('a slow answer within the timeout is a normal result, sent once', async () => {
    up.set({ kind: 'slow', delayMs: 100 });
    const r = await getTicket();
    expect(r.isError, r.content[0]?.text).toBeFalsy();
    expect(r.structuredContent).toEqual({ result: { id: 1, summary: 'one' } });
    expect(r.upstreamRequests).toBe(1);
  });

  it('a hanging upstream: every attempt times out, the read is retried, the caller hears the timeout', async () => {
    up.set({ kind: 'hang' });
    const r = await getTicket();
    expect(text(r)).toBe(`No answer from helpdesk within ${TIMEOUT_MS} ms`);
    expect(r.upstreamRequests).toBe(ATTEMPTS);
    await expectHealthy();
  });

  it('a caller that gives up mid-call: the upstream request is dropped, the call metered and audited as cancelled', async () => {
    up.set({ kind: 'hang' });
    const before = await callRecords(rt.store, 'msp-a');
    const sent = up.requests.length;
    const abort = new AbortController();
    const pending = client.callTool({ name: 'helpdesk_get_ticket', arguments: { id: 7 } }, { signal: abort.signal }).catch((e: unknown) => e);
    await vi.waitFor(() => expect(up.requests.length).toBe(sent + 1));
    abort.abort();
    expect(await pending).toBeInstanceOf(Error);
    calls++;
    // The server learns of it from the closed connection, then commits the records.
    const fresh = await vi.waitFor(async () => {
      const after = await callRecords(rt.store, 'msp-a');
      expect(after.audit.length).toBe(before.audit.length + 1);
      return after;
    });
    const usage = fresh.usage.filter((u) => !before.usage.some((b) => b.callId === u.callId));
    expect(usage).toEqual([{ callId: expect.any(String), tool: 'helpdesk_get_ticket', outcome: 'cancelled', customerId: 'contoso' }]);
    expect(fresh.audit.at(-1)).toEqual({
      seq: before.audit.length + 1, callId: usage[0]!.callId, tool: 'helpdesk_get_ticket', outcome: 'cancelled',
      reason: 'The call was cancelled by the client',
    });
    // Cancelled, not retried: the one attempt was all the upstream saw.
    expect(up.requests.length).toBe(sent + 1);
    await expectHealthy();
  });

  it('a connection reset before the answer is retried, and a reset that persists is reported', async () => {
    up.set({ kind: 'reset' }, 1);
    const once = await getTicket();
    expect(once.isError, once.content[0]?.text).toBeFalsy();
    expect(once.upstreamRequests).toBe(2);

    up.set({ kind: 'reset' });
    const r = await getTicket();
    expect(text(r)).toMatch(/^Could not reach the helpdesk upstream \([A-Za-z_]+\)$/);
    expect(r.upstreamRequests).toBe(ATTEMPTS);
    await expectHealthy();
  });

  it('a connection reset in the middle of the body is a network error, retried', async () => {
    up.set({ kind: 'reset-mid-response' });
    const r = await getTicket();
    expect(text(r)).toMatch(/^Could not reach the helpdesk upstream \([A-Za-z_]+\)$/);
    expect(r.upstreamRequests).toBe(ATTEMPTS);
    await expectHealthy();
  });

  it('truncated JSON (Content-Length longer than what arrives) never reaches the model as data', async () => {
    up.set({ kind: 'truncated-json' });
    const r = await getTicket();
    expect(text(r)).toMatch(/^Could not reach the helpdesk upstream \([A-Za-z_]+\)$/);
    expect(r.upstreamRequests).toBe(ATTEMPTS);
    await expectHealthy();
  });

  it('invalid JSON in a 200 is reported, not retried', async () => {
    up.set({ kind: 'invalid-json' });
    const r = await getTicket();
    expect(text(r)).toBe('The vendor returned a response that is not valid JSON');
    expect(r.upstreamRequests).toBe(1);
    await expectHealthy();
  });

  it('a burst of 5xx shorter than the retries is absorbed: exactly burst + 1 requests', async () => {
    up.set({ kind: 'status', status: 502, body: { error: 'bad gateway' } }, 2);
    const r = await getTicket();
    expect(r.isError, r.content[0]?.text).toBeFalsy();
    expect(r.upstreamRequests).toBe(3);
  });

  it('a burst of 5xx longer than the retries: the last status is reported with the vendor excerpt', async () => {
    up.set({ kind: 'status', status: 503, body: { error: 'maintenance' } }, ATTEMPTS);
    const r = await getTicket();
    expect(text(r)).toBe('The vendor\'s service failed (HTTP 503). Vendor said: {"error":"maintenance"}');
    expect(r.upstreamRequests).toBe(ATTEMPTS);
    await expectHealthy();
  });

  it.each([
    [400, /^The vendor refused the request \(HTTP 400\)/],
    [401, /^The vendor rejected the credentials \(HTTP 401\); check the helpdesk credentials/],
    [404, /^Not found: helpdesk has nothing at GET \/tickets\/\{id\} for these arguments \(HTTP 404\)/],
  ])('a %i is not retried and is reported as such', async (status, message) => {
    up.set({ kind: 'status', status, body: { message: `no ${SECRET}` } });
    const r = await getTicket();
    expect(text(r)).toMatch(message);
    expect(text(r)).toContain('[redacted]');
    expect(r.upstreamRequests).toBe(1);
    await expectHealthy();
  });

  it('429 with a short Retry-After is waited out and retried once', async () => {
    up.set({ kind: 'rate-limited', retryAfter: '1' }, 1);
    const r = await getTicket();
    expect(r.isError, r.content[0]?.text).toBeFalsy();
    expect(r.upstreamRequests).toBe(2);
  });

  it('429 with a long Retry-After is not retried; the caller is told how long to wait', async () => {
    up.set({ kind: 'rate-limited', retryAfter: '120' });
    const r = await getTicket();
    expect(text(r)).toBe('Rate limited by the vendor; retry after 120 seconds (HTTP 429). Vendor said: {"error":"slow down"}');
    expect(r.upstreamRequests).toBe(1);
    await expectHealthy();
  });

  it.each([true, false])('a 100 MB body (Content-Length declared: %s) is cut off at the cap without being buffered', async (declareLength) => {
    const hundredMb = 100 * 1024 * 1024;
    const sentBefore = up.hugeBytesSent();
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    up.set({ kind: 'huge', bytes: hundredMb, declareLength });
    const r = await getTicket();
    expect(text(r)).toBe(`The helpdesk response is larger than ${MAX_BYTES} bytes; narrow the request (filters, a smaller limit)`);
    expect(r.upstreamRequests).toBe(1);
    // Loose bounds, not timings: the reader stopped long before the end and held far less than the body.
    const sent = up.hugeBytesSent() - sentBefore;
    const grown = process.memoryUsage().rss - rssBefore;
    console.info(`100 MB body, Content-Length ${declareLength ? 'declared' : 'absent'}: upstream wrote ${(sent / 2 ** 20).toFixed(1)} MB, RSS grew ${(grown / 2 ** 20).toFixed(1)} MB`);
    expect(sent).toBeLessThan(hundredMb / 2);
    expect(grown).toBeLessThan(60 * 1024 * 1024);
    await expectHealthy();
  });

  it.each([302, 307] as const)('a %i redirect to another host is refused and that host hears nothing', async (status) => {
    up.set({ kind: 'redirect', status, location: `${elsewhere.url}/tickets/7` });
    const r = await getTicket();
    expect(text(r)).toBe(`The helpdesk upstream answered with a redirect (HTTP ${status}); redirects are not followed`);
    expect(r.upstreamRequests).toBe(1);
    expect(elsewhere.requests).toHaveLength(0);
    await expectHealthy();
  });

  it('consecutive failures open the breaker; it half-opens after the wait and closes on success', async () => {
    const failing: Fault = { kind: 'status', status: 503 };
    up.set(failing);
    // Each failing read makes ATTEMPTS attempts, and each attempt counts for the breaker.
    const callsToOpen = BREAKER.threshold / ATTEMPTS;
    for (let i = 0; i < callsToOpen; i++) {
      const r = await getTicket();
      expect(text(r)).toBe("The vendor's service failed (HTTP 503)");
      expect(r.upstreamRequests).toBe(ATTEMPTS);
    }
    const open = await getTicket();
    expect(text(open)).toMatch(/^The helpdesk upstream is failing; circuit open, retry after [12]s$/);
    expect(open.upstreamRequests).toBe(0);

    // Half-open: one trial request; it fails, so the breaker opens again without a retry.
    await new Promise((r) => setTimeout(r, BREAKER.halfOpenAfterMs + 100));
    const trial = await getTicket();
    expect(text(trial)).toMatch(/circuit open/);
    expect(trial.upstreamRequests).toBe(1);

    // Half-open again: the trial succeeds and the breaker closes.
    await new Promise((r) => setTimeout(r, BREAKER.halfOpenAfterMs + 100));
    await expectHealthy();
    await expectHealthy();
  });

  it('every call left one usage row and one audit record, and the audit chain verifies', async () => {
    const records = await callRecords(rt.store, 'msp-a');
    expect(records.usage).toHaveLength(calls);
    expect(records.audit).toHaveLength(calls);
    expect(new Set(records.audit.map((a) => a.callId)).size).toBe(calls);
    expect(await auditRepo(rt.store).verify('msp-a')).toEqual({ ok: true, checked: calls });
  });
});
