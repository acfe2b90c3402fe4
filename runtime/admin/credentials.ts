/**
 * A tenant's vendor credentials, through the credential broker (sealed at rest under the master
 * keyring). Write-only: the body goes in, only metadata (connector, kind, key id, when) comes out.
 */
import type { FastifyInstance } from 'fastify';
import { AdminHttpError, connectorName, idParam, tenantList, tenantParams, type AdminDeps } from './context.ts';

const connectorParams = {
  type: 'object', required: ['tenant', 'connector'], additionalProperties: false, properties: { tenant: idParam, connector: connectorName },
} as const;

const summary = {
  type: 'object',
  properties: { tenantId: { type: 'string' }, connector: { type: 'string' }, kind: { type: 'string' }, keyId: { type: 'string' }, updatedAt: { type: 'string' } },
} as const;

export default async function credentials(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  const broker = () => {
    if (!deps.options.broker) throw new AdminHttpError(503, 'unavailable', 'vendor credentials are not available: start the runtime with a master keyring (SPECGATE_MASTER_KEYS)');
    return deps.options.broker;
  };

  // Response schemas are the guard that keeps secrets in: only these summary fields can leave.
  tenantList(app, deps, '/tenants/:tenant/credentials', (tenant) => broker().list(tenant), (c) => c.connector, summary);

  // The body is an upstream entry as the config file accepts it (or a bare credential); the broker
  // checks it against that file's JSON Schema, so the rules live in one place.
  app.put<{ Params: { tenant: string; connector: string }; Body: Record<string, unknown> }>('/tenants/:tenant/credentials/:connector', {
    schema: {
      params: connectorParams,
      body: { type: 'object', minProperties: 1 },
      response: { 200: summary, 201: summary },
    },
  }, async (request, reply) => {
    const { tenant, connector } = request.params;
    await deps.tenant(request, tenant);
    const { existed, stored } = await deps.changes(request).putCredential(broker(), tenant, connector, request.body);
    return reply.code(existed ? 200 : 201).send(stored);
  });

  app.delete<{ Params: { tenant: string; connector: string } }>('/tenants/:tenant/credentials/:connector', {
    schema: { params: connectorParams },
  }, async (request, reply) => {
    const { tenant, connector } = request.params;
    await deps.tenant(request, tenant);
    if (!(await deps.changes(request).removeCredential(broker(), tenant, connector))) throw new AdminHttpError(404, 'not-found', `tenant "${tenant}" has no credential for connector "${connector}"`, 'connector');
    return reply.code(204).send();
  });
}
