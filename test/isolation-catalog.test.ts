/**
 * Customer isolation on every tool of the catalog, end to end: every spec in specs/ generated
 * from the vendors' real documents, served by the governed runtime over HTTP to the official MCP
 * client, acting for customer A, against a recording upstream that answers each request with
 * records of customers A and B built from the tool's own raw response schema (test/helpers/owned.ts,
 * nothing written per tool). Whatever the tool: nothing of B reaches the caller, each refusal or
 * withheld item is in the audit record, and A's own records come through. A fast-check property
 * then mixes owners (A, B, none) at random over random verified tools.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import fc from 'fast-check';
import type { Client } from '@modelcontextprotocol/client';
import type { FastifyInstance } from 'fastify';
import { apiKeysRepo, openStore, settingsRepo, tenantsRepo, type Store } from '../runtime/store/index.ts';
import { loadCatalog, type Catalog } from '../runtime/catalog.ts';
import type { ToolModel } from '../runtime/model.ts';
import { customerReferenceFields } from '../generator/scope.ts';
import { generateInto, haveVendorDocs, root, tempDir, vendorDocsMissing } from './helpers/e2e.ts';
import { governedClient, serveGoverned, type ToolResult } from './helpers/governed.ts';
import { startRecorder, type Recorder } from './fixtures/call/harness.ts';
import { answer, responseSchema, sampleFromSchema, toolForRequest } from './helpers/owned.ts';
import { sampleArguments } from './helpers/sample-args.ts';

const TENANT = 'iso-msp';
const A = { id: 'contoso', vendorId: '4101' };
const B = { id: 'fabrikam', vendorId: '4202' };
// Every spec in specs/, so that a new connector is covered as soon as it is added.
const specsDir = path.join(root, 'specs');
const specFiles = fs.readdirSync(specsDir).filter((f) => f.endsWith('.yaml')).sort().map((f) => path.join(specsDir, f));

/** The connector a spec file declares (its `connector:` line). */
function connectorOf(file: string): string {
  const m = /^connector:\s*(\S+)/m.exec(fs.readFileSync(file, 'utf8'));
  if (!m) throw new Error(`${file}: no connector name`);
  return m[1]!;
}

/** Who owns each record the upstream returns for a tool: A, B or nobody (the owner field left out). */
type Owner = 'A' | 'B' | 'none';

