/**
 * The admin HTTP API over real HTTP, on SQLite and PostgreSQL: an operator builds a tenant from
 * nothing (tenant, customer, vendor id, grant, key, quota, credential), the key it minted is used
 * by the official MCP client against /mcp, and the usage and audit of that call come back through
 * the API. Every refusal is checked for its status and its error body.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { adminKeysRepo, apiKeysRepo, approvalsRepo, auditRepo, openStore, type Store } from '../runtime/store/index.ts';
import { ADMIN_PREFIX, startAdminServer } from '../runtime/admin/index.ts';
import { createCredentialBroker } from '../runtime/credentials/broker.ts';
import { parseKeyring } from '../runtime/credentials/keyring.ts';
import { startRecorder, type Recorder } from './fixtures/call/harness.ts';
import { HELPDESK_SPEC, governedClient, helpdeskAnswer, serveGoverned, type ToolResult } from './helpers/governed.ts';
import { generateInto, listAll, root, tempDir } from './helpers/e2e.ts';
import { findPostgres, storeBackends } from './helpers/postgres.ts';

const pgAvail = findPostgres();
const ENV_TOKEN = `env-${randomBytes(24).toString('base64url')}`;
const VENDOR_SECRET = `vendor-secret-${randomBytes(12).toString('hex')}`;

interface ErrorBody { error: { code: string; message: string; field?: string; rule?: string } }

if (!pgAvail.ok && process.env.CI) {
  describe('admin API on postgres', () => {
    it('needs PostgreSQL in CI', () => { throw new Error(`admin API tests need PostgreSQL in CI: ${pgAvail.reason}`); });
  });
}

const dir = tempDir('admin-api');
let upstream: Recorder;

beforeAll(async () => {
  fs.writeFileSync(path.join(dir, 'helpdesk.yaml'), HELPDESK_SPEC);
  await generateInto([path.join(dir, 'helpdesk.yaml')], path.join(dir, 'generated'));
  upstream = await startRecorder((u) => ({ body: helpdeskAnswer(u) }), '/api');
});
afterAll(async () => {
  await upstream?.close();
  await stopPostgres();
  fs.rmSync(dir, { recursive: true, force: true });
});

const { backends, stop: stopPostgres } = storeBackends(() => `sqlite:${path.join(dir, 'store.db')}`);

for (const [name, available, newUrl] of backends) {
  describe.skipIf(!available)(`admin API on ${name}`, () => {
    let storeUrl: string;
    let store: Store;
    let mcp: FastifyInstance;
    let admin: FastifyInstance;
    let mcpUrl: string;
    let base: string;
    let opsKey: string;
    let opsKeyId: string;
    let tenantKey = '';
    let customerId = '';

    beforeAll(async () => {
      storeUrl = await newUrl();
      store = await openStore(storeUrl);
      const logger = pino({ level: 'silent' });
      ({ app: mcp, url: mcpUrl } = await serveGoverned(store, { generatedDir: path.join(dir, 'generated'), upstreams: { helpdesk: { baseUrl: upstream.url } }, logger }));
      const keyring = parseKeyring(`k1:${randomBytes(32).toString('base64')}`, 'test keyring');
      admin = await startAdminServer({ store, port: 0, logger, adminToken: ENV_TOKEN, broker: createCredentialBroker({ store, keyring }) });
      const b = admin.server.address();
      base = `http://127.0.0.1:${typeof b === 'object' && b ? b.port : 0}${ADMIN_PREFIX}`;
      const created = await adminKeysRepo(store).create({ subject: 'ops-alice' });
      opsKey = created.key;
      opsKeyId = created.info.id;
    });
    afterAll(async () => {
      await admin?.close();
      await mcp?.close();
      await store?.close();
    });

    const call = async (method: string, route: string, options: { key?: string | null; body?: unknown; headers?: Record<string, string> } = {}) => {
      const key = options.key === undefined ? opsKey : options.key;
      const headers: Record<string, string> = { ...options.headers };
      if (key !== null) headers.authorization = `Bearer ${key}`;
      if (options.body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${base}${route}`, { method, headers, ...(options.body !== undefined && { body: JSON.stringify(options.body) }) });
      const text = await res.text();
      const json = res.headers.get('content-type')?.startsWith('application/json') && text ? JSON.parse(text) : undefined;
      return { status: res.status, headers: res.headers, text, json };
    };
    const refusal = (r: { json: unknown }) => (r.json as ErrorBody).error;

    it('refuses requests without a valid operator credential, with a Bearer challenge', async () => {
      const none = await call('GET', '/tenants', { key: null });
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Bearer realm="specgate-admin"');
      expect(refusal(none)).toEqual({ code: 'unauthenticated', message: expect.stringMatching(/send an admin key/) });

      const bad = await call('GET', '/tenants', { key: 'sga_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' });
      expect(bad.status).toBe(401);
      expect(bad.headers.get('www-authenticate')).toBe('Bearer realm="specgate-admin", error="invalid_token"');
      expect(refusal(bad).message).toBe('Not authenticated: the admin credential is not valid');

      const notBearer = await call('GET', '/tenants', { key: null, headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } });
      expect(notBearer.status).toBe(401);

      // The static token works as a global operator; a near miss does not.
      expect((await call('GET', '/tenants', { key: ENV_TOKEN })).status).toBe(200);
      expect((await call('GET', '/tenants', { key: `${ENV_TOKEN}x` })).status).toBe(401);
    });

    it('creates tenants (201, Location), refuses duplicates (409) and bad bodies naming the field and rule (400)', async () => {
      const created = await call('POST', '/tenants', { body: { id: 'msp-a', name: 'MSP A' } });
      expect(created.status).toBe(201);
      expect(created.headers.get('location')).toBe(`${ADMIN_PREFIX}/tenants/msp-a`);
      expect(created.json).toEqual({ id: 'msp-a', name: 'MSP A', createdAt: expect.any(String) });
      expect((await call('POST', '/tenants', { body: { id: 'msp-b', name: 'MSP B' } })).status).toBe(201);
      const generated = await call('POST', '/tenants', { body: { name: 'MSP C' } });
      expect(generated.status).toBe(201);
      expect((generated.json as { id: string }).id).toMatch(/^[0-9a-f-]{36}$/);

      const dup = await call('POST', '/tenants', { body: { id: 'msp-a', name: 'Again' } });
      expect(dup.status).toBe(409);
      expect(refusal(dup)).toEqual({ code: 'conflict', message: 'tenant "msp-a" already exists', field: 'id' });

      const missing = await call('POST', '/tenants', { body: { id: 'x' } });
      expect(missing.status).toBe(400);
      expect(refusal(missing)).toEqual({ code: 'invalid-request', message: 'body.name is required', field: 'body.name', rule: 'required' });
      const extra = await call('POST', '/tenants', { body: { name: 'X', colour: 'red' } });
      expect(refusal(extra)).toMatchObject({ field: 'body.colour', rule: 'additionalProperties' });
      const badId = await call('POST', '/tenants', { body: { name: 'X', id: 'has space' } });
      expect(refusal(badId)).toMatchObject({ field: 'body.id', rule: 'pattern' });
      const blank = await call('POST', '/tenants', { body: { name: '   ' } });
      expect(refusal(blank)).toMatchObject({ field: 'body.name', rule: 'pattern' });
      const wrongType = await call('POST', '/tenants', { body: { name: 42 } });
      expect(refusal(wrongType)).toMatchObject({ field: 'body.name', rule: 'type' });
      const badLimit = await call('GET', '/tenants?limit=0');
      expect(refusal(badLimit)).toMatchObject({ field: 'querystring.limit', rule: 'minimum' });
      const notJson = await fetch(`${base}/tenants`, { method: 'POST', headers: { authorization: `Bearer ${opsKey}`, 'content-type': 'application/json' }, body: '{"name":' });
      expect(notJson.status).toBe(400);
      expect(((await notJson.json()) as ErrorBody).error.code).toBe('invalid-request');
    });

    it('pages lists with limit and after', async () => {
      const first = await call('GET', '/tenants?limit=2');
      const p1 = first.json as { items: Array<{ id: string }>; next: string | null };
      expect(p1.items).toHaveLength(2);
      expect(p1.next).toBe(p1.items[1].id);
      const p2 = (await call('GET', `/tenants?limit=2&after=${encodeURIComponent(p1.next!)}`)).json as typeof p1;
      expect(p2.items).toHaveLength(1);
      expect(p2.next).toBeNull();
      expect([...p1.items, ...p2.items].map((t) => t.id)).toEqual(expect.arrayContaining(['msp-a', 'msp-b']));
      const stale = await call('GET', '/tenants?after=no-such-tenant');
      expect(stale.status).toBe(400);
      expect(refusal(stale).field).toBe('querystring.after');
    });

    it('answers 404 for an unknown tenant, customer or route', async () => {
      const t = await call('GET', '/tenants/nope/customers');
      expect(t.status).toBe(404);
      expect(refusal(t)).toEqual({ code: 'not-found', message: 'unknown tenant "nope"', field: 'tenant' });
      expect((await call('POST', '/tenants/nope/keys', { body: { subject: 'x' } })).status).toBe(404);
      expect((await call('GET', '/tenants/nope')).status).toBe(404);
      const route = await call('GET', '/nothing-here');
      expect(route.status).toBe(404);
      expect(refusal(route).code).toBe('not-found');
    });

    it('creates customers and records their vendor ids', async () => {
      const c = await call('POST', '/tenants/msp-a/customers', { body: { id: 'contoso', name: 'Contoso' } });
      expect(c.status).toBe(201);
      customerId = (c.json as { id: string }).id;
      expect(c.json).toMatchObject({ id: 'contoso', tenantId: 'msp-a', name: 'Contoso' });
      // Customer ids are global: another tenant cannot take one either.
      const dup = await call('POST', '/tenants/msp-b/customers', { body: { id: 'contoso', name: 'Other' } });
      expect(dup.status).toBe(409);
      expect(refusal(dup).message).toBe('customer "contoso" already exists');

      const v = await call('PUT', '/tenants/msp-a/customers/contoso/vendor-ids/helpdesk', { body: { vendorId: '4242' } });
      expect(v.status).toBe(200);
      expect(v.json).toEqual({ tenantId: 'msp-a', customerId: 'contoso', connector: 'helpdesk', vendorId: '4242' });
      const badConnector = await call('PUT', '/tenants/msp-a/customers/contoso/vendor-ids/Help-Desk', { body: { vendorId: '1' } });
      expect(refusal(badConnector)).toMatchObject({ field: 'params.connector', rule: 'pattern' });
      // Another tenant's customer is unknown here, so vendor ids never cross tenants.
      const foreign = await call('PUT', '/tenants/msp-b/customers/contoso/vendor-ids/helpdesk', { body: { vendorId: '1' } });
      expect(foreign.status).toBe(404);
      expect(refusal(foreign).message).toBe('unknown customer "contoso" in tenant "msp-b"');

      const one = await call('GET', '/tenants/msp-a/customers/contoso');
      expect(one.json).toMatchObject({ id: 'contoso', vendorIds: [{ connector: 'helpdesk', vendorId: '4242' }] });
      const list = await call('GET', '/tenants/msp-a/customers');
      expect(list.json).toEqual({ items: [expect.objectContaining({ id: 'contoso' })], next: null });
    });

    it('grants entitlements, refuses a duplicate grant, revokes', async () => {
      const g = await call('POST', '/tenants/msp-a/grants', { body: { connector: 'helpdesk' } });
      expect(g.status).toBe(201);
      expect(g.json).toEqual({ tenantId: 'msp-a', connector: 'helpdesk', toolGlob: '*' });
      expect((await call('POST', '/tenants/msp-a/grants', { body: { connector: 'helpdesk', toolGlob: '*' } })).status).toBe(409);
      expect((await call('POST', '/tenants/msp-a/grants', { body: { connector: 'other', toolGlob: 'other_*' } })).status).toBe(201);
      expect((await call('DELETE', '/tenants/msp-a/grants?connector=other&toolGlob=other_*')).status).toBe(204);
      const gone = await call('DELETE', '/tenants/msp-a/grants?connector=other&toolGlob=other_*');
      expect(gone.status).toBe(404);
      expect(refusal(gone).message).toBe('tenant "msp-a" has no grant other other_*');
      expect((await call('GET', '/tenants/msp-a/grants')).json).toEqual({ items: [{ tenantId: 'msp-a', connector: 'helpdesk', toolGlob: '*' }], next: null });
    });

    it('creates an API key shown once that the official MCP client can use on /mcp', async () => {
      const created = await call('POST', '/tenants/msp-a/keys', { body: { subject: 'tech-bob', roles: ['technician'] } });
      expect(created.status).toBe(201);
      expect(created.headers.get('cache-control')).toBe('no-store');
      const body = created.json as { key: string; info: { id: string; status: string; roles: string[] }; notice: string };
      expect(body.key).toMatch(/^sg_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
      expect(body.info).toMatchObject({ status: 'active', roles: ['technician'], tenantId: 'msp-a' });
      expect(body.notice).toMatch(/shown once/);
      tenantKey = body.key;

      const list = await call('GET', '/tenants/msp-a/keys');
      expect(list.text).not.toContain(tenantKey.slice(16));
      expect(list.text).not.toMatch(/hash/);
      expect((list.json as { items: Array<{ id: string }> }).items.map((k) => k.id)).toEqual([body.info.id]);

      const past = await call('POST', '/tenants/msp-a/keys', { body: { subject: 'x', expiresAt: '2001-01-01' } });
      expect(refusal(past)).toMatchObject({ field: 'body.expiresAt', message: 'body.expiresAt must be in the future' });
      const badDate = await call('POST', '/tenants/msp-a/keys', { body: { subject: 'x', expiresAt: 'soon' } });
      expect(refusal(badDate)).toMatchObject({ code: 'invalid-request', field: 'body.expiresAt' });

      const client = await governedClient(mcpUrl, { authorization: `Bearer ${tenantKey}`, 'specgate-customer': customerId });
      try {
        expect((await listAll(client)).map((t) => t.name)).toContain('helpdesk_list_tickets');
        const result = (await client.callTool({ name: 'helpdesk_list_tickets', arguments: {} })) as ToolResult;
        expect(result.isError).toBeFalsy();
        expect(JSON.stringify(result.structuredContent ?? result.content)).toContain('printer');
      } finally {
        await client.close();
      }
      // The vendor id recorded through the API is what the upstream was asked for.
      expect(upstream.requests.some((r) => r.url.includes('client_id=4242'))).toBe(true);

      // Admin keys and tenant keys do not cross: neither works on the other's door.
      const onMcp = await fetch(mcpUrl, {
        method: 'POST',
        headers: { authorization: `Bearer ${opsKey}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
      });
      expect(onMcp.status).toBe(401);
      expect((await call('GET', '/tenants', { key: tenantKey })).status).toBe(401);
    });

    it('sets quotas (201 new, 200 replaced) and refuses an unknown period', async () => {
      const q = await call('PUT', '/tenants/msp-a/quotas', { body: { scope: '*', period: 'month', limit: 1000 } });
      expect(q.status).toBe(201);
      expect((await call('PUT', '/tenants/msp-a/quotas', { body: { scope: '*', period: 'month', limit: 2000 } })).status).toBe(200);
      expect((await call('GET', '/tenants/msp-a/quotas')).json).toEqual({ items: [{ tenantId: 'msp-a', scope: '*', period: 'month', limit: 2000 }], next: null });
      const week = await call('PUT', '/tenants/msp-a/quotas', { body: { scope: '*', period: 'week', limit: 1 } });
      expect(refusal(week)).toMatchObject({ field: 'body.period', rule: 'enum' });
      const text = await call('PUT', '/tenants/msp-a/quotas', { body: { scope: '*', period: 'day', limit: '5' } });
      expect(refusal(text)).toMatchObject({ field: 'body.limit', rule: 'type' });
    });

    it('sets and removes rate limits, naming a bad field', async () => {
      expect((await call('PUT', '/tenants/msp-a/rate-limits', { body: { scope: 'identity', perSecond: 5 } })).status).toBe(201);
      expect((await call('PUT', '/tenants/msp-a/rate-limits', { body: { scope: 'identity', perSecond: 7 } })).status).toBe(200);
      expect((await call('GET', '/tenants/msp-a/rate-limits')).json).toEqual({ items: [{ tenantId: 'msp-a', scope: 'identity', perSecond: 7 }], next: null });
      expect(refusal(await call('PUT', '/tenants/msp-a/rate-limits', { body: { scope: 'identity', perSecond: 0 } }))).toMatchObject({ field: 'body.perSecond', rule: 'minimum' });
      expect((await call('DELETE', '/tenants/msp-a/rate-limits/identity')).status).toBe(204);
      expect((await call('DELETE', '/tenants/msp-a/rate-limits/identity')).status).toBe(404);
    });

    it('lists approval requests and decides them as the authenticated operator, audited', async () => {
      const request = await approvalsRepo(store).request({
        tenantId: 'msp-a', subject: 'alice', customerId: null, connector: 'helpdesk', tool: 'helpdesk_get_ticket',
        argumentsHash: 'h', arguments: { q: 'x' }, decisionId: 'd', reason: 'high-risk tool',
      });
      const pending = await call('GET', '/tenants/msp-a/approvals?status=pending');
      expect((pending.json as { items: Array<{ id: string }> }).items.map((a) => a.id)).toContain(request.id);
      expect(refusal(await call('GET', '/tenants/msp-a/approvals?status=maybe'))).toMatchObject({ field: 'querystring.status', rule: 'enum' });
      const approved = await call('POST', `/tenants/msp-a/approvals/${request.id}/approve`, { body: { note: 'ok by phone' } });
      expect(approved.status).toBe(200);
      expect(approved.json).toMatchObject({ id: request.id, status: 'approved', decidedBy: 'ops-alice', note: 'ok by phone' });
      const twice = await call('POST', `/tenants/msp-a/approvals/${request.id}/deny`, { body: {} });
      expect(twice.status).toBe(409);
      expect((await call('POST', `/tenants/msp-a/approvals/nope/deny`, { body: {} })).status).toBe(404);
      const trail = await auditRepo(store).search({ tenant: 'msp-a' });
      expect(trail.at(-1)?.record).toMatchObject({ event: 'approval.approved', approvalId: request.id, decidedBy: 'ops-alice' });
      // The operator whose own call is held cannot approve it: a second person must.
      const own = await approvalsRepo(store).request({
        tenantId: 'msp-a', subject: 'ops-alice', customerId: null, connector: 'helpdesk', tool: 'helpdesk_get_ticket',
        argumentsHash: 'h2', arguments: {}, decisionId: 'd2', reason: 'high-risk tool',
      });
      const self = await call('POST', `/tenants/msp-a/approvals/${own.id}/approve`, { body: {} });
      expect(self.status).toBe(403);
      expect(self.json).toMatchObject({ error: { code: 'forbidden', message: `approval ${own.id} was requested by "ops-alice", who cannot approve it: a second person must` } });
      expect((await approvalsRepo(store).get(own.id))?.status).toBe('pending');
    });

    it('exports usage as JSON totals and as CSV records', async () => {
      const from = '2000-01-01';
      const to = new Date(Date.now() + 86_400_000).toISOString();
      const json = await call('GET', `/tenants/msp-a/usage?from=${from}&to=${encodeURIComponent(to)}`);
      expect(json.status).toBe(200);
      expect(json.json).toMatchObject({ tenantId: 'msp-a', from: '2000-01-01T00:00:00.000Z', items: [{ customerId: 'contoso', connector: 'helpdesk', tool: 'helpdesk_list_tickets', outcome: 'ok', calls: 1 }] });
      const csv = await call('GET', `/tenants/msp-a/usage?from=${from}&to=${encodeURIComponent(to)}&format=csv`);
      expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect(csv.headers.get('content-disposition')).toMatch(/^attachment; filename="usage-msp-a-2000-01-01-/);
      const lines = csv.text.trimEnd().split('\r\n');
      expect(lines[0]).toBe('call_id,tenant_id,customer_id,subject,connector,tool,outcome,latency_ms,upstream_bytes,units,at');
      expect(lines).toHaveLength(2);
      expect(lines[1]).toContain(',msp-a,contoso,tech-bob,helpdesk,helpdesk_list_tickets,ok,');
      const byAccept = await call('GET', `/tenants/msp-a/usage?from=${from}&to=${encodeURIComponent(to)}`, { headers: { accept: 'text/csv' } });
      expect(byAccept.text).toBe(csv.text);

      const reversed = await call('GET', `/tenants/msp-a/usage?from=2026-02-01&to=2026-01-01`);
      expect(refusal(reversed)).toMatchObject({ field: 'querystring.from', message: expect.stringMatching(/must be before/) });
      const badDate = await call('GET', `/tenants/msp-a/usage?from=2026-13-45&to=2027-01-01`);
      expect(refusal(badDate)).toMatchObject({ field: 'querystring.from', message: expect.stringMatching(/^bad date for querystring.from/) });
      expect(refusal(await call('GET', '/tenants/msp-a/usage?from=2026-01-01'))).toMatchObject({ field: 'querystring.to', rule: 'required' });
    });

    it('stores vendor credentials write-only', async () => {
      const put = await call('PUT', '/tenants/msp-a/credentials/helpdesk', { body: { credential: { kind: 'bearer', token: VENDOR_SECRET } } });
      expect(put.status).toBe(201);
      expect(put.json).toEqual({ tenantId: 'msp-a', connector: 'helpdesk', kind: 'bearer', keyId: 'k1', updatedAt: expect.any(String) });
      expect((await call('PUT', '/tenants/msp-a/credentials/helpdesk', { body: { kind: 'bearer', token: VENDOR_SECRET } })).status).toBe(200);
      const list = await call('GET', '/tenants/msp-a/credentials');
      expect((list.json as { items: unknown[] }).items).toEqual([expect.objectContaining({ connector: 'helpdesk', kind: 'bearer' })]);
      expect(list.text).not.toContain(VENDOR_SECRET);
      // Sealed at rest.
      const row = await store.db.selectFrom('credentials').select('ciphertext').where('tenant_id', '=', 'msp-a').executeTakeFirstOrThrow();
      expect(row.ciphertext).not.toContain(VENDOR_SECRET);

      const bad = await call('PUT', '/tenants/msp-a/credentials/helpdesk', { body: { credential: { kind: 'bearer', tokn: VENDOR_SECRET } } });
      expect(bad.status).toBe(400);
      expect(bad.text).not.toContain(VENDOR_SECRET);
      expect(refusal(bad).message).toMatch(/credential/);
      expect(refusal(await call('PUT', '/tenants/msp-a/credentials/helpdesk', { body: {} }))).toMatchObject({ field: 'body', rule: 'minProperties' });

      expect((await call('DELETE', '/tenants/msp-a/credentials/helpdesk')).status).toBe(204);
      const again = await call('DELETE', '/tenants/msp-a/credentials/helpdesk');
      expect(again.status).toBe(404);
      expect(refusal(again).message).toBe('tenant "msp-a" has no credential for connector "helpdesk"');
    });

    it('keeps a tenant-scoped admin key to its tenant (403 elsewhere, before any existence check)', async () => {
      const scoped = (await adminKeysRepo(store).create({ subject: 'msp-a-admin', tenantId: 'msp-a' })).key;
      const own = await call('GET', '/tenants', { key: scoped });
      expect((own.json as { items: Array<{ id: string }> }).items.map((t) => t.id)).toEqual(['msp-a']);
      expect((await call('GET', '/tenants/msp-a/customers', { key: scoped })).status).toBe(200);
      for (const [method, route, body] of [
        ['GET', '/tenants/msp-b/customers', undefined],
        ['POST', '/tenants/msp-b/keys', { subject: 'intruder' }],
        ['GET', '/tenants/msp-b/audit', undefined],
        ['GET', '/tenants/no-such-tenant/customers', undefined],
        ['POST', '/tenants', { name: 'New MSP' }],
      ] as const) {
        const r = await call(method, route, { key: scoped, ...(body && { body }) });
        expect(r.status, `${method} ${route}`).toBe(403);
        expect(refusal(r).code).toBe('forbidden');
      }
      expect(await apiKeysRepo(store).list('msp-b')).toEqual([]);
    });

    // The CLI is the same code on either backend; one run, against the SQLite file, is enough.
    if (name === 'sqlite') it('mints admin keys with `specgate admin-key create`, shown once, that the API accepts', async () => {
      const cli = (...args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [path.join(root, 'bin', 'specgate.js'), 'admin-key', ...args, '--store', storeUrl], { cwd: root, env: { ...process.env, SPECGATE_KEY_PEPPER: '' } },
          (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }));
      });
      const created = await cli('create', '--subject', 'ops-carol', '--tenant', 'msp-b', '--expires', '30d');
      expect(created.code).toBe(0);
      const key = created.stdout.trim();
      expect(key).toMatch(/^sga_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
      expect(created.stderr).toMatch(/tenant msp-b only[\s\S]*shown once/);
      expect((await call('GET', '/tenants/msp-b/customers', { key })).status).toBe(200);
      expect((await call('GET', '/tenants/msp-a/customers', { key })).status).toBe(403);

      const list = await cli('list', '--json');
      const rows = JSON.parse(list.stdout) as Array<{ id: string; subject: string; tenantId: string | null; status: string }>;
      const carol = rows.find((r) => r.subject === 'ops-carol')!;
      expect(carol).toMatchObject({ tenantId: 'msp-b', status: 'active' });
      expect(list.stdout).not.toContain(key.slice(17));
      expect((await cli('create', '--subject', 'x', '--tenant', 'nope')).stderr).toBe('specgate: unknown tenant "nope"\n');

      expect((await cli('revoke', carol.id)).stdout).toBe(`revoked admin key ${carol.id}\n`);
      expect((await call('GET', '/tenants/msp-b/customers', { key })).status).toBe(401);
    });

    it('refuses a revoked admin key', async () => {
      const { key, info } = await adminKeysRepo(store).create({ subject: 'temp' });
      expect((await call('GET', '/tenants', { key })).status).toBe(200);
      await adminKeysRepo(store).revoke(info.id);
      const r = await call('GET', '/tenants', { key });
      expect(r.status).toBe(401);
      expect(refusal(r).message).toBe('Not authenticated: the admin key has been revoked');
    });

    it('audits every mutation (who, what, when) without secrets, and searches the trail page by page', async () => {
      const all = await call('GET', '/tenants/msp-a/audit?subject=ops-alice&limit=1000');
      const entries = (all.json as { items: Array<{ seq: number; at: string; record: Record<string, unknown> }> }).items;
      expect(entries.map((e) => e.record.action)).toEqual([
        'tenant.create', 'customer.create', 'customer.vendor-id', 'grant.create', 'grant.create', 'grant.revoke',
        'key.create', 'quota.create', 'quota.replace', 'rate-limit.create', 'rate-limit.replace', 'rate-limit.remove', 'credential.create', 'credential.replace', 'credential.remove',
      ]);
      for (const e of entries) {
        expect(e.record).toMatchObject({ event: 'admin', subject: 'ops-alice', keyId: opsKeyId, requestId: expect.any(String) });
        expect(Date.parse(e.at)).not.toBeNaN();
      }
      const keyCreate = entries.find((e) => e.record.action === 'key.create')!;
      expect(keyCreate.record.target).toEqual({ id: expect.any(String), holder: 'tech-bob', roles: ['technician'], expiresAt: null });
      const trail = JSON.stringify(entries);
      expect(trail).not.toContain(tenantKey.slice(16));
      expect(trail).not.toContain(VENDOR_SECRET);

      // The MCP call is in the same chain; paging walks it by sequence number.
      const calls = await call('GET', '/tenants/msp-a/audit?tool=helpdesk_list_tickets');
      expect((calls.json as { items: Array<{ record: { outcome: string } }> }).items.map((e) => e.record.outcome)).toEqual(['ok']);
      const p1 = (await call('GET', '/tenants/msp-a/audit?limit=2')).json as { items: Array<{ seq: number }>; next: string | null };
      expect(p1.items.map((e) => e.seq)).toEqual([1, 2]);
      expect(p1.next).toBe('2');
      const p2 = (await call('GET', `/tenants/msp-a/audit?limit=2&after=${p1.next}`)).json as typeof p1;
      expect(p2.items.map((e) => e.seq)).toEqual([3, 4]);
      expect(refusal(await call('GET', '/tenants/msp-a/audit?after=-1'))).toMatchObject({ field: 'querystring.after', rule: 'minimum' });
    });
  });
}
