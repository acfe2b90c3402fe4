/**
 * The HTTP edge of a governed deployment, attacked over real HTTP on SQLite and PostgreSQL: every
 * request refused before the MCP handler leaves an audit record an operator can find (the
 * tenant's chain when the credential verified, else the gateway chain only a global operator
 * reads); bodies of refused requests are never read; credentials in URLs are refused and never
 * logged; the 401 challenge ignores the Host header; the gateway chain cannot be flooded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { apiKeysRepo, adminKeysRepo, auditRepo, openStore, settingsRepo, tenantsRepo, type AuditEntry, type Store } from '../runtime/store/index.ts';
import { GATEWAY_CHAIN } from '../runtime/governance/audit.ts';
import { loggerOptions } from '../runtime/ops/logging.ts';
import { startAdminServer, ADMIN_PREFIX } from '../runtime/admin/index.ts';
import { startRecorder, type Recorder } from './fixtures/call/harness.ts';
import { generateInto, tempDir } from './helpers/e2e.ts';
import { HELPDESK_SPEC, governedClient, helpdeskAnswer, serveGoverned, type ToolResult } from './helpers/governed.ts';
import { findPostgres, startPostgres, type PgCluster } from './helpers/postgres.ts';

const pgAvail = findPostgres();
if (!pgAvail.ok && process.env.CI) {
  describe('edge refusals on postgres', () => {
    it('needs PostgreSQL in CI', () => { throw new Error(`edge tests need PostgreSQL in CI: ${pgAvail.reason}`); });
  });
}

const PER_SOURCE = 4;
const FOUR_MB = 4 * 1024 * 1024;

/** Sends a request's head and the first chunk of a body it announces as `length` bytes, then waits for an answer. */
function partialPost(url: string, headers: Record<string, string>, length: number, sent = 64 * 1024): Promise<{ status: number; head: string; socket: net.Socket }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(u.port), u.hostname);
    let head = '';
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end >= 0) resolve({ status: Number(head.slice(9, 12)), head: head.slice(0, end), socket });
    });
    socket.on('close', () => { if (!head) reject(new Error('closed without an answer')); });
    const lines = [`POST ${u.pathname}${u.search} HTTP/1.1`, `Host: ${u.host}`, 'Content-Type: application/json', 'Accept: application/json, text/event-stream', `Content-Length: ${length}`,
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    socket.write(Buffer.alloc(sent, 0x20));
  });
}

/** A request with a forged Host header (fetch would send the real one). */
function forgedHost(url: string, method: 'GET' | 'POST', host: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: { host, 'content-type': 'application/json', accept: 'application/json, text/event-stream' } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(method === 'POST' ? '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' : undefined);
  });
}

const backends: [string, boolean, () => Promise<{ url: string; teardown(): Promise<void> }>][] = [
  ['sqlite', true, async () => {
    const dir = tempDir('edge-store');
    return { url: `sqlite:${path.join(dir, 'store.db')}`, teardown: async () => fs.rmSync(dir, { recursive: true, force: true }) };
  }],
  [pgAvail.ok ? 'postgres' : `postgres (skipped: ${pgAvail.ok ? '' : pgAvail.reason})`, pgAvail.ok, async () => {
    const cluster: PgCluster = await startPostgres(pgAvail as Extract<typeof pgAvail, { ok: true }>);
    return { url: await cluster.createDatabase(), teardown: () => cluster.stop() };
  }],
];

