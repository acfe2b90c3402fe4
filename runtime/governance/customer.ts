/**
 * Step 6.4 (runtime/call-path.ts): which of the tenant's customers the caller acts for. The caller selects one with the
 * `Specgate-Customer` header; it must be a customer of the identity's tenant (checked in the
 * store), and each customer-bound tool gets that customer's id in its vendor, from the tenant's
 * own mapping. Nothing the model sends can change it.
 */
import type { ToolModel } from '../model.ts';
import type { tenantsRepo } from '../store/index.ts';
import { Refusal, type GovernanceRequest } from './refusal.ts';

export const CUSTOMER_HEADER = 'specgate-customer';
const CUSTOMER_META = ['specgate/customer', 'customer', 'customerId'];

type Tenants = Pick<ReturnType<typeof tenantsRepo>, 'getCustomer' | 'listVendorIds'>;

export interface CustomerScope {
  /** The selected customer (specgate's id), or null when none was selected. */
  customerId: string | null;
  /** The customer's unnamed id in each vendor, by connector; only connectors with a mapping appear. */
  vendorIds: Record<string, string>;
  /** The customer's named ids (a spec's customer.ids), by connector and name. */
  namedIds: Record<string, Record<string, string>>;
}

/** Whether the tool reads one customer's data (bound or response-verified) and so needs a selected customer. */
export function isCustomerBound(tool: ToolModel): boolean {
  return tool.customerParameters.length > 0 || tool.parameters.some((p) => p.customer === true)
    || tool.ownership !== undefined || tool.ownerParent !== undefined || (tool.body?.customerFields?.length ?? 0) > 0
    || usesCustomerToken(tool);
}

/** The connector's token is the customer's own (its token URL has `{customer}`): the call needs the customer's unnamed id. */
function usesCustomerToken(tool: ToolModel): boolean {
  return tool.scope?.kind === 'customer' && tool.scope.credential === true;
}

/** The names of the customer's vendor ids the tool uses: '' for the unnamed one. */
export function idNamesOf(tool: ToolModel): string[] {
  const names = new Set<string>();
  for (const p of tool.parameters) if (p.customer) names.add(p.customerId ?? '');
  for (const f of tool.body?.customerFields ?? []) names.add(f.customerId ?? '');
  if (tool.ownership) names.add(tool.ownership.customerId ?? '');
  if (usesCustomerToken(tool)) names.add('');
  return [...names].sort();
}

/** The customer the Specgate-Customer header selects, or null. */
function selectedCustomer(req: GovernanceRequest): string | null {
  const raw = req.headers[CUSTOMER_HEADER];
  return raw === undefined || raw.trim() === '' ? null : raw.trim();
}

/** A message's `_meta` may name the selected customer, never another. */
export function checkCustomerClaims(req: GovernanceRequest): void {
  const selected = selectedCustomer(req);
  for (const k of CUSTOMER_META) {
    const claimed = req.meta?.[k];
    if (claimed !== undefined && claimed !== selected) {
      throw new Refusal('customer', 'customer-mismatch', `Refused: _meta.${k} names a customer other than the one selected with the Specgate-Customer header`, 403);
    }
  }
}

export async function scopeCustomer(tenants: Tenants, tenantId: string, req: GovernanceRequest, connectors: string[]): Promise<CustomerScope> {
  checkCustomerClaims(req);
  const selected = selectedCustomer(req);
  if (selected === null) return { customerId: null, vendorIds: {}, namedIds: {} };
  // One row by key, not the tenant's customer list: an MSP has hundreds of customers.
  const customer = await tenants.getCustomer(selected);
  if (customer?.tenantId !== tenantId) {
    throw new Refusal('customer', 'unknown-customer', `Refused: customer "${selected}" (Specgate-Customer header) is not a customer of your tenant`, 403);
  }
  const wanted = new Set(connectors);
  const vendorIds: Record<string, string> = {};
  const namedIds: Record<string, Record<string, string>> = {};
  for (const { connector, vendorId, name } of await tenants.listVendorIds(tenantId, selected)) {
    if (!wanted.has(connector)) continue;
    if (name) (namedIds[connector] ??= {})[name] = vendorId;
    else vendorIds[connector] = vendorId;
  }
  return { customerId: selected, vendorIds, namedIds };
}

/** A customer-bound tool is callable only with a selected customer that is mapped in its vendor. */
export function requireCustomerFor(tool: ToolModel, scope: CustomerScope): void {
  if (!isCustomerBound(tool)) return;
  if (scope.customerId === null) {
    throw new Refusal('customer', 'no-customer', `Refused: ${tool.name} reads one customer's data; select the customer with the Specgate-Customer header`, 403);
  }
  for (const name of idNamesOf(tool)) {
    const id = name === '' ? scope.vendorIds[tool.connector] : scope.namedIds[tool.connector]?.[name];
    if (id === undefined) {
      throw new Refusal('customer', 'no-vendor-id', name === ''
        ? `Refused: customer "${scope.customerId}" has no id in ${tool.connector}; map it first`
        : `Refused: customer "${scope.customerId}" has no ${name} id in ${tool.connector}; map it first (customer vendor-id --name ${name})`, 403);
    }
  }
}
