/**
 * Tenant and customer isolation: forged tenants and customers in JSON-RPC params, tool
 * arguments, `_meta` and headers; a customer override in the arguments; another tenant's key
 * or token aimed at this tenant's customers. Holds when no upstream request leaves the caller's
 * tenant or names a customer the caller did not select.
 */
import { type Deployment, TENANT_A, TENANT_B } from '../deployment.ts';
import { OWASP, probe, type Attack, type Finding } from '../types.ts';
import { during, foreignTouches, message, refused } from './observe.ts';

/** Vendor ids of customers other than rt-contoso (the A-side callers' selected customer). */
const NOT_CONTOSO = ['102', '202', 'c-302', '901', '902', 'c-903', '701'];
/** Vendor ids of customers other than rt-globex. */
const NOT_GLOBEX = ['101', '102', '201', '202', 'c-301', 'c-302', '701'];

export const isolation: Attack = {
  family: 'isolation',
  async run(d: Deployment): Promise<Finding[]> {
    const oidcA = await d.oidc.token(d.oidcClients.a, (await import('../deployment.ts')).OIDC_RESOURCE);
    const cases: Array<{ id: string; tried: string; own: string; foreign: string[]; send: () => ReturnType<Deployment['post']> }> = [
      {
        id: 'tenant-in-arguments', tried: "tenant A's technician puts tenant B in tenant_id / tenantId arguments", own: '/a/', foreign: NOT_CONTOSO,
        send: () => d.call('aTech', 'hudu_get_company', { tenant_id: TENANT_B, tenantId: TENANT_B }, { customer: 'rt-contoso' }),
      },
      {
        id: 'tenant-in-params', tried: 'tenant B named in the JSON-RPC params beside name and arguments', own: '/a/', foreign: NOT_CONTOSO,
        send: () => d.post(JSON.stringify({ jsonrpc: '2.0', id: 11, method: 'tools/call', params: { name: 'hudu_get_company', arguments: {}, tenant: TENANT_B, tenantId: TENANT_B, customer: 'rt-globex' } }), { key: 'aTech', headers: { 'specgate-customer': 'rt-contoso' } }),
      },
      {
        id: 'tenant-in-meta', tried: 'tenant B in _meta (specgate/tenant, tenant, tenantId)', own: '/a/', foreign: NOT_CONTOSO,
        send: () => d.call('aTech', 'hudu_get_company', {}, { customer: 'rt-contoso', meta: { 'specgate/tenant': TENANT_B, tenant: TENANT_B, tenantId: TENANT_B } }),
      },
      {
        id: 'tenant-in-headers', tried: 'tenant B in Specgate-Tenant and X-Tenant-Id headers', own: '/a/', foreign: NOT_CONTOSO,
        send: () => d.call('aTech', 'hudu_get_company', {}, { customer: 'rt-contoso', headers: { 'specgate-tenant': TENANT_B, 'x-tenant-id': TENANT_B } }),
      },
      {
        id: 'customer-override-in-arguments', tried: 'company_id argument naming another customer of the same tenant (fabrikam) while contoso is selected', own: '/a/', foreign: NOT_CONTOSO,
        send: () => d.call('aTech', 'hudu_list_passwords', { company_id: 102, organization_id: 202 }, { customer: 'rt-contoso', headers: {} }).then(async (first) => {
          const second = await d.call('aTech', 'hudu_get_company', { company_id: 102 }, { customer: 'rt-contoso' });
          return refused(first) ? second : first;
        }),
      },
      {
        id: 'foreign-customer-in-arguments', tried: "tenant B's customer vendor id (901) in company_id", own: '/a/', foreign: NOT_CONTOSO,
        send: () => d.call('aTech', 'hudu_get_company', { company_id: 901, companyId: 901 }, { customer: 'rt-contoso' }),
      },
      {
        id: 'foreign-customer-in-meta', tried: "tenant B's customer in _meta (specgate/customer, customer, customerId)", own: '/a/', foreign: NOT_CONTOSO,
        send: () => d.call('aTech', 'hudu_get_company', {}, { customer: 'rt-contoso', meta: { 'specgate/customer': 'rt-globex', customer: 'rt-globex', customerId: 'rt-globex' } }),
      },
      {
        id: 'foreign-customer-header', tried: "tenant B's customer selected with the Specgate-Customer header by tenant A's key", own: '/a/', foreign: NOT_CONTOSO,
        send: () => d.call('aTech', 'hudu_get_company', {}, { customer: 'rt-globex' }),
      },
      {
        id: 'cross-tenant-key', tried: "tenant B's key selecting tenant A's customer (contoso)", own: '/b/', foreign: NOT_GLOBEX,
        send: () => d.call('bTech', 'hudu_get_company', {}, { customer: 'rt-contoso' }),
      },
      {
        id: 'cross-tenant-token-header', tried: "tenant A's OIDC token with Specgate-Tenant: B and tenant B's customer", own: '/a/', foreign: NOT_CONTOSO,
        send: () => d.call(oidcA, 'hudu_get_company', {}, { customer: 'rt-globex', headers: { 'specgate-tenant': TENANT_B } }),
      },
      {
        id: 'cross-tenant-unknown-customer', tried: 'a customer id that exists nowhere, and a tenant-wide tool with a forged tenant argument', own: '/a/', foreign: NOT_CONTOSO,
        send: () => d.call('aTech', 'hudu_list_companies', { tenant_id: TENANT_B }, { customer: 'rt-no-such-customer' }),
      },
    ];
    const findings: Finding[] = [];
    for (const c of cases) {
      findings.push(await probe(`isolation.${c.id}`, OWASP.API1, c.tried, async () => {
        const { value, upstream } = await during(d, c.send);
        const problems = foreignTouches(upstream, c.own, c.foreign);
        return { problems, held: refused(value) ? `refused (${message(value)})` : `served from the caller's own tenant and customer only (${upstream.length} upstream request(s))` };
      }));
    }
    // Control: the same key does reach its own customer, so the refusals above are not a dead deployment.
    findings.push(await probe('isolation.control', OWASP.API1, "control: tenant A's technician calls its own customer", async () => {
      const { value, upstream } = await during(d, () => d.call('aTech', 'hudu_get_company', {}, { customer: 'rt-contoso' }));
      const problems = refused(value) || upstream.length !== 1 || !upstream[0].rawUrl.startsWith('/a/hudu/companies/101') ? [`the legitimate call did not go through: ${message(value)}`] : [];
      return { problems, held: `served, upstream saw ${upstream[0]?.rawUrl} (tenant ${TENANT_A})` };
    }));
    return findings;
  },
};