for (const [name, available, makeStore] of backends) {
  describe.skipIf(!available)(`edge refusals on ${name}`, () => {
    const dir = tempDir('edge-refusals');
    let backend: { url: string; teardown(): Promise<void> };
    let store: Store;
    let upstream: Recorder;
    let app: FastifyInstance;
    let admin: FastifyInstance;
    let url: string;
    let keyA: string;
    let keyAId: string;
    let tenantAdmin: string;
    let globalAdmin: string;
    const logLines: string[] = [];

    beforeAll(async () => {
      const specFile = path.join(dir, 'helpdesk.yaml');
      fs.writeFileSync(specFile, HELPDESK_SPEC);
      await generateInto([specFile], path.join(dir, 'generated'));
      backend = await makeStore();
      store = await openStore(backend.url);
      const tenants = tenantsRepo(store);
      await tenants.createTenant({ id: 'msp-a', name: 'MSP A' });
      await tenants.createTenant({ id: 'msp-b', name: 'MSP B' });
      await tenants.createCustomer({ id: 'contoso', tenantId: 'msp-a', name: 'Contoso' });
      await tenants.createCustomer({ id: 'fabrikam', tenantId: 'msp-b', name: 'Fabrikam' });
      await tenants.setVendorId('contoso', 'helpdesk', '4242');
      const created = await apiKeysRepo(store).create({ tenantId: 'msp-a', subject: 'alice', roles: ['technician'] });
      keyA = created.key;
      keyAId = created.info.id;
      await settingsRepo(store).grant('msp-a', 'helpdesk', '*');
      tenantAdmin = (await adminKeysRepo(store).create({ subject: 'ops-a', tenantId: 'msp-a' })).key;
      globalAdmin = (await adminKeysRepo(store).create({ subject: 'root', tenantId: null })).key;
      upstream = await startRecorder((u) => ({ body: helpdeskAnswer(u) }), '/api');
      const sink = new Writable({ write(chunk, _enc, done) { logLines.push(chunk.toString()); done(); } });
      ({ app, url } = await serveGoverned(store, {
        generatedDir: path.join(dir, 'generated'),
        upstreams: { helpdesk: { baseUrl: upstream.url } },
        logger: pino({ ...loggerOptions({ level: 'info' }) }, sink),
        edgeAudit: { perSource: PER_SOURCE },
      }));
      admin = await startAdminServer({ store, port: 0 });
    });
    afterAll(async () => {
      await app?.close();
      await admin?.close();
      await upstream?.close();
      await store?.close();
      await backend?.teardown();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    const chain = (tenant: string) => auditRepo(store).search({ tenant, limit: 10_000 });
    const byRequest = async (tenant: string, requestId: string | null) => (await chain(tenant)).find((e) => e.record.requestId === requestId);
    const post = (headers: Record<string, string>, target = url, body = '{"jsonrpc":"2.0","id":7,"method":"tools/list","params":{}}') => fetch(target, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25', ...headers },
      body,
    });

    it('a wrong key is refused with 401 and recorded in the gateway chain with its prefix, never its secret', async () => {
      const wrong = `${keyA.slice(0, -4)}AAAA`;
      const response = await post({ authorization: `Bearer ${wrong}` });
      expect(response.status).toBe(401);
      const rec = await byRequest(GATEWAY_CHAIN, response.headers.get('x-request-id'));
      expect(rec?.record).toMatchObject({
        event: 'http.refused', outcome: 'refused', step: 'authenticate', code: 'invalid', status: 401,
        remoteAddress: '127.0.0.1', credential: 'api-key', keyPrefix: `sg_${keyAId}`, method: 'POST', path: '/mcp',
      });
      expect(JSON.stringify(rec)).not.toContain(wrong.split('_').slice(2).join('_'));
    });

    it('no credential at all: 401 in the gateway chain, credential "none"', async () => {
      const response = await post({});
      expect(response.status).toBe(401);
      expect((await byRequest(GATEWAY_CHAIN, response.headers.get('x-request-id')))?.record).toMatchObject({ step: 'authenticate', code: 'missing', credential: 'none' });
    });

    it("a valid key naming another tenant's customer: 403, in the key's tenant chain with subject and key id", async () => {
      const response = await post({ authorization: `Bearer ${keyA}`, 'specgate-customer': 'fabrikam' });
      expect(response.status).toBe(403);
      const rec = await byRequest('msp-a', response.headers.get('x-request-id'));
      expect(rec?.record).toMatchObject({ outcome: 'refused', step: 'customer', code: 'unknown-customer', subject: 'alice', keyId: keyAId, keyPrefix: `sg_${keyAId}` });
      expect(await byRequest(GATEWAY_CHAIN, response.headers.get('x-request-id'))).toBeUndefined();
    });

    it('a forged tenant header: 403, in the tenant chain of the key', async () => {
      const response = await post({ authorization: `Bearer ${keyA}`, 'specgate-tenant': 'msp-b' });
      expect(response.status).toBe(403);
      expect((await byRequest('msp-a', response.headers.get('x-request-id')))?.record).toMatchObject({ step: 'tenant', code: 'tenant-mismatch', subject: 'alice' });
    });

    it('a body over the limit with a valid key: 413, in the tenant chain', async () => {
      const response = await post({ authorization: `Bearer ${keyA}` }, url, `{"pad":"${'x'.repeat(FOUR_MB + 10)}"}`);
      expect(response.status).toBe(413);
      expect((await byRequest('msp-a', response.headers.get('x-request-id')))?.record).toMatchObject({ step: 'transport', code: 'body-too-large', status: 413 });
    });

    it('malformed JSON from an authenticated caller is refused and audited in its tenant', async () => {
      const response = await post({ authorization: `Bearer ${keyA}` }, url, '{"jsonrpc":');
      expect(response.status).toBe(400);
      expect((await byRequest('msp-a', response.headers.get('x-request-id')))?.record).toMatchObject({ step: 'transport', code: 'parse-error', subject: 'alice' });
    });

    it('a key in the URL is refused with 400 saying where it belongs, audited, and never logged', async () => {
      const response = await post({}, `${url}?api_key=${encodeURIComponent(keyA)}`);
      expect(response.status).toBe(400);
      const body = (await response.json()) as { error: { message: string } };
      expect(body.error.message).toMatch(/Authorization header/);
      expect((await byRequest(GATEWAY_CHAIN, response.headers.get('x-request-id')))?.record).toMatchObject({
        step: 'transport', code: 'credentials-in-url', credential: 'query', keyPrefix: `sg_${keyAId}`, path: '/mcp',
      });
      for (const param of ['access_token', 'token', 'key']) {
        expect((await post({}, `${url}?${param}=abc.def.ghi`)).status).toBe(400);
      }
      // Other paths too: a health probe with a key in its query.
      expect((await fetch(new URL(`/healthz?token=${encodeURIComponent(keyA)}`, url))).status).toBe(400);
      const secret = keyA.split('_').slice(2).join('_');
      const logs = logLines.join('');
      expect(logs).toContain('"url":"/mcp?[REDACTED]"');
      expect(logs).not.toContain(secret);
      expect(logs).not.toContain('abc.def.ghi');
    });

    it('a 4 MB body with a bad key is refused before it is sent, and parallel floods do not starve an authenticated call', async () => {
      // Only 64 KB of each announced 4 MB are sent: an answer proves the server never waited for (read or parsed) the body.
      const floods = await Promise.all(Array.from({ length: 16 }, (_, i) => partialPost(url, { authorization: `Bearer sg_000000000000_${'x'.repeat(42)}${i % 10}` }, FOUR_MB)));
      try {
        for (const f of floods) {
          expect(f.status).toBe(401);
          expect(f.head.toLowerCase()).toContain('connection: close');
        }
        // The sockets are still open with their bodies unsent; an authenticated call goes through meanwhile.
        const client = await governedClient(url, { authorization: `Bearer ${keyA}` });
        try {
          const r = (await client.callTool({ name: 'helpdesk_get_ticket', arguments: { id: 1 } })) as ToolResult;
          expect(r.isError).toBeFalsy();
        } finally {
          await client.close();
        }
      } finally {
        for (const f of floods) f.socket.destroy();
      }
    });

    it('the gateway chain keeps at most the per-source quota of full records and counts the rest', async () => {
      // The floods above and the earlier refusals all came from 127.0.0.1 in (at most two) windows.
      const entries = await chain(GATEWAY_CHAIN);
      const full = entries.filter((e) => e.record.event === 'http.refused');
      const perWindow = new Map<string, number>();
      for (const e of full) {
        const minute = e.at.slice(0, 16);
        perWindow.set(minute, (perWindow.get(minute) ?? 0) + 1);
      }
      for (const n of perWindow.values()) expect(n).toBeLessThanOrEqual(PER_SOURCE);
    });

    it('a tenant operator reads its own refusals, not the gateway chain; a global operator reads both', async () => {
      const adminUrl = (p: string) => `http://127.0.0.1:${(admin.server.address() as net.AddressInfo).port}${ADMIN_PREFIX}${p}`;
      const get = (p: string, key: string) => fetch(adminUrl(p), { headers: { authorization: `Bearer ${key}` } });
      const own = (await (await get('/tenants/msp-a/audit?limit=1000', tenantAdmin)).json()) as { items: AuditEntry[] };
      expect(own.items.some((e) => e.record.event === 'http.refused' && e.record.code === 'unknown-customer')).toBe(true);
      expect((await get(`/tenants/${GATEWAY_CHAIN}/audit`, tenantAdmin)).status).toBe(403);
      const gateway = (await (await get(`/tenants/${GATEWAY_CHAIN}/audit?limit=1000`, globalAdmin)).json()) as { items: AuditEntry[] };
      expect(gateway.items.some((e) => e.record.code === 'credentials-in-url')).toBe(true);
    });

    it('the 401 challenge and the metadata ignore a forged Host header', async () => {
      const response = await forgedHost(url, 'POST', 'evil.example');
      expect(response.status).toBe(401);
      const challenge = String(response.headers['www-authenticate']);
      expect(challenge).not.toContain('evil.example');
      // No public URL configured: the listen address.
      expect(challenge).toBe(`Bearer resource_metadata="http://${new URL(url).host}/.well-known/oauth-protected-resource"`);
      const metadata = JSON.parse((await forgedHost(new URL('/.well-known/oauth-protected-resource', url).toString(), 'GET', 'evil.example')).body) as { resource: string };
      expect(metadata.resource).toBe(url);
    });

    it('warns at startup that no public URL is configured', () => {
      expect(logLines.some((l) => l.includes('"level":40') && l.includes('no public URL configured'))).toBe(true);
    });

    it('/metrics is not served on the MCP port of a governed deployment by default', async () => {
      expect((await fetch(new URL('/metrics', url))).status).toBe(404);
    });
  });
}

describe('flooding the gateway chain', () => {
  it('past the per-source limit refusals are counted, and the count is written when the window closes', async () => {
    const dir = tempDir('edge-flood');
    const store = await openStore(`sqlite:${path.join(dir, 'store.db')}`);
    let t = Date.parse('2026-01-01T00:00:00Z');
    const { createEdgeAuditor } = await import('../runtime/mcp/edge-audit.ts');
    const auditor = createEdgeAuditor(store, { perSource: 3, total: 5, maxSources: 2, now: () => new Date(t) });
    const refusal = (remoteAddress: string) => ({
      step: 'authenticate', code: 'invalid', reason: 'bad key', status: 401, remoteAddress, credential: 'api-key', requestId: 'r', method: 'POST', path: '/mcp',
    });
    try {
      for (let i = 0; i < 10; i++) await auditor.record(refusal('10.0.0.1'));
      for (let i = 0; i < 4; i++) await auditor.record(refusal('10.0.0.2'));
      // Beyond maxSources: one shared bucket.
      for (const a of ['10.0.0.3', '10.0.0.4']) await auditor.record(refusal(a));
      t += 60_000;
      await auditor.flush();
      const entries = await auditRepo(store).search({ tenant: GATEWAY_CHAIN });
      const full = entries.filter((e) => e.record.event === 'http.refused');
      expect(full).toHaveLength(5);
      const summaries = Object.fromEntries(entries.filter((e) => e.record.event === 'http.refused.suppressed').map((e) => [e.record.remoteAddress, e.record.count]));
      expect(summaries).toEqual({ '10.0.0.1': 7, '10.0.0.2': 2, '*': 2 });
      // 16 refusals, every one a record or part of a count.
      expect(full.length + Object.values(summaries).map(Number).reduce((a, b) => a + b, 0)).toBe(16);
    } finally {
      await auditor.close();
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a governed runtime with a public URL and a metrics listener', () => {
  const dir = tempDir('edge-config');
  let store: Store;
  let app: FastifyInstance;
  let metricsApp: FastifyInstance;
  let url: string;
  const TOKEN = 'scrape-token-for-tests';

  beforeAll(async () => {
    const specFile = path.join(dir, 'helpdesk.yaml');
    fs.writeFileSync(specFile, HELPDESK_SPEC);
    await generateInto([specFile], path.join(dir, 'generated'));
    store = await openStore(`sqlite:${path.join(dir, 'store.db')}`);
    ({ app, url } = await serveGoverned(store, {
      generatedDir: path.join(dir, 'generated'),
      upstreams: { helpdesk: { baseUrl: 'http://127.0.0.1:9/api' } },
      http: { publicUrl: 'https://mcp.example.com/', metricsToken: TOKEN },
    }));
    const { startMetricsServer } = await import('../runtime/ops/metrics-server.ts');
    metricsApp = await startMetricsServer({ metrics: app.metrics, port: 0, token: TOKEN });
  });
  afterAll(async () => {
    await metricsApp?.close();
    await app?.close();
    await store?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the challenge and the metadata name the configured URL, whatever the Host header says', async () => {
    const response = await forgedHost(url, 'POST', 'evil.example');
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource"');
    const metadata = JSON.parse((await forgedHost(new URL('/.well-known/oauth-protected-resource', url).toString(), 'GET', 'evil.example')).body) as { resource: string };
    expect(metadata.resource).toBe('https://mcp.example.com/mcp');
  });

  it('/metrics needs the token, on the MCP port and on the metrics listener; a refused scrape is audited', async () => {
    const metricsUrl = `http://127.0.0.1:${(metricsApp.server.address() as net.AddressInfo).port}/metrics`;
    for (const target of [new URL('/metrics', url).toString(), metricsUrl]) {
      expect((await fetch(target)).status).toBe(401);
      expect((await fetch(target, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
      const ok = await fetch(target, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toMatch(/process_cpu/);
    }
    const refused = await fetch(new URL('/metrics', url), { headers: { authorization: 'Bearer wrong' } });
    const rec = (await auditRepo(store).search({ tenant: GATEWAY_CHAIN })).find((e) => e.record.requestId === refused.headers.get('x-request-id'));
    expect(rec?.record).toMatchObject({ step: 'metrics', code: 'invalid', status: 401, path: '/metrics' });
  });
});
