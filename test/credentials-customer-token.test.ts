/**
 * A per-customer token endpoint end to end: a connector whose spec names `{customer}` in its token
 * URL (Microsoft Graph's shape), generated, served with the governance chain over real HTTP, its
 * credential sealed in the store, called with the official MCP client. Each customer's calls carry
 * a token from that customer's own endpoint: switching customers in one session, concurrent
 * sessions for two customers, a forged customer in the arguments or `_meta`, a call without a
 * customer, a malformed vendor id, a token the vendor revokes. The client secret and the tokens
 * appear nowhere but on the wire.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { apiKeysRepo, openStore, settingsRepo, tenantsRepo, type Store } from '../runtime/store/index.ts';
import { createCredentialBroker } from '../runtime/credentials/broker.ts';
import { MASTER_KEYS_ENV, parseKeyring } from '../runtime/credentials/keyring.ts';
import { toolScope } from '../runtime/scope.ts';
import { createPolicyEngine } from '../runtime/policy/decide.ts';
import { policyInput } from '../runtime/governance/policy.ts';
import type { Identity } from '../runtime/governance/authenticate.ts';
import type { ConnectorModel } from '../runtime/model.ts';
import { generateInto, tempDir } from './helpers/e2e.ts';
import { serveGoverned, type ToolResult } from './helpers/governed.ts';
import { DIRECTORY_DOCUMENT } from './fixtures/credentials/directory.ts';
import { startOAuthServer, type OAuthServer } from './fixtures/credentials/oauth-server.ts';

const CLIENT_SECRET = 'entra-client-secret-planted-5a7c';
const TENANT = 'msp-a';
/** Customers and their Entra tenant ids: a GUID, a domain, none, and one that is not a plain id. */
const CUSTOMERS = { 'cust-a': '6f1e2d3c-0000-4000-8000-00000000000a', 'cust-b': 'contoso-b.onmicrosoft.com', 'cust-c': undefined, 'cust-d': '../common' } as const;
const A = CUSTOMERS['cust-a'];
const B = CUSTOMERS['cust-b'];

const SPEC = (dir: string) => `specgate: 1
connector: entra
document:
  source: ${path.join(dir, 'directory.json')}
auth:
  oauth2:
    grant: client_credentials
    tokenUrl: https://login.example.com/{customer}/oauth2/v2.0/token
    scope: https://graph.microsoft.com/.default
customer:
  description: the customer's Entra tenant id
tools:
  - operationId: listUsers
    name: entra_list_users
  - operationId: getOrganization
    name: entra_get_organization
`;

