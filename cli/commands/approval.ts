/**
 * Operator commands for the two controls a policy or a tenant's plan adds on top of grants and
 * quotas: approval requests (held by `require_approval` rules) and per-second rate limits.
 */
import type { Command } from 'commander';
import { APPROVAL_STATUSES } from '../../runtime/admin/rules.ts';
import { print, table, tenantLeaf, withTenant, type StoreOpts } from './admin.ts';

interface TenantOpts extends StoreOpts { tenant: string; json?: boolean }

export function registerApproval(program: Command): void {
  const approval = program.command('approval').description('calls held by require_approval policy rules: list, approve, deny');
  tenantLeaf(approval, 'list', "list a tenant's approval requests, oldest first")
    .option('--status <status>', `only ${APPROVAL_STATUSES.join(', ')}`)
    .action((o: TenantOpts & { status?: string }) => withTenant(o, async (s, m) => {
      if (o.status !== undefined && !(APPROVAL_STATUSES as readonly string[]).includes(o.status)) throw new Error(`bad --status "${o.status}": use ${APPROVAL_STATUSES.join(', ')}`);
      const rows = await m.approvalsRepo(s).list({ tenantId: o.tenant, ...(o.status && { status: o.status as (typeof APPROVAL_STATUSES)[number] }) });
      print(o.json, rows, () => table(['ID', 'STATUS', 'SUBJECT', 'CUSTOMER', 'TOOL', 'ARGUMENTS', 'REQUESTED', 'EXPIRES', 'REASON'],
        rows.map((a) => [a.id, a.status, a.subject, a.customerId ?? '-', a.tool, JSON.stringify(a.arguments), a.requestedAt, a.expiresAt, a.reason])));
    }));
  for (const [verb, approve] of [['approve', true], ['deny', false]] as const) {
    tenantLeaf(approval, verb, `${verb} a pending request; ${approve ? 'the caller may then make that exact call once' : 'the call stays refused'}`)
      .argument('<id>', 'approval request id (as in the held call\'s message or `approval list`)')
      .requiredOption('--by <name>', 'who decides (recorded with the decision and in the audit log)')
      .option('--note <text>', 'why')
      .action((id: string, o: TenantOpts & { by: string; note?: string }) => withTenant(o, async (s, m) => {
        const decided = await m.operations(s).decideApproval(o.tenant, id, { approve, by: o.by, ...(o.note && { note: o.note }) });
        print(o.json, decided, () => `${approve ? 'approved' : 'denied'} ${id}: ${decided.tool} for ${decided.subject}`);
      }));
  }

  const rate = program.command('rate-limit').description('calls per second, per tenant and per identity (each runtime instance enforces its share)');
  tenantLeaf(rate, 'set', 'set (or replace) a rate limit')
    .requiredOption('--scope <scope>', "'tenant' (all its calls together) or 'identity' (each subject on its own)")
    .requiredOption('--per-second <n>', 'calls allowed per second (positive integer)')
    .action((o: TenantOpts & { scope: string; perSecond: string }) => withTenant(o, async (s, m) => {
      if (!(m.RATE_LIMIT_SCOPES as readonly string[]).includes(o.scope)) throw new Error(`bad --scope "${o.scope}": use ${m.RATE_LIMIT_SCOPES.join(' or ')}`);
      if (!/^[1-9]\d*$/.test(o.perSecond)) throw new Error(`bad --per-second "${o.perSecond}": must be a positive integer`);
      const limit = { tenantId: o.tenant, scope: o.scope as 'tenant' | 'identity', perSecond: Number(o.perSecond) };
      await m.changes(s).setRateLimit(limit);
      print(o.json, limit, () => `rate limit for tenant ${o.tenant}: ${limit.perSecond} calls per second per ${limit.scope}`);
    }));
  tenantLeaf(rate, 'remove', 'remove a rate limit')
    .requiredOption('--scope <scope>', "'tenant' or 'identity'")
    .action((o: TenantOpts & { scope: string }) => withTenant(o, async (s, m) => {
      if (!(m.RATE_LIMIT_SCOPES as readonly string[]).includes(o.scope)) throw new Error(`bad --scope "${o.scope}": use ${m.RATE_LIMIT_SCOPES.join(' or ')}`);
      await m.changes(s).removeRateLimit(o.tenant, o.scope as 'tenant' | 'identity');
      print(o.json, { tenantId: o.tenant, scope: o.scope, removed: true }, () => `removed the ${o.scope} rate limit of tenant ${o.tenant}`);
    }));
  tenantLeaf(rate, 'list', "list a tenant's rate limits")
    .action((o: TenantOpts) => withTenant(o, async (s, m) => {
      const rows = await m.rateLimitsRepo(s).list(o.tenant);
      print(o.json, rows, () => table(['SCOPE', 'PER SECOND'], rows.map((r) => [r.scope, String(r.perSecond)])));
    }));
}
