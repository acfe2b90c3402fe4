import { sql, type Kysely, type Migration } from 'kysely';

// A customer may have several ids in one vendor (a Datto RMM site has a siteUid and a siteId):
// each is recorded under a name, '' being the unnamed default. The primary key gains the name,
// which SQLite cannot alter in place, so the table is rebuilt (portable DDL, like 001).
export const namedVendorIds: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('customer_vendor_ids_named')
      .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id').onDelete('cascade'))
      .addColumn('connector', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('vendor_id', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('customer_vendor_ids_named_pk', ['customer_id', 'connector', 'name'])
      .execute();
    await sql`insert into customer_vendor_ids_named (customer_id, connector, name, vendor_id) select customer_id, connector, '', vendor_id from customer_vendor_ids`.execute(db);
    await db.schema.dropIndex('customer_vendor_ids_lookup').ifExists().execute();
    await db.schema.dropTable('customer_vendor_ids').execute();
    await db.schema.alterTable('customer_vendor_ids_named').renameTo('customer_vendor_ids').execute();
    await db.schema.createIndex('customer_vendor_ids_lookup').on('customer_vendor_ids')
      .columns(['connector', 'vendor_id']).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.createTable('customer_vendor_ids_unnamed')
      .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id').onDelete('cascade'))
      .addColumn('connector', 'text', (c) => c.notNull())
      .addColumn('vendor_id', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('customer_vendor_ids_pk', ['customer_id', 'connector'])
      .execute();
    await sql`insert into customer_vendor_ids_unnamed (customer_id, connector, vendor_id) select customer_id, connector, vendor_id from customer_vendor_ids where name = ''`.execute(db);
    await db.schema.dropIndex('customer_vendor_ids_lookup').ifExists().execute();
    await db.schema.dropTable('customer_vendor_ids').execute();
    await db.schema.alterTable('customer_vendor_ids_unnamed').renameTo('customer_vendor_ids').execute();
    await db.schema.createIndex('customer_vendor_ids_lookup').on('customer_vendor_ids')
      .columns(['connector', 'vendor_id']).execute();
  },
};
