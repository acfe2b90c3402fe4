import { withWriteLock, type Store } from '../db.ts';
import type { CredentialsTable } from '../schema.ts';

// Credentials (already-encrypted blobs: encryption lives in the credential broker, which owns the
// keys) and entitlements: plain per-tenant settings, kept together because both are tiny.
export interface StoredCredential { tenantId: string; connector: string; ciphertext: string; keyId: string; kind: string; updatedAt: string }
/** A credential row without its ciphertext: what listing shows. */
export type CredentialInfo = Omit<StoredCredential, 'ciphertext'>;
export interface Entitlement { tenantId: string; connector: string; toolGlob: string }

export function settingsRepo(store: Store, now: () => Date = () => new Date()) {
  const { db } = store;
  return {
    /** `kind` is plain metadata for listing (the credential's kind is also inside the ciphertext). */
    async putCredential(tenantId: string, connector: string, ciphertext: string, keyId: string, kind = ''): Promise<void> {
      const updated_at = now().toISOString();
      await db.insertInto('credentials').values({ tenant_id: tenantId, connector, ciphertext, key_id: keyId, kind, updated_at })
        .onConflict((oc) => oc.columns(['tenant_id', 'connector']).doUpdateSet({ ciphertext, key_id: keyId, kind, updated_at }))
        .execute();
    },
    async getCredential(tenantId: string, connector: string): Promise<StoredCredential | undefined> {
      const r = await db.selectFrom('credentials').selectAll().where('tenant_id', '=', tenantId).where('connector', '=', connector).executeTakeFirst();
      return r && credentialOf(r);
    },
    /** One tenant's rows, or every tenant's; by tenant, then connector. */
    async listCredentials(tenantId?: string): Promise<StoredCredential[]> {
      let q = db.selectFrom('credentials').selectAll();
      if (tenantId !== undefined) q = q.where('tenant_id', '=', tenantId);
      return (await q.orderBy('tenant_id').orderBy('connector').execute()).map(credentialOf);
    },
    async deleteCredential(tenantId: string, connector: string): Promise<boolean> {
      const r = await db.deleteFrom('credentials').where('tenant_id', '=', tenantId).where('connector', '=', connector).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },
    /**
     * Re-seals rows in one write-locked transaction: `reseal` returns the new ciphertext and key
     * id, or undefined to leave a row alone. A throw rolls every row back. updated_at is kept:
     * it says when the credential was set, and re-sealing does not change it.
     */
    async resealCredentials(reseal: (row: StoredCredential) => { ciphertext: string; keyId: string } | undefined): Promise<number> {
      return withWriteLock(store, 'credentials', async (trx) => {
        let changed = 0;
        for (const row of (await trx.selectFrom('credentials').selectAll().orderBy('tenant_id').orderBy('connector').execute()).map(credentialOf)) {
          const next = reseal(row);
          if (!next) continue;
          await trx.updateTable('credentials').set({ ciphertext: next.ciphertext, key_id: next.keyId })
            .where('tenant_id', '=', row.tenantId).where('connector', '=', row.connector).execute();
          changed++;
        }
        return changed;
      });
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

function credentialOf(r: CredentialsTable): StoredCredential {
  return { tenantId: r.tenant_id, connector: r.connector, ciphertext: r.ciphertext, keyId: r.key_id, kind: r.kind, updatedAt: r.updated_at };
}
