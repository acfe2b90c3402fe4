import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';
import type pg from 'pg';
import { Kysely, PostgresDialect, SqliteDialect, sql, type LogEvent, type SqliteDatabase } from 'kysely';
import { LRUCache } from 'lru-cache';
import type { Schema } from './schema.ts';
import { migrateToLatest } from './migrations/index.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface Store {
  db: Kysely<Schema>;
  dialect: Dialect;
  close(): Promise<void>;
}

export const DEFAULT_STORE_URL = 'sqlite:.specgate/specgate.db';

export interface OpenStoreOptions {
  /** Apply pending migrations before returning (default true: one command starts everything). */
  migrate?: boolean;
  /** PostgreSQL pool size (default 10). */
  poolSize?: number;
  /**
   * Whether a store that does not exist yet may be created (default true). False: a SQLite file
   * that is not there, or a PostgreSQL database without specgate's tables, is an error naming
   * the resolved location, so a mistyped or relative path never yields a new, empty store. The
   * CLI passes false unless the operator gives --create-store.
   */
  create?: boolean;
  /** Told the text of every statement the store runs (counting them: tests and diagnostics). */
  onQuery?: (sql: string) => void;
}

/** Refused to open a store that does not exist (OpenStoreOptions.create false). */
export class StoreNotFoundError extends Error {
  override name = 'StoreNotFoundError';
}

/** A PostgreSQL URL without its password, fit for an error message. */
function withoutPassword(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://…';
  }
}

/** Whether specgate's migrations ever ran here (Kysely's migration table exists). */
async function hasSchema(store: Store): Promise<boolean> {
  const tables = await store.db.introspection.getTables({ withInternalKyselyTables: true });
  return tables.some((t) => t.name === 'kysely_migration');
}

/**
 * Opens `sqlite:<path>` (`sqlite::memory:` for an in-memory database) or `postgres://…` /
 * `postgresql://…`. Bad URLs are refused with the URL named.
 */
export async function openStore(url: string = DEFAULT_STORE_URL, opts: OpenStoreOptions = {}): Promise<Store> {
  const create = opts.create ?? true;
  if (!create && url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    if (file && file !== ':memory:' && !fs.existsSync(path.resolve(file))) {
      throw new StoreNotFoundError(`store ${path.resolve(file)} does not exist (from "${url}"): check the path, or pass --create-store to create a new, empty store there`);
    }
  }
  const log = opts.onQuery && logQueries(opts.onQuery);
  const store = url.startsWith('sqlite:') ? openSqlite(url.slice('sqlite:'.length), log)
    : /^postgres(ql)?:\/\//.test(url) ? openPostgres(url, opts.poolSize ?? 10, log)
    : null;
  if (!store) throw new Error(`store URL "${url}" is not supported: use sqlite:<path>, sqlite::memory: or postgres://user@host:port/db`);
  if (!create && store.dialect === 'postgres') {
    let found: boolean;
    try { found = await hasSchema(store); } catch (err) { await store.close(); throw err; }
    if (!found) {
      await store.close();
      throw new StoreNotFoundError(`store ${withoutPassword(url)} has no specgate tables: check the URL, or pass --create-store to create them there`);
    }
  }
  if (opts.migrate ?? true) {
    try { await migrateToLatest(store.db); } catch (err) { await store.close(); throw err; }
  }
  return store;
}

type Logger = (event: LogEvent) => void;

function logQueries(onQuery: (sql: string) => void): Logger {
  return (event) => onQuery(event.query.sql);
}

// Each driver loads when a store of its kind opens: a process serving without a store, or over one
// kind, never loads the other.
const require = createRequire(import.meta.url);

