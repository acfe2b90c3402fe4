/** The usage export for billing: totals per customer, connector, tool and outcome (JSON), or the raw records (CSV). */
import type { FastifyInstance } from 'fastify';
import { tenantParams, type AdminDeps } from './context.ts';
import { usageWindow } from './rules.ts';

const isoish = { type: 'string', minLength: 10, maxLength: 40 } as const;

export default async function usage(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  app.get<{ Params: { tenant: string }; Querystring: { from: string; to: string; format?: 'json' | 'csv' } }>('/tenants/:tenant/usage', {
    schema: {
      params: tenantParams,
      querystring: {
        type: 'object', required: ['from', 'to'], additionalProperties: false,
        properties: { from: isoish, to: isoish, format: { type: 'string', enum: ['json', 'csv'] } },
      },
    },
  }, async (request, reply) => {
    const { tenant } = request.params;
    await deps.tenant(request, tenant);
    const { from, to } = usageWindow(request.query.from, request.query.to, { from: 'querystring.from', to: 'querystring.to' });
    // ?format wins; without it, Accept chooses, so a spreadsheet import can ask for text/csv plainly.
    const csv = request.query.format === 'csv' || (request.query.format === undefined && request.headers.accept?.includes('text/csv'));
    if (csv) {
      const name = `usage-${tenant}-${from.slice(0, 10)}-${to.slice(0, 10)}.csv`.replace(/[^A-Za-z0-9._-]/g, '_');
      return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}"`)
        .send(await deps.usage.exportCsv(tenant, from, to));
    }
    return { tenantId: tenant, from, to, items: await deps.usage.report(tenant, from, to) };
  });
}
