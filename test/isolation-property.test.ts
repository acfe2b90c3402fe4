/**
 * Tenant and customer isolation as a property: two MSPs, each with its own customers, vendor-id
 * mappings, upstream host and vendor credential; random identities (keys of either tenant,
 * revoked, expired, forged), random customer selections (own, the other tenant's, unmapped,
 * unknown), forged tenant and customer claims in headers, `_meta` and arguments, and the
 * customer-binding parameter set to someone else's vendor id. Whatever the mix, every request an
 * upstream receives carries only the caller's tenant's credential, goes to the caller's tenant's
 * host and names only the selected customer's vendor id; every call that should be refused is
 * refused before a byte leaves, with a message that says why.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { apiKeysRepo, settingsRepo, tenantsRepo } from '../runtime/store/index.ts';
import { startFaultyUpstream, type FaultyUpstream } from './helpers/faulty-upstream.ts';
import { helpdeskAnswer, startGoverned, type Governed } from './helpers/governed.ts';
import { fuzzParameters } from './helpers/fuzz.ts';

interface TenantFixture {
  secret: string;
  /** Customer -> vendor id in helpdesk (undefined: a customer with no mapping). */
  customers: Record<string, string | undefined>;
}

const TENANTS: Record<string, TenantFixture> = {
  'msp-a': { secret: 'hd_a_0123456789abcdefghijklmnopqrstuvwx', customers: { contoso: '1001', northwind: '1002', tailspin: undefined } },
  'msp-b': { secret: 'hd_b_zyxwvutsrqponmlkjihgfedcba9876543210', customers: { fabrikam: '2001', adatum: '2002' } },
};
const ALL_CUSTOMERS = Object.values(TENANTS).flatMap((t) => Object.keys(t.customers));
const ALL_VENDOR_IDS = Object.values(TENANTS).flatMap((t) => Object.values(t.customers)).filter((v): v is string => v !== undefined);

type KeyKind = 'valid' | 'revoked' | 'expired';
interface Caller { tenant: string; kind: KeyKind }

const TOOLS = {
  helpdesk_list_tickets: { customerBound: true, args: {} },
  helpdesk_get_ticket: { customerBound: false, args: { id: 5 } },
  helpdesk_get_article: { customerBound: false, args: { slug: 'vpn' } },
} as const;
type ToolName = keyof typeof TOOLS;

interface Case {
  identity: Caller | 'garbage' | 'none';
  customer?: string;
  tenantHeader?: { name: 'specgate-tenant' | 'x-tenant-id'; value: string };
  meta?: Record<string, string>;
  tool: ToolName;
  forged?: Record<string, string>;
}

const tenantNames = fc.constantFrom('msp-a', 'msp-b', 'msp-c', 'MSP-A', '');
const customerNames = fc.constantFrom(...ALL_CUSTOMERS, 'ghost', 'Contoso');
/** Absent three times out of four, so clean calls are common enough to prove they pass. */
const sometimes = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });
const caseArbitrary: fc.Arbitrary<Case> = fc
  .record({
    identity: fc.oneof(
      { weight: 6, arbitrary: fc.record({ tenant: fc.constantFrom('msp-a', 'msp-b'), kind: fc.constant<KeyKind>('valid') }) },
      { weight: 2, arbitrary: fc.record({ tenant: fc.constantFrom('msp-a', 'msp-b'), kind: fc.constantFrom<KeyKind>('revoked', 'expired') }) },
      { weight: 1, arbitrary: fc.constantFrom<'garbage' | 'none'>('garbage', 'none') },
    ),
    customer: fc.oneof({ weight: 1, arbitrary: fc.constant(undefined) }, { weight: 3, arbitrary: customerNames }),
    tenantHeader: sometimes(fc.record({ name: fc.constantFrom<'specgate-tenant' | 'x-tenant-id'>('specgate-tenant', 'x-tenant-id'), value: tenantNames })),
    meta: sometimes(fc.dictionary(fc.constantFrom('tenant', 'tenantId', 'specgate/tenant', 'customer', 'customerId', 'specgate/customer'), fc.oneof(tenantNames, customerNames), { minKeys: 1, maxKeys: 2 })),
    tool: fc.constantFrom(...(Object.keys(TOOLS) as ToolName[])),
    forged: sometimes(fc.dictionary(
      fc.constantFrom('client_id', 'tenant_id', 'tenantId', 'customer', 'customer_id'),
      fc.oneof(fc.constantFrom(...ALL_VENDOR_IDS), tenantNames, customerNames),
      { minKeys: 1, maxKeys: 2 },
    )),
  })
  .map((c) => Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)) as unknown as Case);

/** Whether the chain must let this call through to the upstream; everything else must be refused. */
function shouldPass(c: Case): boolean {
  if (typeof c.identity !== 'object' || c.identity.kind !== 'valid') return false;
  const own = c.identity.tenant;
  if (c.tenantHeader && c.tenantHeader.value !== own) return false;
  for (const [k, v] of Object.entries(c.meta ?? {})) {
    if (/tenant/i.test(k) && v !== own) return false;
    if (/customer/i.test(k) && v !== c.customer) return false;
  }
  if (c.customer !== undefined && !(c.customer in TENANTS[own]!.customers)) return false;
  if (TOOLS[c.tool].customerBound && (c.customer === undefined || TENANTS[own]!.customers[c.customer] === undefined)) return false;
  // Every forged argument is either bound to the customer or not declared: refused either way.
  return !c.forged;
}

