/** Approval requests held by `require_approval` policy rules: list, approve, deny. */
import type { FastifyInstance } from 'fastify';
import type { ApprovalStatus } from '../store/index.ts';
import { idParam, page, pageQuery, tenantParams, type AdminDeps, type PageQuery } from './context.ts';
import { APPROVAL_STATUSES } from './rules.ts';

export default async function approvals(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  app.get<{ Params: { tenant: string }; Querystring: PageQuery & { status?: ApprovalStatus } }>('/tenants/:tenant/approvals', {
    schema: { params: tenantParams, querystring: { ...pageQuery, properties: { ...pageQuery.properties, status: { type: 'string', enum: [...APPROVAL_STATUSES] } } } },
  }, async (request) => {
    const { tenant } = request.params;
    await deps.tenant(request, tenant);
    const { status, ...paging } = request.query;
    return page(await deps.approvals.list({ tenantId: tenant, ...(status && { status }) }), (a) => a.id, paging);
  });

  for (const [verb, approve] of [['approve', true], ['deny', false]] as const) {
    app.post<{ Params: { tenant: string; id: string }; Body: { note?: string } }>(`/tenants/:tenant/approvals/:id/${verb}`, {
      schema: {
        params: { type: 'object', required: ['tenant', 'id'], additionalProperties: false, properties: { tenant: idParam, id: idParam } },
        body: { type: 'object', additionalProperties: false, properties: { note: { type: 'string', maxLength: 2000 } } },
      },
    }, async (request) => {
      const { tenant, id } = request.params;
      await deps.tenant(request, tenant);
      // The decider is the authenticated operator, never a name in the body.
      return deps.ops.decideApproval(tenant, id, { approve, by: request.admin.subject, ...(request.body?.note && { note: request.body.note }) });
    });
  }
}
