/** Calls per second per tenant and per identity. */
import type { FastifyInstance } from 'fastify';
import { RATE_LIMIT_SCOPES, type RateLimitScope } from '../store/index.ts';
import { tenantList, tenantParams, idParam, type AdminDeps } from './context.ts';

export default async function rateLimits(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  tenantList(app, deps, '/tenants/:tenant/rate-limits', (tenant) => deps.rateLimits.list(tenant), (r) => r.scope);

  // PUT: a limit is identified by its scope; setting it again replaces the rate.
  app.put<{ Params: { tenant: string }; Body: { scope: RateLimitScope; perSecond: number } }>('/tenants/:tenant/rate-limits', {
    schema: {
      params: tenantParams,
      body: {
        type: 'object', required: ['scope', 'perSecond'], additionalProperties: false,
        properties: { scope: { type: 'string', enum: [...RATE_LIMIT_SCOPES] }, perSecond: { type: 'integer', minimum: 1 } },
      },
    },
  }, async (request, reply) => {
    const { tenant } = request.params;
    await deps.tenant(request, tenant);
    const limit = { tenantId: tenant, ...request.body };
    const { existed } = await deps.changes(request).setRateLimit(limit);
    return reply.code(existed ? 200 : 201).send(limit);
  });

  app.delete<{ Params: { tenant: string; scope: RateLimitScope } }>('/tenants/:tenant/rate-limits/:scope', {
    schema: { params: { type: 'object', required: ['tenant', 'scope'], additionalProperties: false, properties: { tenant: idParam, scope: { type: 'string', enum: [...RATE_LIMIT_SCOPES] } } } },
  }, async (request, reply) => {
    const { tenant, scope } = request.params;
    await deps.tenant(request, tenant);
    await deps.changes(request).removeRateLimit(tenant, scope);
    return reply.code(204).send();
  });
}
