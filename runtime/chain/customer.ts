/**
 * Step 3: which of the tenant's customers the caller acts for. The caller selects one with the
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
  /** The customer's id in each vendor, by connector; only connectors with a mapping appear. */
  vendorIds: Record<string, string>;
}

/** Whether the tool reads one customer's data and so needs a selected customer. */
export function isCustomerBound(tool: ToolModel): boolean {
  return tool.customerParameters.length > 0 || tool.parameters.some((p) => p.customer === true);
}

export async function scopeCustomer(tenants: Tenants, tenantId: string, req: GovernanceRequest, connectors: string[]): Promise<CustomerScope> {
  const raw = req.headers[CUSTOMER_HEADER];
  const selected = raw === undefined || raw.trim() === '' ? null : raw.trim();
  for (const k of CUSTOMER_META) {
    const claimed = req.meta?.[k];
    if (claimed !== undefined && claimed !== selected) {
      throw new Refusal('customer', 'customer-mismatch', `Refused: _meta.${k} names a customer other than the one selected with the Specgate-Customer header`, 403);
    }
  }
  if (selected === null) return { customerId: null, vendorIds: {} };
  // One row by key, not the tenant's customer list: an MSP has hundreds of customers.
  const customer = await tenants.getCustomer(selected);
  if (customer?.tenantId !== tenantId) {
    throw new Refusal('customer', 'unknown-customer', `Refused: customer "${selected}" (Specgate-Customer header) is not a customer of your tenant`, 403);
  }
  const wanted = new Set(connectors);
  const vendorIds: Record<string, string> = {};
  for (const { connector, vendorId } of await tenants.listVendorIds(tenantId, selected)) {
    if (wanted.has(connector)) vendorIds[connector] = vendorId;
  }
  return { customerId: selected, vendorIds };
}

/** A customer-bound tool is callable only with a selected customer that is mapped in its vendor. */
export function requireCustomerFor(tool: ToolModel, scope: CustomerScope): void {
  if (!isCustomerBound(tool)) return;
  if (scope.customerId === null) {
    throw new Refusal('customer', 'no-customer', `Refused: ${tool.name} reads one customer's data; select the customer with the Specgate-Customer header`, 403);
  }
  if (scope.vendorIds[tool.connector] === undefined) {
    throw new Refusal('customer', 'no-vendor-id', `Refused: customer "${scope.customerId}" has no id in ${tool.connector}; map it first`, 403);
  }
}