describe('a per-customer token endpoint, governed, over MCP', () => {
  const dir = tempDir('customer-token');
  const lines: string[] = [];
  const results: ToolResult[] = [];
  let server: OAuthServer;
  let store: Store;
  let app: FastifyInstance;
  let url: string;
  let key: string;
  let model: ConnectorModel;
  const clients: Client[] = [];

  beforeAll(async () => {
    fs.writeFileSync(path.join(dir, 'directory.json'), JSON.stringify(DIRECTORY_DOCUMENT));
    fs.writeFileSync(path.join(dir, 'entra.yaml'), SPEC(dir));
    model = (await generateInto([path.join(dir, 'entra.yaml')], path.join(dir, 'generated'))).builds[0]!.model;
    server = await startOAuthServer({
      publicClient: { id: 'unused', secret: 'unused' }, username: 'unused', password: 'unused',
      client: { id: 'msp-app', secret: CLIENT_SECRET, scope: 'https://graph.microsoft.com/.default' },
    });

    store = await openStore(`sqlite:${path.join(dir, 'store.db')}`);
    const tenants = tenantsRepo(store);
    await tenants.createTenant({ id: TENANT, name: TENANT });
    for (const [id, vendorId] of Object.entries(CUSTOMERS)) {
      await tenants.createCustomer({ id, tenantId: TENANT, name: id });
      if (vendorId) await tenants.setVendorId(id, 'entra', vendorId);
    }
    await settingsRepo(store).grant(TENANT, '*', '*');
    key = (await apiKeysRepo(store).create({ tenantId: TENANT, subject: 'tech@msp-a', roles: ['technician'] })).key;
    const broker = createCredentialBroker({ store, keyring: parseKeyring(`k1:${randomBytes(32).toString('base64')}`, MASTER_KEYS_ENV) });
    // The MSP's multi-tenant app; only the token endpoint's host differs from the real one.
    await broker.put(TENANT, 'entra', {
      baseUrl: `${server.origin}/api`,
      credential: { kind: 'oauth2-client-credentials', clientId: 'msp-app', clientSecret: CLIENT_SECRET, tokenUrl: `${server.origin}/{customer}/oauth2/v2.0/token` },
    });
    const logger = pino({ level: 'trace' }, new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } }));
    ({ app, url } = await serveGoverned(store, {
      generatedDir: path.join(dir, 'generated'),
      tenantCredentials: broker.tenantUpstreams,
      logger,
      caller: { retries: 0 },
    }));
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await app?.close();
    await server?.close();
    await store?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** One MCP session whose Specgate-Customer header is whatever `customer.current` says at each request. */
  async function session(first: string | undefined): Promise<{ client: Client; customer: { current: string | undefined } }> {
    const customer = { current: first };
    const client = new Client({ name: 'customer-token', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    const fetchWithCustomer = (input: string | URL | Request, init?: RequestInit) => {
      const headers = new Headers(init?.headers);
      headers.set('authorization', `Bearer ${key}`);
      if (customer.current) headers.set('specgate-customer', customer.current);
      else headers.delete('specgate-customer');
      return fetch(input, { ...init, headers });
    };
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { fetch: fetchWithCustomer }));
    clients.push(client);
    return { client, customer };
  }
  const callTool = async (client: Client, name: string, args: Record<string, unknown> = {}, meta?: Record<string, unknown>) => {
    const r = (await client.callTool({ name, arguments: args, ...(meta && { _meta: meta }) })) as unknown as ToolResult;
    results.push(r);
    return r;
  };
  const text = (r: ToolResult) => r.content.map((c) => c.text).join('\n');
  const tokenPaths = () => server.tokenRequests.map((r) => r.path);

  it('generates every tool as customer-scoped by its credential', () => {
    for (const t of model.tools) expect(toolScope(t)).toEqual({ kind: 'customer', credential: true });
  });

  it('is customer-scoped for the default policy: tenant-wide-customer-records does not hold it back from a customer\'s conversation', () => {
    const engine = createPolicyEngine({ dir: path.join(import.meta.dirname, '..', 'policies') });
    const tech: Identity = { subject: 'tech', tenantId: TENANT, roles: ['technician'], keyId: 'k', method: 'api_key' };
    const tool = model.tools.find((t) => t.name === 'entra_list_users')!;
    const decision = engine.decide(policyInput(tech, TENANT, 'cust-a', tool, '2026-12-04T15:00:00Z', {}, 'cust-a'));
    expect(decision.effect).toBe('allow');
    // Without its credential scope the same tool would be an undeclared tenant-wide one, and refused.
    const undeclared = { ...tool, scope: { kind: 'tenant' as const, reason: 'undeclared', customerRecords: true } };
    const refused = engine.decide(policyInput(tech, TENANT, 'cust-a', undeclared, '2026-12-04T15:00:00Z', {}, 'cust-a'));
    expect(refused.effect).toBe('deny');
    expect(refused.reasons.map((r) => r.rule)).toContain('specgate.msp/tenant-wide-customer-records');
  });

  it("serves each customer from its own token as one session switches customers", async () => {
    const { client, customer } = await session('cust-a');
    const a = await callTool(client, 'entra_list_users');
    expect(a.isError, text(a)).toBeFalsy();
    expect(a.structuredContent).toMatchObject({ result: { value: [{ id: `user-of-${A}`, tenant: A }] } });
    customer.current = 'cust-b';
    const b = await callTool(client, 'entra_list_users');
    expect(b.structuredContent).toMatchObject({ result: { value: [{ id: `user-of-${B}`, tenant: B }] } });
    customer.current = 'cust-a';
    const again = await callTool(client, 'entra_get_organization');
    expect(again.structuredContent).toMatchObject({ result: { id: A } });
    expect(tokenPaths()).toEqual([`/${A}/oauth2/v2.0/token`, `/${B}/oauth2/v2.0/token`]);
    // Every API request carried a token of the customer it was made for.
    expect(server.apiRequests.map((r) => r.customer)).toEqual([A, B, A]);
  });

  it('keeps concurrent sessions for two customers apart', async () => {
    const [sa, sb] = await Promise.all([session('cust-a'), session('cust-b')]);
    server.delayMs = 30;
    const plan = Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? (['a', sa] as const) : (['b', sb] as const)));
    const answers = await Promise.all(plan.map(([, s]) => callTool(s.client, 'entra_list_users')));
    server.delayMs = 0;
    answers.forEach((r, i) => {
      expect(r.isError).toBeFalsy();
      expect((r.structuredContent as any).result.value[0].tenant).toBe(plan[i]![0] === 'a' ? A : B);
    });
    for (const r of server.apiRequests) expect([A, B]).toContain(r.customer);
    // Still one token per customer: cached, never shared.
    expect(tokenPaths()).toEqual([`/${A}/oauth2/v2.0/token`, `/${B}/oauth2/v2.0/token`]);
  });

  it("cannot be steered to another customer's token by the arguments or _meta", async () => {
    const { client } = await session('cust-a');
    const before = server.apiRequests.length;
    const byArgument = await callTool(client, 'entra_list_users', { customer: 'cust-b', tenant: B, top: 5 });
    // Either refused as an unknown argument, or answered for the selected customer: never B's data.
    expect(JSON.stringify(byArgument)).not.toContain(B);
    const byMeta = await callTool(client, 'entra_list_users', {}, { customer: 'cust-b' });
    expect(byMeta.isError).toBe(true);
    expect(text(byMeta)).toBe('Refused: _meta.customer names a customer other than the one selected with the Specgate-Customer header');
    for (const r of server.apiRequests.slice(before)) expect(r.customer).toBe(A);
    expect(tokenPaths().filter((p) => p.includes(B))).toHaveLength(1);
  });

  it('refuses a call without a customer, or for a customer without a usable id, before any token request', async () => {
    const before = server.tokenRequests.length;
    const none = await callTool((await session(undefined)).client, 'entra_list_users');
    expect(none.isError).toBe(true);
    expect(text(none)).toBe("Refused: entra_list_users reads one customer's data; select the customer with the Specgate-Customer header");
    const unmapped = await callTool((await session('cust-c')).client, 'entra_get_organization');
    expect(text(unmapped)).toBe('Refused: customer "cust-c" has no id in entra; map it first');
    const malformed = await callTool((await session('cust-d')).client, 'entra_get_organization');
    expect(malformed.isError).toBe(true);
    expect(text(malformed)).toBe('entra: the customer\'s vendor id "../common" is not a plain id (letters, digits, "-", "_" and single dots; at most 128); it cannot go into the token URL');
    expect(server.tokenRequests.length).toBe(before);
  });

  it("asks for a new token after the vendor refused the customer's token", async () => {
    const { client } = await session('cust-b');
    const revoked = [...server.tokens].find(([, c]) => c === B)![0];
    server.tokens.delete(revoked);
    const refused = await callTool(client, 'entra_list_users');
    expect(refused.isError).toBe(true);
    expect(text(refused)).toMatch(/^The vendor rejected the credentials \(HTTP 401\)/);
    expect(text(refused)).not.toContain(revoked);
    const renewed = await callTool(client, 'entra_list_users');
    expect((renewed.structuredContent as any).result.value[0].tenant).toBe(B);
    expect(tokenPaths().filter((p) => p.includes(B))).toHaveLength(2);
  });

  it('leaves the client secret and the tokens out of logs, results, audit and usage', async () => {
    const audit = await store.db.selectFrom('audit').selectAll().execute();
    const usage = await store.db.selectFrom('usage').selectAll().execute();
    expect(audit.length).toBeGreaterThanOrEqual(20);
    expect(usage.length).toBeGreaterThanOrEqual(20);
    expect(lines.length).toBeGreaterThan(20);
    const planted = [CLIENT_SECRET, ...server.tokens.keys(), ...server.apiRequests.map((r) => r.authorization ?? '').filter((a) => a.length > 12)];
    expect(planted.length).toBeGreaterThan(3);
    const outside: Record<string, string> = {
      logs: lines.join(''), results: JSON.stringify(results), audit: JSON.stringify(audit), usage: JSON.stringify(usage),
    };
    for (const [where, haystack] of Object.entries(outside)) {
      for (const secret of planted) expect(haystack.includes(secret), `${where} contains a secret`).toBe(false);
    }
    // The customer's usage rows name the customer the token was for.
    expect(new Set(usage.filter((u) => u.outcome === 'ok').map((u) => u.customer_id))).toEqual(new Set(['cust-a', 'cust-b']));
  });
});
