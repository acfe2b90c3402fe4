/** Call quotas per tenant, tool-name glob and period. */
import type { FastifyInstance } from 'fastify';
import type { QuotaRule } from '../store/index.ts';
import { tenantList, tenantParams, type AdminDeps } from './context.ts';
import { QUOTA_PERIODS } from './rules.ts';

export default async function quotas(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  tenantList(app, deps, '/tenants/:tenant/quotas', (tenant) => deps.quotas.listQuotas(tenant), (q) => `${q.scope} ${q.period}`);

  // PUT: a quota is identified by (scope, period) and setting it again replaces the limit.
  app.put<{ Params: { tenant: string }; Body: Omit<QuotaRule, 'tenantId'> }>('/tenants/:tenant/quotas', {
    schema: {
      params: tenantParams,
      body: {
        type: 'object', required: ['scope', 'period', 'limit'], additionalProperties: false,
        properties: {
          scope: { type: 'string', minLength: 1, maxLength: 200, pattern: '^\\S+$' },
          period: { type: 'string', enum: [...QUOTA_PERIODS] },
          limit: { type: 'integer', minimum: 0 },
        },
      },
    },
  }, async (request, reply) => {
    const { tenant } = request.params;
    await deps.tenant(request, tenant);
    const rule = { tenantId: tenant, ...request.body };
    const { existed } = await deps.changes(request).setQuota(rule);
    return reply.code(existed ? 200 : 201).send(rule);
  });
}
