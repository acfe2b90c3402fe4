import type { Kysely, Migration } from 'kysely';

// Portable DDL only (text/integer, composite keys, plain indexes) so one migration serves SQLite and
// PostgreSQL. Usage, audit and counters carry no foreign keys on purpose: a metering or audit write
// must never be refused because of a referential detail after the call was answered.
export const initial: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('tenants')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createTable('customers')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('customers_tenant').on('customers').column('tenant_id').execute();
    await db.schema.createTable('customer_vendor_ids')
      .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id').onDelete('cascade'))
      .addColumn('connector', 'text', (c) => c.notNull())
      .addColumn('vendor_id', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('customer_vendor_ids_pk', ['customer_id', 'connector'])
      .execute();
    await db.schema.createIndex('customer_vendor_ids_lookup').on('customer_vendor_ids')
      .columns(['connector', 'vendor_id']).execute();
    await db.schema.createTable('api_keys')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('roles', 'text', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .addColumn('prefix', 'text', (c) => c.notNull().unique())
      .addColumn('expires_at', 'text')
      .addColumn('revoked_at', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createTable('credentials')
      .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
      .addColumn('connector', 'text', (c) => c.notNull())
      .addColumn('ciphertext', 'text', (c) => c.notNull())
      .addColumn('key_id', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('credentials_pk', ['tenant_id', 'connector'])
      .execute();
    await db.schema.createTable('entitlements')
      .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
      .addColumn('connector', 'text', (c) => c.notNull())
      .addColumn('tool_glob', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('entitlements_pk', ['tenant_id', 'connector', 'tool_glob'])
      .execute();
    await db.schema.createTable('quotas')
      .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('period', 'text', (c) => c.notNull())
      .addColumn('limit', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('quotas_pk', ['tenant_id', 'scope', 'period'])
      .execute();
    await db.schema.createTable('quota_counters')
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('period_start', 'text', (c) => c.notNull())
      .addColumn('used', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('quota_counters_pk', ['tenant_id', 'scope', 'period_start'])
      .execute();
    await db.schema.createTable('usage')
      .addColumn('call_id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('customer_id', 'text')
      .addColumn('subject', 'text')
      .addColumn('connector', 'text', (c) => c.notNull())
      .addColumn('tool', 'text', (c) => c.notNull())
      .addColumn('outcome', 'text', (c) => c.notNull())
      .addColumn('latency_ms', 'integer', (c) => c.notNull())
      .addColumn('upstream_bytes', 'integer', (c) => c.notNull())
      .addColumn('units', 'integer', (c) => c.notNull())
      .addColumn('at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('usage_tenant_at').on('usage').columns(['tenant_id', 'at']).execute();
    await db.schema.createTable('audit')
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('at', 'text', (c) => c.notNull())
      .addColumn('record', 'text', (c) => c.notNull())
      .addColumn('customer_id', 'text')
      .addColumn('subject', 'text')
      .addColumn('connector', 'text')
      .addColumn('tool', 'text')
      .addColumn('prev_hash', 'text', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('audit_pk', ['tenant_id', 'seq'])
      .execute();
    await db.schema.createIndex('audit_tenant_at').on('audit').columns(['tenant_id', 'at']).execute();
  },
  async down(db: Kysely<any>) {
    for (const t of ['audit', 'usage', 'quota_counters', 'quotas', 'entitlements', 'credentials', 'api_keys',
      'customer_vendor_ids', 'customers', 'tenants']) {
      await db.schema.dropTable(t).ifExists().execute();
    }
  },
};
