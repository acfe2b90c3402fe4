/**
 * The admin API's OpenAPI document against the implementation, on SQLite and PostgreSQL: the
 * document validates, every documented operation is called over real HTTP and answers as
 * documented (its 2xx body validates against the documented response schema), and the reports
 * the console draws (usage series, refusals from the audit, percentiles) add up to the rows seeded.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv } from 'ajv';
import pino from 'pino';
import { adminKeysRepo, approvalsRepo, auditRepo, insertUsageIn, openStore, tenantsRepo, type Store } from '../runtime/store/index.ts';
import { ADMIN_PREFIX, startAdminServer } from '../runtime/admin/index.ts';
import { catalogReporter } from '../runtime/admin/catalog-report.ts';
import { OPENAPI_PATH } from '../runtime/admin/openapi.ts';
import { createCredentialBroker } from '../runtime/credentials/broker.ts';
import { parseKeyring } from '../runtime/credentials/keyring.ts';
import { quantile } from '../runtime/store/repos/reports.ts';
import { HELPDESK_SPEC, serveGoverned } from './helpers/governed.ts';
import { generateInto, tempDir } from './helpers/e2e.ts';
import { findPostgres, storeBackends } from './helpers/postgres.ts';
import type { Runtime } from '../runtime/start.ts';

const pgAvail = findPostgres();
const TOKEN = `admin-${randomBytes(16).toString('hex')}`;
const dir = tempDir('admin-openapi');

if (!pgAvail.ok && process.env.CI) {
  describe('admin OpenAPI on postgres', () => {
    it('needs PostgreSQL in CI', () => { throw new Error(`needs PostgreSQL in CI: ${pgAvail.reason}`); });
  });
}

beforeAll(async () => {
  fs.writeFileSync(path.join(dir, 'helpdesk.yaml'), HELPDESK_SPEC);
  await generateInto([path.join(dir, 'helpdesk.yaml')], path.join(dir, 'generated'));
});
afterAll(async () => {
  await stopPostgres();
  fs.rmSync(dir, { recursive: true, force: true });
});

type Doc = { paths: Record<string, Record<string, { parameters?: Array<{ in: string; name: string; required?: boolean }>; requestBody?: unknown; responses: Record<string, { content?: Record<string, { schema: object }> }> }>> };

/**
 * One call per documented operation, in an order that creates before it reads and deletes last.
 * A documented operation missing here fails the test: a new route must come with its sample.
 */
