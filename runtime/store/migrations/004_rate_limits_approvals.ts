import type { Kysely, Migration } from 'kysely';

// Per-second rate limits and the approval requests that `require_approval` policy rules create.
// Portable DDL, like 001.
export const rateLimitsApprovals: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('rate_limits')
      .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
      // 'tenant': all of the tenant's calls together; 'identity': each subject of the tenant on its own.
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('per_second', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('rate_limits_pk', ['tenant_id', 'scope'])
      .execute();
    await db.schema.createTable('approvals')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('customer_id', 'text')
      .addColumn('connector', 'text', (c) => c.notNull())
      .addColumn('tool', 'text', (c) => c.notNull())
      // sha256 of the canonical arguments: an approval covers exactly the call that was reviewed.
      .addColumn('arguments_hash', 'text', (c) => c.notNull())
      .addColumn('arguments', 'text', (c) => c.notNull())
      .addColumn('decision_id', 'text', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('requested_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .addColumn('decided_at', 'text')
      .addColumn('decided_by', 'text')
      .addColumn('note', 'text')
      .addColumn('used_by_call', 'text')
      .execute();
    await db.schema.createIndex('approvals_lookup').on('approvals')
      .columns(['tenant_id', 'subject', 'tool', 'arguments_hash', 'status']).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('approvals').ifExists().execute();
    await db.schema.dropTable('rate_limits').ifExists().execute();
  },
};
