import type { Kysely, Migration } from 'kysely';

// The credential broker lists a tenant's credentials (connector, kind, key id) without opening
// them, so listing needs no master key; the kind is the one detail not already in a column.
export const credentialKind: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('credentials').addColumn('kind', 'text', (c) => c.notNull().defaultTo('')).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.alterTable('credentials').dropColumn('kind').execute();
  },
};