function samples(ids: { key: string; approve: string; deny: string }): Record<string, { path?: Record<string, string>; query?: Record<string, string>; body?: unknown; status: number[] }> {
  return {
    'GET /admin/v1/whoami': { status: [200] },
    'POST /admin/v1/tenants': { body: { id: 'msp-new', name: 'New MSP' }, status: [201] },
    'GET /admin/v1/tenants': { status: [200] },
    'GET /admin/v1/tenants/{tenant}': { path: { tenant: 'msp-a' }, status: [200] },
    'POST /admin/v1/tenants/{tenant}/customers': { path: { tenant: 'msp-a' }, body: { id: 'globex', name: 'Globex' }, status: [201] },
    'GET /admin/v1/tenants/{tenant}/customers': { path: { tenant: 'msp-a' }, status: [200] },
    'GET /admin/v1/tenants/{tenant}/customers/{customer}': { path: { tenant: 'msp-a', customer: 'acme' }, status: [200] },
    'PUT /admin/v1/tenants/{tenant}/customers/{customer}/vendor-ids/{connector}': { path: { tenant: 'msp-a', customer: 'globex', connector: 'helpdesk' }, body: { vendorId: '77' }, status: [200] },
    'POST /admin/v1/tenants/{tenant}/keys': { path: { tenant: 'msp-a' }, body: { subject: 'bob', roles: ['technician'] }, status: [201] },
    'GET /admin/v1/tenants/{tenant}/keys': { path: { tenant: 'msp-a' }, status: [200] },
    'DELETE /admin/v1/tenants/{tenant}/keys/{key}': { path: { tenant: 'msp-a', key: ids.key }, status: [200, 204] },
    'POST /admin/v1/tenants/{tenant}/grants': { path: { tenant: 'msp-a' }, body: { connector: 'other', toolGlob: '*' }, status: [201, 200] },
    'GET /admin/v1/tenants/{tenant}/grants': { path: { tenant: 'msp-a' }, status: [200] },
    'DELETE /admin/v1/tenants/{tenant}/grants': { path: { tenant: 'msp-a' }, query: { connector: 'other', toolGlob: '*' }, status: [200, 204] },
    'PUT /admin/v1/tenants/{tenant}/quotas': { path: { tenant: 'msp-a' }, body: { scope: '*', period: 'month', limit: 1000 }, status: [200, 201] },
    'GET /admin/v1/tenants/{tenant}/quotas': { path: { tenant: 'msp-a' }, status: [200] },
    'PUT /admin/v1/tenants/{tenant}/rate-limits': { path: { tenant: 'msp-a' }, body: { scope: 'tenant', perSecond: 50 }, status: [200, 201] },
    'GET /admin/v1/tenants/{tenant}/rate-limits': { path: { tenant: 'msp-a' }, status: [200] },
    'DELETE /admin/v1/tenants/{tenant}/rate-limits/{scope}': { path: { tenant: 'msp-a', scope: 'tenant' }, status: [200, 204] },
    'GET /admin/v1/tenants/{tenant}/approvals': { path: { tenant: 'msp-a' }, status: [200] },
    'POST /admin/v1/tenants/{tenant}/approvals/{id}/approve': { path: { tenant: 'msp-a', id: ids.approve }, body: { note: 'fine' }, status: [200] },
    'POST /admin/v1/tenants/{tenant}/approvals/{id}/deny': { path: { tenant: 'msp-a', id: ids.deny }, body: { note: 'no' }, status: [200] },
    'GET /admin/v1/tenants/{tenant}/usage': { path: { tenant: 'msp-a' }, query: { from: '2026-11-01', to: '2026-12-01' }, status: [200] },
    'GET /admin/v1/tenants/{tenant}/usage/series': { path: { tenant: 'msp-a' }, query: { from: '2026-11-01', to: '2026-12-01', bucket: 'day', by: 'tool' }, status: [200] },
    'GET /admin/v1/usage/series': { query: { from: '2026-11-01', to: '2026-12-01', by: 'tenant' }, status: [200] },
    'GET /admin/v1/catalog': { status: [200] },
    'GET /admin/v1/tenants/{tenant}/audit': { path: { tenant: 'msp-a' }, query: { order: 'desc', outcome: 'refused' }, status: [200] },
    'GET /admin/v1/audit/verify': { status: [200] },
    'GET /admin/v1/tenants/{tenant}/audit/verify': { path: { tenant: 'msp-a' }, status: [200] },
    'PUT /admin/v1/tenants/{tenant}/credentials/{connector}': { path: { tenant: 'msp-a', connector: 'helpdesk' }, body: { kind: 'apiKey', key: 'k-123' }, status: [200, 201] },
    'GET /admin/v1/tenants/{tenant}/credentials': { path: { tenant: 'msp-a' }, status: [200] },
    'DELETE /admin/v1/tenants/{tenant}/credentials/{connector}': { path: { tenant: 'msp-a', connector: 'helpdesk' }, status: [200, 204] },
  };
}

const { backends, stop: stopPostgres } = storeBackends(() => `sqlite:${path.join(dir, `store-${randomBytes(4).toString('hex')}.db`)}`);

/** A month of traffic for msp-a: per day, 3 ok calls of two tools with known latencies, one error, one refusal. */
async function seedMonth(store: Store): Promise<{ calls: number; units: number; errors: number; refused: number }> {
  let n = 0;
  for (let day = 1; day <= 30; day++) {
    const date = `2026-11-${String(day).padStart(2, '0')}`;
    const audit = auditRepo(store, () => new Date(`${date}T20:00:00.000Z`));
    for (const [i, [tool, latency, outcome]] of ([['helpdesk_list_tickets', 100, 'ok'], ['helpdesk_list_tickets', 200, 'ok'], ['helpdesk_get_ticket', 300, 'ok'], ['helpdesk_get_ticket', 900, 'error']] as const).entries()) {
      await insertUsageIn(store.db, {
        callId: `call-${day}-${i}`, tenantId: 'msp-a', customerId: i % 2 ? 'acme' : 'globex', subject: 'alice', connector: 'helpdesk', tool,
        outcome, latencyMs: latency, upstreamBytes: 10, units: 1, at: `${date}T1${i}:00:00.000Z`,
      }, () => new Date());
      n++;
    }
    await audit.append('msp-a', { outcome: 'refused', tool: 'helpdesk_get_ticket', customer: 'acme', subject: 'mallory', reason: 'not entitled' });
    // Text that looks like a refusal inside a call's arguments must not count as one.
    await audit.append('msp-a', { outcome: 'ok', tool: 'helpdesk_list_tickets', arguments: { note: '"outcome":"refused"' } });
  }
  return { calls: n + 30, units: n, errors: 30, refused: 30 };
}

