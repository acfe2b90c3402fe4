import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Store } from '../db.ts';
import { requireText } from './tenants.ts';

export interface ApiKeyInfo {
  id: string;
  tenantId: string;
  subject: string;
  roles: string[];
  prefix: string;
  expiresAt: string | null;
  revokedAt: string | null;
  createdAt: string;
}

export type VerifyResult =
  | { ok: true; key: ApiKeyInfo }
  | { ok: false; reason: 'malformed' | 'unknown' | 'revoked' | 'expired' };

// sg_<12 hex prefix>_<32 random bytes, base64url>. The prefix is a lookup handle that may appear in
// logs; the random part carries the 256 bits of secret.
const KEY_RE = /^sg_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export interface ApiKeysOptions {
  /** HMAC key mixed into stored hashes (a server-side pepper); a leaked table alone then cannot be brute-forced offline. */
  pepper?: string;
  now?: () => Date;
}

export function apiKeysRepo(store: Store, opts: ApiKeysOptions = {}) {
  const { db } = store;
  const now = opts.now ?? (() => new Date());
  const hash = (key: string) => createHmac('sha256', opts.pepper ?? '').update(key).digest('hex');
  return {
    /** Creates a key and returns its plaintext: the only time it is ever available. */
    async create(input: { tenantId: string; subject: string; roles?: string[]; expiresAt?: Date | null }): Promise<{ key: string; info: ApiKeyInfo }> {
      requireText(input.subject, 'api key subject');
      const prefix = randomBytes(6).toString('hex');
      const key = `sg_${prefix}_${randomBytes(32).toString('base64url')}`;
      const row = {
        id: prefix,
        tenant_id: input.tenantId,
        subject: input.subject,
        roles: JSON.stringify([...(input.roles ?? [])].sort()),
        hash: hash(key),
        prefix,
        expires_at: input.expiresAt ? input.expiresAt.toISOString() : null,
        revoked_at: null,
        created_at: now().toISOString(),
      };
      await db.insertInto('api_keys').values(row).execute();
      return { key, info: toInfo(row) };
    },
    async verify(key: string): Promise<VerifyResult> {
      const m = typeof key === 'string' ? KEY_RE.exec(key) : null;
      if (!m) return { ok: false, reason: 'malformed' };
      const row = await db.selectFrom('api_keys').selectAll().where('prefix', '=', m[1]).executeTakeFirst();
      // Hash even when the prefix is unknown so timing does not reveal which prefixes exist.
      const expected = Buffer.from(row?.hash ?? '0'.repeat(64), 'hex');
      const match = timingSafeEqual(expected, Buffer.from(hash(key), 'hex'));
      if (!row || !match) return { ok: false, reason: 'unknown' };
      if (row.revoked_at) return { ok: false, reason: 'revoked' };
      if (row.expires_at && row.expires_at <= now().toISOString()) return { ok: false, reason: 'expired' };
      return { ok: true, key: toInfo(row) };
    },
    /** Returns false when the key does not exist in that tenant or was already revoked. */
    async revoke(tenantId: string, id: string): Promise<boolean> {
      const res = await db.updateTable('api_keys').set({ revoked_at: now().toISOString() })
        .where('tenant_id', '=', tenantId).where('id', '=', id).where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(res.numUpdatedRows) === 1;
    },
    async list(tenantId: string): Promise<ApiKeyInfo[]> {
      const rows = await db.selectFrom('api_keys').selectAll().where('tenant_id', '=', tenantId).orderBy('created_at').orderBy('id').execute();
      return rows.map(toInfo);
    },
  };
}

function toInfo(r: { id: string; tenant_id: string; subject: string; roles: string; prefix: string; expires_at: string | null; revoked_at: string | null; created_at: string }): ApiKeyInfo {
  return {
    id: r.id, tenantId: r.tenant_id, subject: r.subject, roles: JSON.parse(r.roles) as string[], prefix: r.prefix,
    expiresAt: r.expires_at, revokedAt: r.revoked_at, createdAt: r.created_at,
  };
}
