/**
 * One request context, made at the edge: the chain reuses the edge's decisions (the credential is
 * verified once per request) and checks only what each message adds; nothing a client sends can
 * stand in for the context, which reaches the handlers only through the SDK's verified-auth channel.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCatalog, type Catalog } from '../runtime/catalog.ts';
import { createToolCaller } from '../runtime/call.ts';
import { createPolicyEngine } from '../runtime/policy/decide.ts';
import { createGovernance, type Governance } from '../runtime/governance/setup.ts';
import { apiKeysRepo, auditRepo, openStore, settingsRepo, tenantsRepo, type Store } from '../runtime/store/index.ts';
import { authInfoOf, contextOf } from '../runtime/request-context.ts';
import { makeConnector, makeTool, startRecorder, type Recorder } from './fixtures/call/harness.ts';
import { callRecords, governedClient, helpdeskAnswer, startGoverned, type Governed } from './helpers/governed.ts';

const tools = [
  makeTool({ name: 'acme_list_tickets', operation: { method: 'GET', path: '/tickets', operationId: 'acme_list_tickets' } }),
  makeTool({
    name: 'acme_list_assets', operation: { method: 'GET', path: '/assets', operationId: 'acme_list_assets' },
    parameters: [{ name: 'company_id', in: 'query', argument: null, required: true, customer: true }],
    customerParameters: ['company_id'],
  }),
];

describe('the request context in the governance chain', () => {
  let store: Store;
  let upstream: Recorder;
  let gov: Governance;
  let catalog: Catalog;
  const keys: Record<string, { key: string; id: string }> = {};
  const tool = (name: string) => catalog.byName.get(name)!.tool;

  beforeAll(async () => {
    store = await openStore('sqlite::memory:');
    const tenants = tenantsRepo(store);
    await tenants.createTenant({ id: 'tenant-a', name: 'A' });
    await tenants.createTenant({ id: 'tenant-b', name: 'B' });
    await tenants.createCustomer({ id: 'cust-a', tenantId: 'tenant-a', name: 'Customer A' });
    await tenants.createCustomer({ id: 'cust-b', tenantId: 'tenant-b', name: 'Customer B' });
    await tenants.setVendorId('cust-a', 'acme', 'V-100');
    await tenants.setVendorId('cust-b', 'acme', 'V-200');
    const created = await apiKeysRepo(store).create({ tenantId: 'tenant-a', subject: 'alice', roles: ['technician'] });
    keys.alice = { key: created.key, id: created.info.id };
    await settingsRepo(store).grant('tenant-a', 'acme', '*');
    upstream = await startRecorder(() => ({ body: { items: [{ id: 1 }] } }));
    const connector = makeConnector(tools);
    catalog = buildCatalog([connector]);
    const caller = createToolCaller({ connectors: [connector], upstreams: { acme: { baseUrl: upstream.url } }, retries: 0 });
    gov = createGovernance({ store, policy: createPolicyEngine({ dir: path.resolve(import.meta.dirname, '../policies') }), caller });
  });
  afterAll(async () => {
    await upstream?.close();
    await store?.close();
  });

  const headers = () => ({ authorization: `Bearer ${keys.alice!.key}`, 'specgate-customer': 'cust-a' });

  it('takes the edge\'s principal for the call: the credential is not verified a second time', async () => {
    const edge = await gov.principal({ headers: headers(), requestId: 'r-once' }, ['acme']);
    // Revoked after the edge verified it: the request in flight keeps the edge's decision.
    await apiKeysRepo(store).revoke('tenant-a', keys.alice!.id);
    try {
      const before = upstream.requests.length;
      const result = await gov.call({ headers: headers(), requestId: 'r-once', principal: edge }, tool('acme_list_assets'), {}, 'call-once');
      expect(result.isError).toBeFalsy();
      expect(upstream.requests.length).toBe(before + 1);
      expect(upstream.requests.at(-1)!.url).toContain('company_id=V-100');
      // A request without the edge's principal decides for itself, and is refused.
      const fresh = await gov.call({ headers: headers(), requestId: 'r-next' }, tool('acme_list_tickets'), {}, 'call-next');
      expect(fresh.isError).toBe(true);
      expect(fresh.content[0]!.text).toMatch(/revoked/);
    } finally {
      const again = await apiKeysRepo(store).create({ tenantId: 'tenant-a', subject: 'alice', roles: ['technician'] });
      keys.alice = { key: again.key, id: again.info.id };
    }
  });

  it('still refuses a message whose _meta names another tenant or customer than the edge decided', async () => {
    const edge = await gov.principal({ headers: headers(), requestId: 'r-meta' }, ['acme']);
    const before = upstream.requests.length;
    const tenantClaim = await gov.call({ headers: headers(), requestId: 'r-meta', principal: edge, meta: { tenant: 'tenant-b' } }, tool('acme_list_tickets'), {}, 'call-meta-1');
    expect(tenantClaim.isError).toBe(true);
    expect(tenantClaim.content[0]!.text).toMatch(/_meta\.tenant names a tenant your identity does not belong to/);
    const customerClaim = await gov.call({ headers: headers(), requestId: 'r-meta', principal: edge, meta: { customer: 'cust-b' } }, tool('acme_list_assets'), {}, 'call-meta-2');
    expect(customerClaim.isError).toBe(true);
    expect(customerClaim.content[0]!.text).toMatch(/_meta\.customer names a customer other than the one selected/);
    expect(upstream.requests.length).toBe(before);
    // Both refusals are on the record, in the caller's own tenant.
    const audit = (await auditRepo(store).search({ tenant: 'tenant-a' })).map((e) => e.record as { callId: string; step?: string; outcome: string });
    expect(audit.find((r) => r.callId === 'call-meta-1')).toMatchObject({ outcome: 'refused', step: 'tenant' });
    expect(audit.find((r) => r.callId === 'call-meta-2')).toMatchObject({ outcome: 'refused', step: 'customer' });
  });

  it('rides in authInfo.extra, and only a context the edge made is read back', () => {
    const context = { requestId: 'r', headers: {}, signal: new AbortController().signal };
    const info = authInfoOf(context);
    expect(info.token).toBe('');
    expect(contextOf(info)).toBe(context);
    expect(contextOf(undefined)).toBeUndefined();
    expect(contextOf({ extra: {} })).toBeUndefined();
  });
});

describe('the request context over HTTP', () => {
  let rt: Governed;
  let upstream: Recorder;
  let key: string;

  beforeAll(async () => {
    upstream = await startRecorder((u) => ({ body: helpdeskAnswer(u) }));
    rt = await startGoverned({
      prefix: 'request-context',
      upstreams: { helpdesk: { baseUrl: upstream.url } },
      caller: { retries: 0 },
      async seed(store) {
        const tenants = tenantsRepo(store);
        await tenants.createTenant({ id: 'msp-a', name: 'A' });
        await tenants.createTenant({ id: 'msp-b', name: 'B' });
        await tenants.createCustomer({ id: 'contoso', tenantId: 'msp-a', name: 'Contoso' });
        await tenants.createCustomer({ id: 'fabrikam', tenantId: 'msp-b', name: 'Fabrikam' });
        await tenants.setVendorId('contoso', 'helpdesk', '1001');
        await tenants.setVendorId('fabrikam', 'helpdesk', '2001');
        await settingsRepo(store).grant('msp-a', 'helpdesk', '*');
        await settingsRepo(store).grant('msp-b', 'helpdesk', '*');
      },
    });
    key = (await apiKeysRepo(rt.store).create({ tenantId: 'msp-a', subject: 'alice', roles: ['technician'] })).key;
  });
  afterAll(async () => {
    await rt?.close();
    await upstream?.close();
  });

  it('ignores a context forged into the message: the call runs for the edge\'s tenant and customer', async () => {
    const client = await governedClient(rt.url, { authorization: `Bearer ${key}`, 'specgate-customer': 'contoso' });
    try {
      const forged = {
        'specgate/request': { requestId: 'forged', headers: {}, principal: { tenantId: 'msp-b', customer: { customerId: 'fabrikam', vendorIds: { helpdesk: '2001' }, namedIds: {} } } },
      };
      const result = await client.callTool({ name: 'helpdesk_list_tickets', arguments: {}, _meta: forged });
      expect(result.isError).toBeFalsy();
      const sent = upstream.requests.at(-1)!;
      expect(sent.url).toContain('client_id=1001');
      expect(sent.url).not.toContain('2001');
      const own = await callRecords(rt.store, 'msp-a');
      expect(own.usage.at(-1)).toMatchObject({ tool: 'helpdesk_list_tickets', outcome: 'ok', customerId: 'contoso' });
      expect((await callRecords(rt.store, 'msp-b')).usage).toEqual([]);
    } finally {
      await client.close();
    }
  });
});
