import { PostgresAdapter, sql, type Kysely, type Migration } from 'kysely';

/**
 * The tables every governed call reads (who a key is, its tenant, the customer and its vendor
 * ids, the tenant's grants, quotas and rate limits). Any change to them, by any process or any
 * tool (the CLI, the admin API, another instance, plain SQL), moves the one number in
 * settings_version, so a runtime that keeps these rows in memory knows with one statement per
 * call whether they are still what the store holds (runtime/store/settings-cache.ts).
 */
export const SETTINGS_TABLES = ['tenants', 'customers', 'customer_vendor_ids', 'api_keys', 'entitlements', 'quotas', 'rate_limits'] as const;

// Triggers, not the repositories: a write that does not go through them still counts. A later
// migration that rebuilds one of these tables must create its trigger again (a test checks them all).
export const settingsVersion: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('settings_version')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('version', 'bigint', (c) => c.notNull())
      .execute();
    await sql`insert into settings_version (id, version) values (1, 1)`.execute(db);
    if (db.getExecutor().adapter instanceof PostgresAdapter) {
      await sql.raw(`create function specgate_settings_changed() returns trigger language plpgsql as $$
        begin update settings_version set version = version + 1 where id = 1; return null; end $$`).execute(db);
      for (const table of SETTINGS_TABLES) {
        await sql.raw(`create trigger ${table}_settings_version after insert or update or delete or truncate on ${table}
          for each statement execute procedure specgate_settings_changed()`).execute(db);
      }
      return;
    }
    for (const table of SETTINGS_TABLES) {
      for (const event of ['insert', 'update', 'delete']) {
        await sql.raw(`create trigger ${table}_settings_version_${event} after ${event} on ${table}
          begin update settings_version set version = version + 1 where id = 1; end`).execute(db);
      }
    }
  },
  async down(db: Kysely<any>) {
    const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
    for (const table of SETTINGS_TABLES) {
      if (postgres) await sql.raw(`drop trigger if exists ${table}_settings_version on ${table}`).execute(db);
      else for (const event of ['insert', 'update', 'delete']) await sql.raw(`drop trigger if exists ${table}_settings_version_${event}`).execute(db);
    }
    if (postgres) await sql.raw('drop function if exists specgate_settings_changed()').execute(db);
    await db.schema.dropTable('settings_version').ifExists().execute();
  },
};
