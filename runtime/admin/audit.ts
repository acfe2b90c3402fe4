/**
 * Audit search: a tenant's hash-chained entries, oldest or newest first, paged by sequence number.
 * Audit verification: the chains held against the signed checkpoints, as `specgate audit verify`.
 */
import type { FastifyInstance } from 'fastify';
import { checkpointsRepo, loadAuditKeys } from '../store/index.ts';
import { idParam, requireGlobal, requireScope, tenantParams, type AdminDeps } from './context.ts';
import { parseDate } from './rules.ts';
import { OUTCOME_PATTERN } from './audit-outcome.ts';

interface AuditQuerystring {
  customer?: string; subject?: string; connector?: string; tool?: string; outcome?: string; from?: string; to?: string;
  after?: number; before?: number; order: 'asc' | 'desc'; limit: number;
}


export default async function audit(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  app.get<{ Params: { tenant: string }; Querystring: AuditQuerystring }>('/tenants/:tenant/audit', {
    schema: {
      summary: "Search a tenant's audit chain",
      params: tenantParams,
      querystring: {
        type: 'object', additionalProperties: false,
        properties: {
          customer: idParam, subject: idParam, connector: idParam, tool: idParam,
          outcome: { type: 'string', pattern: OUTCOME_PATTERN, description: 'ok, error, refused, cancelled, replayed, ...' },
          from: { type: 'string', maxLength: 40 }, to: { type: 'string', maxLength: 40 },
          after: { type: 'integer', minimum: 0, description: 'oldest first: entries after this seq' },
          before: { type: 'integer', minimum: 1, description: 'newest first: entries before this seq' },
          order: { type: 'string', enum: ['asc', 'desc'], default: 'asc' },
          limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
        },
      },
    },
  }, async (request) => {
    const { tenant } = request.params;
    // Scope only, not existence: audit entries outlive a deleted tenant (the table has no foreign
    // key on purpose), and calls refused before authentication sit in a chain of their own.
    requireScope(request.admin, tenant);
    const q = request.query;
    const items = await deps.audit.search({
      tenant, customer: q.customer, subject: q.subject, connector: q.connector, tool: q.tool, outcome: q.outcome,
      from: q.from === undefined ? undefined : parseDate(q.from, 'querystring.from'),
      to: q.to === undefined ? undefined : parseDate(q.to, 'querystring.to'),
      afterSeq: q.after, beforeSeq: q.before, order: q.order, limit: q.limit,
    });
    return { items, next: items.length === q.limit ? String(items[items.length - 1].seq) : null };
  });
  // Keys are read once: a malformed SPECGATE_AUDIT_KEYS fails the admin API's start, not a request.
  const keys = deps.options.auditKeys ?? loadAuditKeys();
  const checkpoints = checkpointsRepo(deps.options.store, deps.now);

  // Every chain: the set checkpoints name every tenant, so only a global operator sees this.
  app.get('/audit/verify', { schema: { summary: 'Verify every audit chain against the signed checkpoints' } }, async (request) => {
    requireGlobal(request.admin, 'verifying every audit chain');
    return checkpoints.verify({ keys });
  });

  app.get<{ Params: { tenant: string } }>('/tenants/:tenant/audit/verify', { schema: { summary: "Verify a tenant's audit chain against the signed checkpoints", params: tenantParams } }, async (request) => {
    requireScope(request.admin, request.params.tenant);
    return checkpoints.verify({ keys, tenant: request.params.tenant });
  });
}
