import type { Store } from '../db.ts';
import type { AdminKeysTable } from '../schema.ts';
import { keyCodec, type ApiKeyInfo, type ApiKeysOptions, type KeyRefusal } from './api-keys.ts';
import { requireText } from './tenants.ts';

/** An operator key for the admin API. `tenantId` null: global (every tenant); else that tenant only. */
export type AdminKeyInfo = Omit<ApiKeyInfo, 'tenantId' | 'roles'> & { tenantId: string | null };

export type AdminVerifyResult = { ok: true; key: AdminKeyInfo } | { ok: false; reason: KeyRefusal };

/** Operator keys: `sga_…`, stored as an HMAC with the same pepper and codec as tenant API keys. */
export function adminKeysRepo(store: Store, opts: ApiKeysOptions = {}) {
  const { db } = store;
  const now = opts.now ?? (() => new Date());
  const codec = keyCodec('sga', opts.pepper);
  return {
    /** Creates a key and returns its plaintext: the only time it is ever available. */
    async create(input: { subject: string; tenantId?: string | null; expiresAt?: Date | null }): Promise<{ key: string; info: AdminKeyInfo }> {
      requireText(input.subject, 'admin key subject');
      const { key, prefix, hash } = codec.mint();
      const row: AdminKeysTable = {
        id: prefix, tenant_id: input.tenantId ?? null, subject: input.subject, hash, prefix,
        expires_at: input.expiresAt ? input.expiresAt.toISOString() : null, revoked_at: null, created_at: now().toISOString(),
      };
      await db.insertInto('admin_keys').values(row).execute();
      return { key, info: toInfo(row) };
    },
    async verify(key: string): Promise<AdminVerifyResult> {
      const r = await codec.verify(key, (prefix) => db.selectFrom('admin_keys').selectAll().where('prefix', '=', prefix).executeTakeFirst(), now());
      return r.ok ? { ok: true, key: toInfo(r.row) } : r;
    },
    /** Returns false when no active key has that id. */
    async revoke(id: string): Promise<boolean> {
      const res = await db.updateTable('admin_keys').set({ revoked_at: now().toISOString() })
        .where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
      return Number(res.numUpdatedRows) === 1;
    },
    async list(): Promise<AdminKeyInfo[]> {
      const rows = await db.selectFrom('admin_keys').selectAll().orderBy('created_at').orderBy('id').execute();
      return rows.map(toInfo);
    },
  };
}

function toInfo(r: AdminKeysTable): AdminKeyInfo {
  return { id: r.id, tenantId: r.tenant_id, subject: r.subject, prefix: r.prefix, expiresAt: r.expires_at, revokedAt: r.revoked_at, createdAt: r.created_at };
}
