import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Store } from '../db.ts';
import type { ApiKeysTable } from '../schema.ts';
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

export type KeyRefusal = 'malformed' | 'unknown' | 'revoked' | 'expired';
export type VerifyResult = { ok: true; key: ApiKeyInfo } | { ok: false; reason: KeyRefusal };
interface StoredKeyRow { hash: string; revoked_at: string | null; expires_at: string | null }

/**
 * The format and hashing every kind of stored key shares (tenant API keys `sg_`, operator keys
 * `sga_`): <tag>_<12 hex prefix>_<32 random bytes, base64url>. The prefix is a lookup handle that
 * may appear in logs; the random part carries the 256 bits of secret. Distinct tags keep one kind
 * from ever verifying as the other.
 */
export function keyCodec(tag: string, pepper = '') {
  const re = new RegExp(`^${tag}_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$`);
  const hash = (key: string) => createHmac('sha256', pepper).update(key).digest('hex');
  return {
    mint(): { key: string; prefix: string; hash: string } {
      const prefix = randomBytes(6).toString('hex');
      const key = `${tag}_${prefix}_${randomBytes(32).toString('base64url')}`;
      return { key, prefix, hash: hash(key) };
    },
    /**
     * Checks `key` against the row `lookup` finds by its prefix. The hash is compared in constant
     * time, and computed even without a row so timing does not reveal which prefixes exist.
     */
    async verify<R extends StoredKeyRow>(key: unknown, lookup: (prefix: string) => Promise<R | undefined>, now: Date): Promise<{ ok: true; row: R } | { ok: false; reason: KeyRefusal }> {
      const prefix = typeof key === 'string' ? re.exec(key)?.[1] : undefined;
      if (!prefix) return { ok: false, reason: 'malformed' };
      const row = await lookup(prefix);
      const match = timingSafeEqual(Buffer.from(row?.hash ?? '0'.repeat(64), 'hex'), Buffer.from(hash(key as string), 'hex'));
      if (!row || !match) return { ok: false, reason: 'unknown' };
      if (row.revoked_at) return { ok: false, reason: 'revoked' };
      if (row.expires_at && row.expires_at <= now.toISOString()) return { ok: false, reason: 'expired' };
      return { ok: true, row };
    },
  };
}

export interface ApiKeysOptions {
  /** HMAC key mixed into stored hashes (a server-side pepper); a leaked table alone then cannot be brute-forced offline. */
  pepper?: string;
  now?: () => Date;
}

export function apiKeysRepo(store: Store, opts: ApiKeysOptions = {}) {
  const { db } = store;
  const now = opts.now ?? (() => new Date());
  const codec = keyCodec('sg', opts.pepper);
  const byPrefix = (prefix: string): Promise<ApiKeysTable | undefined> => db.selectFrom('api_keys').selectAll().where('prefix', '=', prefix).executeTakeFirst();
  return {
    /** Creates a key and returns its plaintext: the only time it is ever available. */
    async create(input: { tenantId: string; subject: string; roles?: string[]; expiresAt?: Date | null }): Promise<{ key: string; info: ApiKeyInfo }> {
      requireText(input.subject, 'api key subject');
      const { key, prefix, hash } = codec.mint();
      const row = {
        id: prefix,
        tenant_id: input.tenantId,
        subject: input.subject,
        roles: JSON.stringify([...(input.roles ?? [])].sort()),
        hash,
        prefix,
        expires_at: input.expiresAt ? input.expiresAt.toISOString() : null,
        revoked_at: null,
        created_at: now().toISOString(),
      };
      await db.insertInto('api_keys').values(row).execute();
      return { key, info: toInfo(row) };
    },
    /**
     * `lookup`: where the key's row is read from (default: the store); the settings cache passes
     * its own. Expiry is judged here, at each verification, never by whoever kept the row.
     */
    async verify(key: string, lookup: (prefix: string) => Promise<ApiKeysTable | undefined> = byPrefix): Promise<VerifyResult> {
      const r = await codec.verify(key, lookup, now());
      return r.ok ? { ok: true, key: toInfo(r.row) } : r;
    },
    /** The stored row of a key by its public prefix, revoked or not. */
    byPrefix,
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
