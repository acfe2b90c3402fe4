/** Tenants: the isolation unit every customer, key, grant and quota belongs to. */
import type { FastifyInstance } from 'fastify';
import { name, newId, page, pageQuery, requireGlobal, tenantParams, type AdminDeps, type PageQuery } from './context.ts';

export default async function tenants(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  app.get<{ Querystring: PageQuery }>('/tenants', {
    schema: { querystring: pageQuery },
  }, async (request) => {
    // A tenant-scoped operator sees its own tenant only.
    const scoped = request.admin.tenantId;
    const all = scoped === null ? await deps.tenants.listTenants() : [await deps.tenant(request, scoped)];
    return page(all, (t) => t.id, request.query);
  });

  app.post<{ Body: { name: string; id?: string } }>('/tenants', {
    schema: {
      body: { type: 'object', required: ['name'], additionalProperties: false, properties: { name, id: newId } },
    },
  }, async (request, reply) => {
    requireGlobal(request.admin, 'creating a tenant');
    const tenant = await deps.changes(request).createTenant(request.body);
    return reply.code(201).header('location', `${request.url.replace(/\/$/, '')}/${encodeURIComponent(tenant.id)}`).send(tenant);
  });

  app.get<{ Params: { tenant: string } }>('/tenants/:tenant', { schema: { params: tenantParams } },
    async (request) => deps.tenant(request, request.params.tenant));
}
