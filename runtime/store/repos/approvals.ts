import type { Store } from '../db.ts';
import type { ApprovalsTable } from '../schema.ts';
import { uuidv7 } from '../../ids.ts';

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'used' | 'expired';

export interface Approval {
  id: string;
  tenantId: string;
  subject: string;
  customerId: string | null;
  connector: string;
  tool: string;
  argumentsHash: string;
  /** The arguments as the approver sees them (secrets redacted). */
  arguments: Record<string, unknown>;
  decisionId: string;
  reason: string;
  status: ApprovalStatus;
  requestedAt: string;
  expiresAt: string;
  decidedAt: string | null;
  decidedBy: string | null;
  note: string | null;
  usedByCall: string | null;
}

/** What one approval covers: this caller, this customer, this tool, these exact arguments. */
export interface ApprovalKey {
  tenantId: string;
  subject: string;
  customerId: string | null;
  tool: string;
  argumentsHash: string;
}

export interface ApprovalRequest extends ApprovalKey {
  connector: string;
  arguments: Record<string, unknown>;
  decisionId: string;
  reason: string;
}

export interface ApprovalsOptions {
  now?: () => Date;
  /** How long a request waits for a decision and an approval stays usable; default 24 h. */
  ttlMs?: number;
}

function toApproval(r: ApprovalsTable, now: string): Approval {
  const live = r.status === 'pending' || r.status === 'approved';
  return {
    id: r.id, tenantId: r.tenant_id, subject: r.subject, customerId: r.customer_id, connector: r.connector, tool: r.tool,
    argumentsHash: r.arguments_hash, arguments: JSON.parse(r.arguments) as Record<string, unknown>,
    decisionId: r.decision_id, reason: r.reason,
    status: live && r.expires_at <= now ? 'expired' : r.status as ApprovalStatus,
    requestedAt: r.requested_at, expiresAt: r.expires_at, decidedAt: r.decided_at, decidedBy: r.decided_by, note: r.note, usedByCall: r.used_by_call,
  };
}

/** Whether `by` names the subject who requested the call (names compared trimmed, case-insensitively). */
export function isRequester(approval: Pick<Approval, 'subject'>, by: string): boolean {
  return by.trim().toLowerCase() === approval.subject.trim().toLowerCase();
}

export function selfApprovalMessage(approval: Pick<Approval, 'id' | 'subject'>): string {
  return `approval ${approval.id} was requested by "${approval.subject}", who cannot approve it: a second person must`;
}

/** Thrown when the subject who requested a call tries to approve it. */
export class SelfApprovalError extends Error {
  override name = 'SelfApprovalError';
}

export function approvalsRepo(store: Store, options: ApprovalsOptions = {}) {
  const { db } = store;
  const now = options.now ?? (() => new Date());
  const ttlMs = options.ttlMs ?? 24 * 3600_000;

  function matching(key: ApprovalKey, status: 'pending' | 'approved', at: string) {
    let q = db.selectFrom('approvals').selectAll()
      .where('tenant_id', '=', key.tenantId).where('subject', '=', key.subject).where('tool', '=', key.tool)
      .where('arguments_hash', '=', key.argumentsHash).where('status', '=', status).where('expires_at', '>', at);
    q = key.customerId === null ? q.where('customer_id', 'is', null) : q.where('customer_id', '=', key.customerId);
    return q.orderBy('requested_at').limit(1).executeTakeFirst();
  }

  return {
    /** The pending request for this exact call, or a new one: asking twice does not queue twice. */
    async request(req: ApprovalRequest): Promise<Approval> {
      const at = now();
      const iso = at.toISOString();
      const pending = await matching(req, 'pending', iso);
      if (pending) return toApproval(pending, iso);
      const row: ApprovalsTable = {
        id: uuidv7(), tenant_id: req.tenantId, subject: req.subject, customer_id: req.customerId, connector: req.connector, tool: req.tool,
        arguments_hash: req.argumentsHash, arguments: JSON.stringify(req.arguments), decision_id: req.decisionId, reason: req.reason,
        status: 'pending', requested_at: iso, expires_at: new Date(at.getTime() + ttlMs).toISOString(),
        decided_at: null, decided_by: null, note: null, used_by_call: null,
      };
      await db.insertInto('approvals').values(row).execute();
      return toApproval(row, iso);
    },

    /**
     * Takes an approved, unexpired approval for this exact call, once: the conditional update
     * means two concurrent calls (or two instances) cannot both run on one approval.
     */
    async claim(key: ApprovalKey, callId: string): Promise<Approval | undefined> {
      const iso = now().toISOString();
      for (;;) {
        const approved = await matching(key, 'approved', iso);
        if (!approved) return undefined;
        const res = await db.updateTable('approvals').set({ status: 'used', used_by_call: callId })
          .where('id', '=', approved.id).where('status', '=', 'approved').executeTakeFirst();
        if (Number(res.numUpdatedRows) === 1) return toApproval({ ...approved, status: 'used', used_by_call: callId }, iso);
        // Another call took it first: look for another approval of the same call, if any.
      }
    },

    /** Approves or denies a pending, unexpired request; `tenantId` confines a tenant's own operator. */
    async decide(id: string, decision: { approve: boolean; by: string; note?: string; tenantId?: string }): Promise<Approval> {
      const iso = now().toISOString();
      const row = await db.selectFrom('approvals').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row || (decision.tenantId !== undefined && row.tenant_id !== decision.tenantId)) throw new Error(`approval ${id} does not exist`);
      const current = toApproval(row, iso);
      if (current.status !== 'pending') throw new Error(`approval ${id} is ${current.status}, not pending: only a pending request can be decided`);
      // Four eyes: the policy asked for a second person, whichever front end the decision comes through.
      if (decision.approve && isRequester(current, decision.by)) throw new SelfApprovalError(selfApprovalMessage(current));
      const set = { status: decision.approve ? 'approved' : 'denied', decided_at: iso, decided_by: decision.by, note: decision.note ?? null };
      const res = await db.updateTable('approvals').set(set).where('id', '=', id).where('status', '=', 'pending').executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) throw new Error(`approval ${id} was decided by someone else meanwhile`);
      return toApproval({ ...row, ...set }, iso);
    },

    async get(id: string): Promise<Approval | undefined> {
      const row = await db.selectFrom('approvals').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toApproval(row, now().toISOString());
    },

    /**
     * Oldest first. `status` is the status a reader sees (a live request past its expiry is
     * 'expired'), filtered in the query so that `limit` counts matching rows only.
     */
    async list(query: { tenantId: string; status?: ApprovalStatus; limit?: number }): Promise<Approval[]> {
      const iso = now().toISOString();
      let q = db.selectFrom('approvals').selectAll().where('tenant_id', '=', query.tenantId);
      const status = query.status;
      if (status === 'pending' || status === 'approved') q = q.where('status', '=', status).where('expires_at', '>', iso);
      else if (status === 'expired') {
        q = q.where((eb) => eb.or([
          eb('status', '=', 'expired'),
          eb.and([eb('status', 'in', ['pending', 'approved']), eb('expires_at', '<=', iso)]),
        ]));
      } else if (status) q = q.where('status', '=', status);
      const rows = await q.orderBy('requested_at').orderBy('id').limit(query.limit ?? 1000).execute();
      return rows.map((r) => toApproval(r, iso));
    },
  };
}
