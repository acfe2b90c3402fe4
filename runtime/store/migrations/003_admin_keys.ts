import type { Kysely, Migration } from 'kysely';

// Operator keys live apart from tenant API keys: a tenant key must never reach the admin API and an
// admin key must never call tools, and a global operator key has no tenant at all (api_keys.tenant_id
// is NOT NULL, which SQLite cannot relax without rebuilding the table).
export const adminKeys: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('admin_keys')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.references('tenants.id').onDelete('cascade'))
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .addColumn('prefix', 'text', (c) => c.notNull().unique())
      .addColumn('expires_at', 'text')
      .addColumn('revoked_at', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('admin_keys').ifExists().execute();
  },
};
