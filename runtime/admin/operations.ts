/**
 * Operator actions over the store that need more than one repository call: existence and
 * ownership checks, duplicate detection, input rules. Shared by the `specgate` admin commands and
 * the admin HTTP API so both refuse the same things with the same words; each front end only maps
 * an OperatorError to its own form (an exit message, an HTTP status).
 */
import { approvalsRepo, auditRepo, isRequester, selfApprovalMessage, settingsRepo, tenantsRepo, VENDOR_ID_NAME, type Approval, type Customer, type Store, type Tenant } from '../store/index.ts';
import { OperatorError } from './rules.ts';

export function operations(store: Store, now: () => Date = () => new Date()) {
  const tenants = tenantsRepo(store, now);
  const settings = settingsRepo(store, now);
  const approvals = approvalsRepo(store, { now });
  return {
    async requireTenant(id: string): Promise<Tenant> {
      const t = await tenants.getTenant(id);
      if (!t) throw new OperatorError('not-found', `unknown tenant "${id}"`, 'tenant');
      return t;
    },
    async createTenant(input: { name: string; id?: string }): Promise<Tenant> {
      // Chains of no tenant (the gateway chain, `_gateway`) are named with a leading underscore.
      if (input.id?.startsWith('_')) throw new OperatorError('invalid', `tenant id "${input.id}" is reserved: ids starting with "_" name chains of no tenant`, 'id');
      if (input.id !== undefined && (await tenants.getTenant(input.id))) throw new OperatorError('conflict', `tenant "${input.id}" already exists`, 'id');
      return tenants.createTenant(input);
    },
    /** Customer ids are global: a clash with another tenant's customer is a conflict too, named without that tenant. */
    async createCustomer(input: { tenantId: string; name: string; id?: string }): Promise<Customer> {
      if (input.id !== undefined && (await tenants.getCustomer(input.id))) throw new OperatorError('conflict', `customer "${input.id}" already exists`, 'id');
      return tenants.createCustomer(input);
    },
    /** The customer, when it belongs to the tenant; another tenant's customer is "unknown" so ids never cross tenants. */
    async requireCustomer(tenantId: string, customerId: string): Promise<Customer> {
      const c = await tenants.getCustomer(customerId);
      if (!c || c.tenantId !== tenantId) throw new OperatorError('not-found', `unknown customer "${customerId}" in tenant "${tenantId}"`, 'customer');
      return c;
    },
    async setVendorId(tenantId: string, customerId: string, connector: string, vendorId: string, name = ''): Promise<void> {
      // setVendorId is keyed by customer alone; checking ownership first keeps ids from crossing tenants.
      await this.requireCustomer(tenantId, customerId);
      if (name !== '' && !VENDOR_ID_NAME.test(name)) throw new OperatorError('invalid', `vendor id name "${name}" must match ${VENDOR_ID_NAME.source}`, 'name');
      await tenants.setVendorId(customerId, connector, vendorId, name);
    },
    async hasGrant(tenantId: string, connector: string, toolGlob: string): Promise<boolean> {
      return (await settings.entitlements(tenantId)).some((e) => e.connector === connector && e.toolGlob === toolGlob);
    },
    /**
     * Approves or denies a pending approval request of the tenant, and appends the decision to the
     * tenant's audit chain beside the calls it governs (so both front ends audit it the same way).
     */
    async decideApproval(tenantId: string, id: string, decision: { approve: boolean; by: string; note?: string }): Promise<Approval> {
      const current = await approvals.get(id);
      // Another tenant's request is "unknown", so ids never cross tenants.
      if (!current || current.tenantId !== tenantId) throw new OperatorError('not-found', `approval ${id} does not exist`, 'approval');
      if (current.status !== 'pending') throw new OperatorError('conflict', `approval ${id} is ${current.status}, not pending: only a pending request can be decided`, 'approval');
      if (decision.approve && isRequester(current, decision.by)) throw new OperatorError('forbidden', selfApprovalMessage(current), 'by');
      const decided = await approvals.decide(id, { ...decision, tenantId });
      await auditRepo(store, now).append(tenantId, {
        event: `approval.${decision.approve ? 'approved' : 'denied'}`, approvalId: id, subject: decided.subject, tool: decided.tool,
        connector: decided.connector, decidedBy: decision.by, ...(decision.note && { note: decision.note }), ...(decided.customerId && { customer: decided.customerId }),
      });
      return decided;
    },
    async revokeGrant(tenantId: string, connector: string, toolGlob: string): Promise<void> {
      if (!(await this.hasGrant(tenantId, connector, toolGlob))) throw new OperatorError('not-found', `tenant "${tenantId}" has no grant ${connector} ${toolGlob}`, 'grant');
      await settings.revokeGrant(tenantId, connector, toolGlob);
    },
  };
}
