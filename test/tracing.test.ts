/**
 * OpenTelemetry traces of one governed call, received by a small OTLP/HTTP collector of the
 * test's own: the server span continues the caller's trace (from the `traceparent` header, or
 * from the 2026-07-28 `_meta`), each chain step is a child span, each upstream attempt is a
 * client span whose context the vendor receives as `traceparent`, and no argument value or key
 * reaches an attribute. Tracing is configured with the standard OTEL_* variables only.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { apiKeysRepo, openStore, settingsRepo, tenantsRepo, type Store } from '../runtime/store/index.ts';
import { startRecorder, type Recorder } from './fixtures/call/harness.ts';
import { HELPDESK_SPEC, governedClient, helpdeskAnswer, serveGoverned, type ToolResult } from './helpers/governed.ts';
import { generateInto, tempDir } from './helpers/e2e.ts';
import { tracingConfigured } from '../runtime/ops/tracing.ts';

interface OtlpSpan { traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number; attributes?: Array<{ key: string; value: Record<string, unknown> }> }

/** A collector: every OTLP/HTTP JSON export it receives, flattened to spans. */
async function startCollector(): Promise<{ url: string; spans: OtlpSpan[]; bodies: string[]; close(): Promise<void> }> {
  const spans: OtlpSpan[] = [];
  const bodies: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      bodies.push(text);
      if (req.url === '/v1/traces') {
        const body = JSON.parse(text) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }> };
        for (const rs of body.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const a = server.address();
  return { url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`, spans, bodies, close: () => new Promise((r) => server.close(() => r())) };
}

const attr = (s: OtlpSpan, key: string) => s.attributes?.find((a) => a.key === key)?.value;

describe('OpenTelemetry traces of a governed call', () => {
  const dir = tempDir('tracing');
  const marker = `needle-${randomBytes(6).toString('hex')}`;
  const saved = { ...process.env };
  let store: Store;
  let upstream: Recorder;
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let key: string;
  const traceA = randomBytes(16).toString('hex');
  const parentA = randomBytes(8).toString('hex');
  const traceB = randomBytes(16).toString('hex');
  const parentB = randomBytes(8).toString('hex');

  beforeAll(async () => {
    collector = await startCollector();
    fs.writeFileSync(path.join(dir, 'helpdesk.yaml'), HELPDESK_SPEC);
    await generateInto([path.join(dir, 'helpdesk.yaml')], path.join(dir, 'generated'));
    upstream = await startRecorder((u) => ({ body: helpdeskAnswer(u) }), '/api');
    store = await openStore(`sqlite:${path.join(dir, 'store.db')}`);
    await tenantsRepo(store).createTenant({ id: 'msp-a', name: 'MSP A' });
    await tenantsRepo(store).createCustomer({ tenantId: 'msp-a', id: 'acme', name: 'ACME' });
    await tenantsRepo(store).setVendorId('acme', 'helpdesk', '42');
    await settingsRepo(store).grant('msp-a', 'helpdesk', '*');
    key = (await apiKeysRepo(store).create({ tenantId: 'msp-a', subject: 'tina', roles: ['technician'] })).key;

    Object.assign(process.env, { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_SERVICE_NAME: 'specgate-test' });
    expect(tracingConfigured()).toBe(true);
    const { app, url } = await serveGoverned(store, { generatedDir: path.join(dir, 'generated'), upstreams: { helpdesk: { baseUrl: upstream.url } }, logger: pino({ level: 'silent' }) });
    // A call continued from the HTTP traceparent header, and one from the request's _meta.
    const byHeader = await governedClient(url, { authorization: `Bearer ${key}`, 'specgate-customer': 'acme', traceparent: `00-${traceA}-${parentA}-01` });
    const first = await byHeader.callTool({ name: 'helpdesk_list_tickets', arguments: { 'filter.status': marker } }) as ToolResult;
    expect(first.isError, first.content[0]?.text).toBeFalsy();
    await byHeader.close();
    const byMeta = await governedClient(url, { authorization: `Bearer ${key}`, 'specgate-customer': 'acme' });
    const second = await byMeta.callTool({ name: 'helpdesk_get_ticket', arguments: { id: 5 }, _meta: { traceparent: `00-${traceB}-${parentB}-01` } }) as ToolResult;
    expect(second.isError).toBeFalsy();
    await byMeta.close();
    // Closing flushes the batch processor to the collector.
    await app.close();
  });
  afterAll(async () => {
    process.env = saved;
    await upstream?.close();
    await collector?.close();
    await store?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('continues the caller’s trace with a server span and one child per chain step', () => {
    const inA = collector.spans.filter((s) => s.traceId === traceA);
    const server = inA.find((s) => s.name === 'tools/call helpdesk_list_tickets');
    expect(server, `spans of trace A: ${inA.map((s) => s.name).join(', ')}`).toBeDefined();
    expect(server!.parentSpanId).toBe(parentA);
    expect(server!.kind).toBe(2); // SERVER
    expect(attr(server!, 'gen_ai.tool.name')).toEqual({ stringValue: 'helpdesk_list_tickets' });
    const steps = inA.filter((s) => s.parentSpanId === server!.spanId).map((s) => s.name);
    for (const step of ['authenticate', 'tenant', 'customer', 'entitlement', 'policy', 'rate-limit', 'validate', 'quota', 'execute', 'meter-audit']) {
      expect(steps).toContain(`specgate.${step}`);
    }
  });

  it('makes each upstream attempt a client span and hands its context to the vendor', () => {
    const inA = collector.spans.filter((s) => s.traceId === traceA);
    const execute = inA.find((s) => s.name === 'specgate.execute')!;
    const attempt = inA.find((s) => s.parentSpanId === execute.spanId);
    expect(attempt?.kind).toBe(3); // CLIENT
    expect(attempt?.name).toBe('GET /tickets');
    const sent = upstream.requests.find((r) => r.url.startsWith('/api/tickets'))!;
    expect(sent.headers.traceparent).toBe(`00-${traceA}-${attempt!.spanId}-01`);
  });

  it('takes the trace context from the 2026-07-28 _meta when the request carries one', () => {
    const inB = collector.spans.filter((s) => s.traceId === traceB);
    const server = inB.find((s) => s.name === 'tools/call helpdesk_get_ticket');
    expect(server?.parentSpanId).toBe(parentB);
    const sent = upstream.requests.find((r) => r.url.startsWith('/api/tickets/5'))!;
    expect(String(sent.headers.traceparent)).toMatch(new RegExp(`^00-${traceB}-[0-9a-f]{16}-01$`));
  });

  it('puts no argument value, key or vendor id in any span', () => {
    const exported = collector.bodies.join('\n');
    expect(exported.length).toBeGreaterThan(500);
    expect(exported).not.toContain(marker);
    expect(exported).not.toContain(key.split('_').slice(2).join('_'));
    expect(exported).not.toContain('filter%5Bstatus%5D');
  });
});