describe('no call crosses a tenant or customer boundary', () => {
  const ups: Record<string, FaultyUpstream> = {};
  let shared: FaultyUpstream;
  let rt: Governed;
  const keys = new Map<string, string>();

  beforeAll(async () => {
    for (const tenant of Object.keys(TENANTS)) ups[tenant] = await startFaultyUpstream({ answer: helpdeskAnswer });
    shared = await startFaultyUpstream({ answer: helpdeskAnswer });
    rt = await startGoverned({
      prefix: 'isolation',
      // The shared upstream is what a tenant without its own would use: here nobody may reach it.
      upstreams: { helpdesk: { baseUrl: shared.url } },
      tenantUpstreamConfig: Object.fromEntries(
        Object.entries(TENANTS).map(([tenant, t]) => [tenant, { helpdesk: { baseUrl: ups[tenant]!.url, credential: { kind: 'apiKey' as const, key: t.secret } } }]),
      ),
      caller: { retries: 0 },
      async seed(store) {
        const tenants = tenantsRepo(store);
        for (const [tenant, t] of Object.entries(TENANTS)) {
          await tenants.createTenant({ id: tenant, name: tenant });
          await settingsRepo(store).grant(tenant, 'helpdesk', '*');
          for (const [customer, vendorId] of Object.entries(t.customers)) {
            await tenants.createCustomer({ id: customer, tenantId: tenant, name: customer });
            if (vendorId !== undefined) await tenants.setVendorId(customer, 'helpdesk', vendorId);
          }
        }
      },
    });
    const apiKeys = apiKeysRepo(rt.store);
    for (const tenant of Object.keys(TENANTS)) {
      keys.set(`${tenant}/valid`, (await apiKeys.create({ tenantId: tenant, subject: `tech@${tenant}`, roles: ['technician'] })).key);
      const revoked = await apiKeys.create({ tenantId: tenant, subject: `gone@${tenant}`, roles: ['technician'] });
      await apiKeys.revoke(tenant, revoked.info.id);
      keys.set(`${tenant}/revoked`, revoked.key);
      keys.set(`${tenant}/expired`, (await apiKeys.create({ tenantId: tenant, subject: `old@${tenant}`, roles: ['technician'], expiresAt: new Date(Date.now() - 60_000) })).key);
    }
  });
  afterAll(async () => {
    await rt?.close();
    for (const up of [...Object.values(ups), shared]) await up?.close();
  });

  async function send(c: Case, id: number): Promise<{ status: number; isError: boolean; text: string }> {
    const headers: Record<string, string> = {
      'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25',
    };
    if (typeof c.identity === 'object') headers.authorization = `Bearer ${keys.get(`${c.identity.tenant}/${c.identity.kind}`)}`;
    else if (c.identity === 'garbage') headers.authorization = 'Bearer sg_0000000000_forgedforgedforgedforged';
    if (c.customer !== undefined) headers['specgate-customer'] = c.customer;
    if (c.tenantHeader) headers[c.tenantHeader.name] = c.tenantHeader.value;
    const params = { name: c.tool, arguments: { ...TOOLS[c.tool].args, ...c.forged }, ...(c.meta ? { _meta: c.meta } : {}) };
    const response = await fetch(rt.url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params }) });
    const body = (await response.json()) as { result?: { isError?: boolean; content: Array<{ text: string }> }; error?: { message: string } };
    if (body.error) return { status: response.status, isError: true, text: body.error.message };
    return { status: response.status, isError: body.result?.isError === true, text: body.result?.content[0]?.text ?? '' };
  }

  it('every upstream request carries only the caller tenant credential and the selected customer id', async () => {
    let id = 0;
    const outcomes = { passed: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(caseArbitrary, async (c) => {
        const marks = Object.fromEntries(Object.entries(ups).map(([t, up]) => [t, up.requests.length]));
        const sharedMark = shared.requests.length;
        const r = await send(c, ++id);
        const secrets = Object.values(TENANTS).map((t) => t.secret);
        for (const s of secrets) expect(r.text).not.toContain(s);
        expect(shared.requests.length, 'the shared upstream was reached').toBe(sharedMark);

        const arrived = Object.entries(ups).flatMap(([tenant, up]) => up.requests.slice(marks[tenant]).map((req) => ({ tenant, req })));
        for (const { tenant, req } of arrived) {
          // Only a valid identity's call leaves, and only to its own tenant's host, with its own credential.
          expect(typeof c.identity === 'object' && c.identity.kind === 'valid').toBe(true);
          const own = (c.identity as Caller).tenant;
          expect(tenant, `${own}'s call reached ${tenant}'s upstream`).toBe(own);
          expect(req.headers['x-api-key']).toBe(TENANTS[own]!.secret);
          const clientIds = new URL(req.url, 'http://x').searchParams.getAll('client_id');
          if (TOOLS[c.tool].customerBound) expect(clientIds).toEqual([TENANTS[own]!.customers[c.customer!]]);
          else expect(clientIds).toEqual([]);
        }

        if (shouldPass(c)) {
          expect(r.isError, `${JSON.stringify(c)} -> ${r.text}`).toBe(false);
          expect(arrived).toHaveLength(1);
          outcomes.passed++;
        } else {
          expect(r.isError, `${JSON.stringify(c)} should have been refused`).toBe(true);
          expect(arrived, `${JSON.stringify(c)} reached an upstream`).toHaveLength(0);
          expect(r.text).toMatch(/^(Unauthorized: Not authenticated|Forbidden: Refused|Refused|Invalid arguments)/);
          outcomes.refused++;
        }
      }),
      fuzzParameters(100),
    );
    console.info(`isolation property: ${outcomes.passed} calls passed to their own tenant's upstream, ${outcomes.refused} refused`);
    // Both sides of the property were exercised.
    expect(outcomes.passed).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(0);
  });
});