for (const [name, available, newUrl] of backends) {
  describe.skipIf(!available)(`admin OpenAPI on ${name}`, () => {
    let store: Store;
    let admin: FastifyInstance;
    let mcp: FastifyInstance;
    let runtime: Runtime;
    let base: string;
    let seeded: Awaited<ReturnType<typeof seedMonth>>;

    beforeAll(async () => {
      store = await openStore(await newUrl());
      const tenants = tenantsRepo(store);
      await tenants.createTenant({ id: 'msp-a', name: 'MSP A' });
      await tenants.createCustomer({ tenantId: 'msp-a', id: 'acme', name: 'ACME' });
      seeded = await seedMonth(store);
      const logger = pino({ level: 'silent' });
      ({ app: mcp, runtime } = await serveGoverned(store, { generatedDir: path.join(dir, 'generated'), upstreams: { helpdesk: { baseUrl: 'http://127.0.0.1:9/api' } }, logger }));
      const keyring = parseKeyring(`k1:${randomBytes(32).toString('base64')}`, 'test keyring');
      admin = await startAdminServer({ store, port: 0, logger, adminToken: TOKEN, broker: createCredentialBroker({ store, keyring }), catalog: catalogReporter(runtime) });
      const a = admin.server.address();
      base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
    });
    afterAll(async () => {
      await admin?.close();
      await mcp?.close();
      await store?.close();
    });

    it('serves a valid OpenAPI 3.1 document without a credential, and every documented operation answers as documented', async () => {
      const res = await fetch(`${base}${OPENAPI_PATH}`);
      expect(res.status).toBe(200);
      const doc = (await res.json()) as Doc;
      await SwaggerParser.validate(structuredClone(doc) as never);
      expect((doc as unknown as { openapi: string }).openapi).toBe('3.1.0');

      const key = await (await fetch(`${base}${ADMIN_PREFIX}/tenants/msp-a/keys`, {
        method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ subject: 'carol' }),
      })).json() as { info: { id: string } };
      const approvals = approvalsRepo(store);
      const request = (tool: string) => approvals.request({ tenantId: 'msp-a', subject: 'alice', customerId: null, connector: 'helpdesk', tool, argumentsHash: tool, arguments: {}, decisionId: 'd', reason: 'high-risk tool' });
      const ids = { key: key.info.id, approve: (await request('helpdesk_get_ticket')).id, deny: (await request('helpdesk_get_article')).id };
      const plan = samples(ids);

      const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
      expect(documented.filter((op) => !(op in plan)), 'documented operations without a sample call').toEqual([]);
      expect(Object.keys(plan).filter((op) => !documented.includes(op)), 'sampled operations the document lacks').toEqual([]);

      const ajv = new Ajv({ strict: false, allErrors: true });
      for (const [op, sample] of Object.entries(plan)) {
        const [method, template] = op.split(' ');
        const url = new URL(base + template.replace(/\{(\w+)\}/g, (_, n: string) => encodeURIComponent(sample.path![n])));
        for (const [k, v] of Object.entries(sample.query ?? {})) url.searchParams.set(k, v);
        const answer = await fetch(url, {
          method, headers: { authorization: `Bearer ${TOKEN}`, ...(sample.body !== undefined && { 'content-type': 'application/json' }) },
          ...(sample.body !== undefined && { body: JSON.stringify(sample.body) }),
        });
        const text = await answer.text();
        expect(sample.status, `${op}: ${answer.status} ${text.slice(0, 300)}`).toContain(answer.status);
        const schema = doc.paths[template][method.toLowerCase()].responses[String(answer.status)]?.content?.['application/json']?.schema;
        if (schema && text) {
          const validate = ajv.compile(schema);
          expect(validate(JSON.parse(text)), `${op}: ${ajv.errorsText(validate.errors)}`).toBe(true);
        }
      }
    });

    it('reports a seeded month: totals, refusals from the audit (not from look-alike text), percentiles, splits and scope', async () => {
      const get = async (route: string, token = TOKEN) => {
        const r = await fetch(`${base}${ADMIN_PREFIX}${route}`, { headers: { authorization: `Bearer ${token}` } });
        return { status: r.status, body: await r.json() as Record<string, unknown> };
      };
      const month = await get('/tenants/msp-a/usage/series?from=2026-11-01&to=2026-12-01&bucket=day');
      expect(month.status).toBe(200);
      const points = month.body.points as Array<{ at: string; calls: number; units: number; ok: number; errors: number; refused: number; p50: number; p95: number; p99: number }>;
      expect(points).toHaveLength(30);
      expect(points[0]).toEqual({ at: '2026-11-01T00:00:00.000Z', key: null, calls: 5, units: 4, ok: 3, errors: 1, cancelled: 0, refused: 1, p50: 200, p95: 900, p99: 900 });
      const sum = (k: 'calls' | 'units' | 'errors' | 'refused') => points.reduce((s, p) => s + p[k], 0);
      expect({ calls: sum('calls'), units: sum('units'), errors: sum('errors'), refused: sum('refused') }).toEqual(seeded);

      const byTool = await get('/tenants/msp-a/usage/series?from=2026-11-01&to=2026-12-01&by=tool');
      expect(byTool.body.totals).toEqual([
        { key: 'helpdesk_get_ticket', calls: 90, units: 60, errors: 30, refused: 30 },
        { key: 'helpdesk_list_tickets', calls: 60, units: 60, errors: 0, refused: 0 },
      ]);
      const hourly = await get('/tenants/msp-a/usage/series?from=2026-11-02&to=2026-11-03&bucket=hour&by=customer');
      expect((hourly.body.points as Array<{ at: string; key: string | null }>).map((p) => `${p.at.slice(11, 13)} ${p.key}`))
        .toEqual(['10 globex', '11 acme', '12 globex', '13 acme', '20 acme']);

      const wrong = await get('/tenants/msp-a/usage/series?from=2026-12-01&to=2026-11-01');
      expect(wrong.status).toBe(400);
      expect(await get('/tenants/msp-a/usage/series?bucket=week')).toMatchObject({ status: 400, body: { error: { field: 'querystring.bucket', rule: 'enum' } } });
    });

    it('pages the audit newest first and filters by outcome on the parsed record', async () => {
      const get = async (route: string) => (await (await fetch(`${base}${ADMIN_PREFIX}${route}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { items: Array<{ seq: number; record: { outcome?: string } }>; next: string | null };
      const first = await get('/tenants/msp-a/audit?order=desc&outcome=refused&limit=7');
      expect(first.items).toHaveLength(7);
      expect(first.items.every((e) => e.record.outcome === 'refused')).toBe(true);
      const seqs = first.items.map((e) => e.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
      const second = await get(`/tenants/msp-a/audit?order=desc&outcome=refused&limit=7&before=${first.next}`);
      expect(second.items[0].seq).toBeLessThan(seqs[6]);
      const all = await get('/tenants/msp-a/audit?outcome=refused&limit=1000');
      expect(all.items).toHaveLength(30);
    });

    it('shows the catalog with upstream health, hiding upstream hosts from tenant operators', async () => {
      const res = await fetch(`${base}${ADMIN_PREFIX}/catalog`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const catalog = await res.json() as { connectors: Array<{ name: string; tools: number; upstream: { url: string | null; breaker: string } }>; tools: Array<{ name: string; scope: string; definitionTokens: number }> };
      expect(catalog.connectors).toEqual([expect.objectContaining({ name: 'helpdesk', tools: 3, upstream: expect.objectContaining({ url: 'http://127.0.0.1:9/api', breaker: 'closed' }) })]);
      expect(catalog.tools.map((t) => [t.name, t.scope])).toEqual([['helpdesk_get_article', 'tenant (declared with the deprecated customer: false)'], ['helpdesk_get_ticket', 'tenant (declared with the deprecated customer: false)'], ['helpdesk_list_tickets', 'bound (client_id)']]);
      expect(catalog.tools.every((t) => t.definitionTokens > 0)).toBe(true);
      const scoped = (await adminKeysRepo(store).create({ subject: 'msp-a-ops', tenantId: 'msp-a' })).key;
      const seen = await (await fetch(`${base}${ADMIN_PREFIX}/catalog`, { headers: { authorization: `Bearer ${scoped}` } })).json() as typeof catalog;
      expect(seen.connectors[0].upstream.url).toBeNull();
      expect(seen.tools).toHaveLength(3);
      const cross = await fetch(`${base}${ADMIN_PREFIX}/usage/series`, { headers: { authorization: `Bearer ${scoped}` } });
      expect(cross.status).toBe(403);
      const other = await fetch(`${base}${ADMIN_PREFIX}/tenants/msp-new/usage/series`, { headers: { authorization: `Bearer ${scoped}` } });
      expect(other.status).toBe(403);
    });
  });
}

describe('quantile', () => {
  it('takes the value at the rank, nearest-rank method', () => {
    const h: Array<[number, number]> = [[10, 1], [20, 2], [30, 1]];
    expect([0.25, 0.5, 0.75, 1].map((q) => quantile(h, 4, q))).toEqual([10, 20, 20, 30]);
    expect(quantile([], 0, 0.5)).toBeNull();
  });
});