describe.skipIf(!haveVendorDocs)(`customer isolation on every catalog tool${haveVendorDocs ? '' : ` (${vendorDocsMissing})`}`, () => {
  const dir = tempDir('isolation-catalog');
  let catalog: Catalog;
  let store: Store;
  let recorder: Recorder;
  let app: FastifyInstance;
  let client: Client;
  let tokens: { url: string; paths: string[]; close(): Promise<void> };
  const docs: Record<string, Record<string, unknown>> = {};
  /** Owners of the records the next answer for a tool carries; default one record of A. */
  const plan = new Map<string, Owner[]>();
  let calling: ToolModel | undefined;

  beforeAll(async () => {
    const out = path.join(dir, 'generated');
    await generateInto(specFiles, out);
    catalog = await loadCatalog(out);
    for (const c of catalog.connectors) docs[c.model.name] = JSON.parse(fs.readFileSync(path.join(out, c.model.name, 'openapi.json'), 'utf8'));

    recorder = await startRecorder((url, req) => {
      const [, connector, ...rest] = url.pathname.split('/');
      const doc = docs[connector!]!;
      // Two tools may share an operation (Hudu's list and read article): the called one first.
      const tools = [...(calling ? [calling] : []), ...catalog.tools.filter((t) => t.connector === connector)];
      const t = toolForRequest(tools, req.method ?? 'GET', `/${rest.join('/')}`);
      if (!t) return { status: 404, body: { error: 'no such route' } };
      if (!t.ownership) return { body: sampleFromSchema(doc, responseSchema(doc, t), 0, 'plain') };
      const owners = plan.get(t.name) ?? ['A'];
      const ids = owners.map((o) => (o === 'A' ? A.vendorId : o === 'B' ? B.vendorId : ''));
      let body = answer(doc, t, ids, (i) => (owners[i] === 'A' ? `own-A-${i}` : `other-${owners[i]}-${i}`));
      // "none": the owner field is absent altogether.
      body = JSON.parse(JSON.stringify(body, (_k, v) => (v === '' ? undefined : v)));
      return { body };
    }, '');

    tokens = await startTokenEndpoint();
    store = await openStore(`sqlite:${path.join(dir, 'store.db')}`);
    const tenants = tenantsRepo(store);
    await tenants.createTenant({ id: TENANT, name: 'Isolation MSP' });
    const settings = settingsRepo(store);
    for (const c of [A, B]) {
      await tenants.createCustomer({ id: c.id, tenantId: TENANT, name: c.id });
      for (const conn of catalog.connectors) {
        await tenants.setVendorId(c.id, conn.model.name, c.vendorId);
        // Named ids (Datto RMM's siteId) hold the same value, so one owner check fits them all.
        for (const name of conn.model.customer?.ids ?? []) await tenants.setVendorId(c.id, conn.model.name, c.vendorId, name);
      }
    }
    for (const conn of catalog.connectors) await settings.grant(TENANT, conn.model.name, '*');
    // security-admin: the password-metadata tools are reserved for it, and every tool is under test.
    const { key } = await apiKeysRepo(store).create({ tenantId: TENANT, subject: 'tech@iso', roles: ['technician', 'security-admin'] });
    ({ app } = await serveGoverned(store, {
      generatedDir: out,
      upstreams: Object.fromEntries(catalog.connectors.map((c) => [c.model.name, { baseUrl: `${recorder.origin}/${c.model.name}` }])),
      // Connectors whose token is the customer's own (Graph) get it from the local token endpoint.
      upstreamConfig: Object.fromEntries(catalog.connectors.filter((c) => c.model.tools.some((t) => t.scope?.kind === 'customer' && t.scope.credential))
        .map((c) => [c.model.name, { baseUrl: `${recorder.origin}/${c.model.name}`, credential: { kind: 'oauth2-client-credentials' as const, clientId: 'iso', clientSecret: 'iso-secret', tokenUrl: `${tokens.url}/{customer}/token` } }])),
    }).then(async (s) => {
      client = await governedClient(s.url, { authorization: `Bearer ${key}`, 'specgate-customer': A.id });
      return s;
    }));
  }, 180_000);
  afterAll(async () => {
    await client?.close();
    await app?.close();
    await recorder?.close();
    await tokens?.close();
    await store?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const call = async (tool: ToolModel, args = sampleArguments(tool.inputSchema as Record<string, unknown>)) => {
    calling = tool;
    return (await client.callTool({ name: tool.name, arguments: args })) as unknown as ToolResult;
  };
  const text = (r: ToolResult) => JSON.stringify(r);
  /** The latest audit record of a tool's calls. */
  const lastAudit = async (tool: string) => {
    const rows = await store.db.selectFrom('audit').select(['seq', 'record']).where('tenant_id', '=', TENANT).orderBy('seq', 'desc').execute();
    const r = rows.map((x) => JSON.parse(x.record) as Record<string, unknown>).find((x) => x.tool === tool);
    if (!r) throw new Error(`no audit record for ${tool}`);
    return r;
  };
  const requestsFor = (tool: ToolModel, from: number) => recorder.requests.slice(from)
    .filter((r) => toolForRequest([tool], r.method, new URL(r.url, 'http://x').pathname.replace(/^\/[^/]+/, '')));

  it('declares how every tool is scoped, and no tool returns customer records unscoped', () => {
    expect(catalog.connectors.map((c) => c.model.name)).toEqual(expect.arrayContaining(['connectwise', 'datto_rmm', 'halopsa', 'hudu', 'itglue', 'ninjaone', 'pax8']));
    expect(catalog.tools.length).toBeGreaterThanOrEqual(124);
    for (const t of catalog.tools) {
      expect(t.scope, t.name).toBeDefined();
      if (t.scope!.kind === 'tenant') {
        expect(t.scope!.reason, t.name).not.toBe('undeclared');
        // Reference data: nothing in what it returns looks like a customer reference.
        if (!t.scope!.customerRecords) expect(customerReferenceFields(t.outputSchema), t.name).toEqual([]);
      } else {
        expect(t.customerParameters.length > 0 || t.ownership || t.ownerParent || t.scope!.credential, t.name).toBeTruthy();
      }
    }
  });

  describe.each(specFiles.map((f) => connectorOf(f)))('%s', (connector) => {
    const toolsOf = (pred: (t: ToolModel) => boolean) => catalog.tools.filter((t) => t.connector === connector && pred(t));

    it('lists: A\'s items come through, B\'s and owner-less ones are withheld, counted and audited', async () => {
      const lists = toolsOf((t) => !!t.ownership && isList(t));
      for (const t of lists) {
        plan.set(t.name, ['A', 'B', 'A', 'none']);
        const r = await call(t);
        expect(r.isError, `${t.name}: ${r.content[0]?.text}`).toBeFalsy();
        expect(text(r), t.name).not.toContain('other-');
        expect(text(r), t.name).not.toContain(B.vendorId);
        const withheld = t.ownership!.optionalReason ? 1 : 2;
        // A's two records (and an owner-less one where the owner is optional) are what the caller sees.
        const kept = 4 - withheld;
        const returned = Math.min(kept, t.shape.maxItems ?? kept);
        expect((r.structuredContent as { truncated?: object }).truncated, t.name)
          .toEqual({ reason: returned < kept ? 'maxItems' : 'otherCustomers', returned, available: kept, withheld });
        expect(r.content.at(-1)?.text, t.name).toContain(`${withheld} items of other customers withheld`);
        expect(await lastAudit(t.name), t.name).toMatchObject({ outcome: 'ok', withheld });
      }
    });

    it('single records: B\'s is refused with the reason audited, an owner-less one too, A\'s comes through', async () => {
      const singles = toolsOf((t) => !!t.ownership && !isList(t));
      for (const t of singles) {
        plan.set(t.name, ['B']);
        const refused = await call(t);
        expect(refused.isError, t.name).toBe(true);
        expect(refused.content[0]?.text).toBe(`Refused: the record ${t.name} reads belongs to another customer, not "${A.id}" (the customer of this conversation); nothing of it is shown`);
        expect(text(refused)).not.toContain('other-');
        expect(await lastAudit(t.name)).toMatchObject({ outcome: 'refused', step: 'ownership', code: 'other-customer', reason: refused.content[0]?.text });

        plan.set(t.name, ['none']);
        const noOwner = await call(t);
        expect(noOwner.content[0]?.text).toBe(`Refused: the record ${t.name} reads does not say which customer it belongs to (${t.ownership!.field} is missing), so nothing of it is shown`);
        expect(await lastAudit(t.name)).toMatchObject({ outcome: 'refused', code: 'no-owner' });

        plan.set(t.name, ['A']);
        const own = await call(t);
        expect(own.isError, `${t.name}: ${own.content[0]?.text}`).toBeFalsy();
        expect(text(own), t.name).toContain('own-A');
        expect(await lastAudit(t.name)).toMatchObject({ outcome: 'ok' });
      }
    });

    it('records that name no owner: the parent record is checked first, and another customer\'s stops the call', async () => {
      for (const t of toolsOf((x) => !!x.ownerParent)) {
        const parent = catalog.tools.find((x) => x.name === t.ownerParent!.tool)!;
        plan.set(parent.name, ['B']);
        const before = recorder.requests.length;
        const refused = await call(t);
        expect(refused.content[0]?.text).toBe(`Refused: the record ${t.name} reads belongs to another customer, not "${A.id}" (the customer of this conversation); nothing of it is shown`);
        expect(requestsFor(t, before), t.name).toEqual([]); // the records themselves were never fetched
        expect(await lastAudit(t.name)).toMatchObject({ outcome: 'refused', step: 'ownership', code: 'other-customer' });

        plan.set(parent.name, ['A']);
        const ok = await call(t);
        expect(ok.isError, `${t.name}: ${ok.content[0]?.text}`).toBeFalsy();
        expect(requestsFor(t, before), t.name).toHaveLength(1);
        plan.delete(parent.name);
      }
    });

    it('tools scoped by a per-customer token: every request carries A\'s token, fetched from A\'s token URL, never B\'s', async () => {
      for (const t of toolsOf((x) => x.scope?.kind === 'customer' && !!x.scope.credential)) {
        const before = recorder.requests.length;
        const r = await call(t);
        expect(r.isError, `${t.name}: ${r.content[0]?.text}`).toBeFalsy();
        const sent = requestsFor(t, before);
        expect(sent, t.name).toHaveLength(1);
        expect(sent[0]!.headers.authorization, t.name).toBe(`Bearer token-of-${A.vendorId}`);
        expect(tokens.paths.filter((p) => !p.startsWith(`/${A.vendorId}/`)), t.name).toEqual([]);
      }
    });

    it('bound tools whose records name no owner: every request names A\'s id and never B\'s', async () => {
      for (const t of toolsOf((x) => x.scope?.kind === 'customer' && !x.ownership && !x.ownerParent && !x.scope.credential)) {
        const before = recorder.requests.length;
        const r = await call(t);
        expect(r.isError, `${t.name}: ${r.content[0]?.text}`).toBeFalsy();
        const sent = requestsFor(t, before);
        expect(sent, t.name).toHaveLength(1);
        const url = decodeURIComponent(sent[0]!.url);
        expect(url, t.name).toContain(A.vendorId);
        expect(url, t.name).not.toContain(B.vendorId);
      }
    });

    it('tenant-wide tools: customer directories are refused while acting for A (audited), reference data answers', async () => {
      for (const t of toolsOf((x) => x.scope?.kind === 'tenant')) {
        const before = recorder.requests.length;
        const r = await call(t);
        if (t.scope!.kind === 'tenant' && t.scope!.customerRecords) {
          expect(r.content[0]?.text, t.name).toBe('Refused by policy: this tool returns records of every customer; it is not available while acting for one customer');
          expect(recorder.requests.length, t.name).toBe(before);
          expect(await lastAudit(t.name)).toMatchObject({ outcome: 'refused', step: 'policy' });
        } else {
          expect(r.isError, `${t.name}: ${r.content[0]?.text}`).toBeFalsy();
        }
      }
    });
  });

  it('property: random verified tools and random mixes of owners never leak B, and withhold exactly what is not A\'s', async () => {
    const verified = catalog.tools.filter((t) => t.ownership && isList(t));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...verified), fc.array(fc.constantFrom<Owner>('A', 'B', 'none'), { minLength: 0, maxLength: 8 }), async (t, owners) => {
        plan.set(t.name, owners);
        const r = await call(t);
        plan.delete(t.name);
        if (owners.length === 0) return; // an empty page: nothing to check
        expect(r.isError, `${t.name}: ${r.content[0]?.text}`).toBeFalsy();
        expect(text(r)).not.toContain('other-');
        expect(text(r)).not.toContain(B.vendorId);
        const withheld = owners.filter((o) => o === 'B' || (o === 'none' && !t.ownership!.optionalReason)).length;
        const truncated = (r.structuredContent as { truncated?: { withheld?: number; returned?: number } }).truncated;
        expect(truncated?.withheld, `${t.name} ${owners.join(',')}`).toBe(withheld || undefined);
        // What is left is then capped as usual (hudu_read_article keeps one article).
        if (withheld) expect(truncated?.returned, `${t.name} ${owners.join(',')}`).toBe(Math.min(owners.length - withheld, t.shape.maxItems ?? Infinity));
      }),
      { numRuns: 60, ...(process.env.FC_SEED && { seed: Number(process.env.FC_SEED) }) },
    );
  });

  function isList(t: ToolModel): boolean {
    if (t.ownership!.items !== undefined) return true;
    const doc = docs[t.connector]!;
    return Array.isArray(sampleFromSchema(doc, responseSchema(doc, t)));
  }
});

/** A local OAuth2 token endpoint for per-customer token URLs: the token names the customer in the path. */
async function startTokenEndpoint(): Promise<{ url: string; paths: string[]; close(): Promise<void> }> {
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      paths.push(req.url ?? '');
      const customer = /^\/([^/]+)\/token$/.exec(req.url ?? '')?.[1];
      res.writeHead(customer ? 200 : 404, { 'content-type': 'application/json' })
        .end(JSON.stringify(customer ? { token_type: 'Bearer', expires_in: 3600, access_token: `token-of-${decodeURIComponent(customer)}` } : { error: 'not_found' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, paths, close: () => new Promise((r) => server.close(() => r())) };
}