function openSqlite(file: string, log?: Logger): Store {
  if (!file) throw new Error('store URL "sqlite:" names no file: use sqlite:<path> or sqlite::memory:');
  const memory = file === ':memory:';
  if (!memory) fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const database = new (require('better-sqlite3') as typeof Database)(file);
  // WAL lets readers run beside the writer; FULL syncs each commit so a metering or audit row
  // written before the answer survives a power cut; busy_timeout makes a second process wait
  // for the write lock instead of failing at once.
  if (!memory) database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  database.pragma('busy_timeout = 5000');
  database.pragma('foreign_keys = ON');
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: withStatementCache(database) }), ...(log && { log }) });
  return { db, dialect: 'sqlite', close: () => db.destroy() };
}

/**
 * Kysely's SQLite driver prepares every query anew; the chain runs the same few statements on
 * every call, so compiled statements are kept by SQL text. Safe because Kysely's single SQLite
 * connection runs one query at a time.
 */
function withStatementCache(database: Database.Database): SqliteDatabase {
  const statements = new LRUCache<string, Database.Statement>({ max: 500 });
  return {
    close: () => database.close(),
    prepare(text: string) {
      let stmt = statements.get(text);
      if (!stmt) statements.set(text, stmt = database.prepare(text));
      return stmt;
    },
  };
}

function openPostgres(url: string, max: number, log?: Logger): Store {
  const pool = new (require('pg') as typeof pg).Pool({ connectionString: url, max });
  const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }), ...(log && { log }) });
  return { db, dialect: 'postgres', close: () => db.destroy() };
}

export interface WriteLockOptions {
  /**
   * False: the commit does not wait for the disk (SQLite synchronous=NORMAL, PostgreSQL
   * synchronous_commit=off for this transaction). It is still atomic, and it becomes durable with
   * the next durable commit, since both databases make their log durable in order. Only for writes
   * that a later durable commit depends on (a call's quota counter, before the call's usage and audit).
   */
  durable?: boolean;
}

/**
 * Runs `fn` in a transaction that holds the write lock(s) named `key` from its first statement, so
 * read-then-write sequences (the audit chain head) cannot interleave across processes or
 * runtime instances. SQLite: BEGIN IMMEDIATE (takes the database write lock up front; a deferred
 * BEGIN would fail with SQLITE_BUSY when upgrading a stale read snapshot). PostgreSQL: a
 * transaction-scoped advisory lock on the key's hash, released by commit or rollback.
 */
/** Commits the open transaction after `fn`, or rolls it back when `fn` throws (and rethrows). */
async function committed<T>(conn: Kysely<Schema>, fn: () => Promise<T>): Promise<T> {
  try {
    const out = await fn();
    await sql`commit`.execute(conn);
    return out;
  } catch (err) {
    await sql`rollback`.execute(conn).catch(() => undefined);
    throw err;
  }
}

export async function withWriteLock<T>(store: Store, key: string | string[], fn: (trx: Kysely<Schema>) => Promise<T>, options: WriteLockOptions = {}): Promise<T> {
  const durable = options.durable ?? true;
  if (store.dialect === 'postgres') {
    // Several keys (a batch touching several chains) are locked in sorted order, so two batches
    // can never each hold one key while waiting for the other's.
    const keys = [...new Set(typeof key === 'string' ? [key] : key)].sort();
    return store.db.connection().execute(async (conn) => {
      // One round trip: a parameterless text is sent as one simple query, however many statements.
      await sql.raw(durable ? 'begin' : 'begin; set local synchronous_commit = off').execute(conn);
      return committed(conn, async () => {
        for (const k of keys) await sql`select pg_advisory_xact_lock(hashtextextended(${k}, 0))`.execute(conn);
        return fn(conn);
      });
    });
  }
  // Kysely's SQLite driver holds one connection per instance, so this also serialises callers in
  // this process; the raw BEGIN IMMEDIATE covers other processes on the same file.
  return store.db.connection().execute(async (conn) => {
    // The connection's setting applies to its commits (WAL mode: NORMAL skips the commit's fsync).
    if (!durable) await sql`pragma synchronous = NORMAL`.execute(conn);
    try {
      await sql`begin immediate`.execute(conn);
      return await committed(conn, () => fn(conn));
    } finally {
      if (!durable) await sql`pragma synchronous = FULL`.execute(conn);
    }
  });
}
