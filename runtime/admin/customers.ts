/** A tenant's customers and each customer's id in the vendors' systems (what customer scoping binds to). */
import type { FastifyInstance } from 'fastify';
import { connectorName, idParam, name, newId, tenantList, tenantParams, type AdminDeps } from './context.ts';
import { VENDOR_ID_NAME } from '../store/index.ts';

const customerParams = {
  type: 'object', required: ['tenant', 'customer'], additionalProperties: false, properties: { tenant: idParam, customer: idParam },
} as const;

export default async function customers(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  tenantList(app, deps, '/tenants/:tenant/customers', (tenant) => deps.tenants.listCustomers(tenant), (c) => c.id);

  app.post<{ Params: { tenant: string }; Body: { name: string; id?: string } }>('/tenants/:tenant/customers', {
    schema: {
      params: tenantParams,
      body: { type: 'object', required: ['name'], additionalProperties: false, properties: { name, id: newId } },
    },
  }, async (request, reply) => {
    const { tenant } = request.params;
    await deps.tenant(request, tenant);
    const customer = await deps.changes(request).createCustomer({ tenantId: tenant, ...request.body });
    return reply.code(201).header('location', `${request.url.replace(/\/$/, '')}/${encodeURIComponent(customer.id)}`).send(customer);
  });

  app.get<{ Params: { tenant: string; customer: string } }>('/tenants/:tenant/customers/:customer', {
    schema: { params: customerParams },
  }, async (request) => {
    const { tenant, customer } = request.params;
    await deps.tenant(request, tenant);
    const found = await deps.ops.requireCustomer(tenant, customer);
    return { ...found, vendorIds: await deps.tenants.listVendorIds(tenant, customer) };
  });

  app.put<{ Params: { tenant: string; customer: string; connector: string }; Body: { vendorId: string; name?: string } }>(
    '/tenants/:tenant/customers/:customer/vendor-ids/:connector', {
      schema: {
        params: { ...customerParams, required: [...customerParams.required, 'connector'], properties: { ...customerParams.properties, connector: connectorName } },
        body: { type: 'object', required: ['vendorId'], additionalProperties: false, properties: { vendorId: name, name: { type: 'string', pattern: VENDOR_ID_NAME.source } } },
      },
    }, async (request) => {
      const { tenant, customer, connector } = request.params;
      await deps.tenant(request, tenant);
      const idName = request.body.name ?? '';
      await deps.changes(request).setVendorId(tenant, customer, connector, request.body.vendorId, idName);
      return { tenantId: tenant, customerId: customer, connector, vendorId: request.body.vendorId, ...(idName && { name: idName }) };
    },
  );
}
