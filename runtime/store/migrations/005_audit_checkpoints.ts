import type { Kysely, Migration } from 'kysely';
import { USAGE_GENESIS, usageRowHash, type UsageFields } from '../usage-chain.ts';

// Tamper evidence that does not trust the database: usage rows join a hash chain per tenant (the
// rows already stored are chained here, in time order), and signed checkpoints of every chain's
// head are kept in a table of their own. Portable DDL, like 001.
export const auditCheckpoints: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('usage').addColumn('seq', 'integer').execute();
    await db.schema.alterTable('usage').addColumn('prev_hash', 'text').execute();
    await db.schema.alterTable('usage').addColumn('hash', 'text').execute();
    const tenants = await db.selectFrom('usage').select('tenant_id').distinct().orderBy('tenant_id').execute();
    for (const { tenant_id } of tenants as Array<{ tenant_id: string }>) {
      const rows = await db.selectFrom('usage').selectAll().where('tenant_id', '=', tenant_id).orderBy('at').orderBy('call_id').execute();
      let prevHash = USAGE_GENESIS;
      let seq = 0;
      for (const row of rows) {
        seq += 1;
        const hash = usageRowHash(prevHash, seq, row as UsageFields);
        await db.updateTable('usage').set({ seq, prev_hash: prevHash, hash }).where('call_id', '=', row.call_id).execute();
        prevHash = hash;
      }
    }
    // Also the backstop against two writers forking a chain: the second insert of a seq fails.
    await db.schema.createIndex('usage_tenant_seq').on('usage').columns(['tenant_id', 'seq']).unique().execute();
    await db.schema.createTable('audit_checkpoints')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('chain', 'text')
      .addColumn('at', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('key_id', 'text', (c) => c.notNull())
      .addColumn('signature', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('audit_checkpoints_kind_chain').on('audit_checkpoints').columns(['kind', 'chain', 'at']).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('audit_checkpoints').ifExists().execute();
    await db.schema.dropIndex('usage_tenant_seq').ifExists().execute();
    for (const c of ['hash', 'prev_hash', 'seq']) await db.schema.alterTable('usage').dropColumn(c).execute();
  },
};
