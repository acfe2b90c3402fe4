import type { Store } from '../db.ts';

// Credentials (already-encrypted blobs: encryption lives in the credential broker, which owns the
// keys) and entitlements: plain per-tenant settings, kept together because both are tiny.
export interface StoredCredential { tenantId: string; connector: string; ciphertext: string; keyId: string; updatedAt: string }
export interface Entitlement { tenantId: string; connector: string; toolGlob: string }

export function settingsRepo(store: Store, now: () => Date = () => new Date()) {
  const { db } = store;
  return {
    async putCredential(tenantId: string, connector: string, ciphertext: string, keyId: string): Promise<void> {
      const updated_at = now().toISOString();
      await db.insertInto('credentials').values({ tenant_id: tenantId, connector, ciphertext, key_id: keyId, updated_at })
        .onConflict((oc) => oc.columns(['tenant_id', 'connector']).doUpdateSet({ ciphertext, key_id: keyId, updated_at }))
        .execute();
    },
    async getCredential(tenantId: string, connector: string): Promise<StoredCredential | undefined> {
      const r = await db.selectFrom('credentials').selectAll().where('tenant_id', '=', tenantId).where('connector', '=', connector).executeTakeFirst();
      return r && { tenantId: r.tenant_id, connector: r.connector, ciphertext: r.ciphertext, keyId: r.key_id, updatedAt: r.updated_at };
    },
    async grant(tenantId: string, connector: string, toolGlob: string): Promise<void> {
      await db.insertInto('entitlements').values({ tenant_id: tenantId, connector, tool_glob: toolGlob })
        .onConflict((oc) => oc.columns(['tenant_id', 'connector', 'tool_glob']).doNothing()).execute();
    },
    async revokeGrant(tenantId: string, connector: string, toolGlob: string): Promise<void> {
      await db.deleteFrom('entitlements').where('tenant_id', '=', tenantId).where('connector', '=', connector).where('tool_glob', '=', toolGlob).execute();
    },
    async entitlements(tenantId: string): Promise<Entitlement[]> {
      const rows = await db.selectFrom('entitlements').selectAll().where('tenant_id', '=', tenantId).orderBy('connector').orderBy('tool_glob').execute();
      return rows.map((r) => ({ tenantId: r.tenant_id, connector: r.connector, toolGlob: r.tool_glob }));
    },
  };
}
