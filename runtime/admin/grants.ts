/** Entitlements: which connectors' tools (picomatch globs) a tenant may call. */
import type { FastifyInstance } from 'fastify';
import { tenantList, tenantParams, type AdminDeps } from './context.ts';

const glob = { type: 'string', minLength: 1, maxLength: 200, pattern: '^\\S+$' } as const;
interface Grant { connector: string; toolGlob: string }
/** A grant as created and as named for removal: the tool glob defaults to every tool. */
const grant = {
  type: 'object', required: ['connector'], additionalProperties: false, properties: { connector: glob, toolGlob: { ...glob, default: '*' } },
} as const;

export default async function grants(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  tenantList(app, deps, '/tenants/:tenant/grants', (tenant) => deps.settings.entitlements(tenant), (g) => `${g.connector} ${g.toolGlob}`);

  app.post<{ Params: { tenant: string }; Body: Grant }>('/tenants/:tenant/grants', {
    schema: { params: tenantParams, body: grant },
  }, async (request, reply) => {
    const { tenant } = request.params;
    const { connector, toolGlob } = request.body;
    await deps.tenant(request, tenant);
    await deps.changes(request).grant(tenant, connector, toolGlob);
    return reply.code(201).send({ tenantId: tenant, connector, toolGlob });
  });

  // The grant is named in the query: globs contain characters that do not belong in a path segment.
  app.delete<{ Params: { tenant: string }; Querystring: Grant }>('/tenants/:tenant/grants', {
    schema: { params: tenantParams, querystring: grant },
  }, async (request, reply) => {
    const { tenant } = request.params;
    const { connector, toolGlob } = request.query;
    await deps.tenant(request, tenant);
    await deps.changes(request).revokeGrant(tenant, connector, toolGlob);
    return reply.code(204).send();
  });
}
