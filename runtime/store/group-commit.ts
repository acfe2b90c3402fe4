/**
 * Group commit: work items that arrive while a transaction is being committed wait for the next
 * one, which runs them all. One fsync (SQLite, synchronous=FULL) or one commit round trip
 * (PostgreSQL) then serves many calls, while each caller's promise still resolves only after the
 * commit that holds its work: what a call writes before its answer is as durable as with one
 * transaction per call. One failing item is rolled back and rejected alone and the rest of its
 * batch commits.
 *
 * A batch first runs its items one after the other with no savepoints (two statements, and on
 * PostgreSQL two round trips, less per item), and rows of one kind that items defer go in as one
 * multi-row insert. Only when something fails is the whole transaction rolled back and the batch
 * run again with a savepoint around each item, each writing its own rows. Work therefore touches
 * nothing but the transaction it is given, and may run twice.
 */
import { sql, type Kysely } from 'kysely';
import { withWriteLock, type Store } from './db.ts';
import type { Schema } from './schema.ts';

/** What the items of one transaction share. */
export interface Batch {
  /**
   * Values read under the batch's locks (a chain's head) that later items of the batch may reuse
   * instead of reading them again. Emptied whenever anything is rolled back, so it never holds a
   * value the database no longer has.
   */
  memo: Map<string, unknown>;
  /**
   * Present while the items run together: `row` joins the others under `key`, and `write` inserts
   * them all in one statement after the last item, before the commit (the same `write` for a key).
   * Absent when each item runs under its own savepoint: the item then writes at once. A `write`
   * that throws sends the batch to that second run, so it may throw to refuse a batch it cannot
   * write as one.
   */
  defer?(key: string, row: unknown, write: (trx: Kysely<Schema>, rows: unknown[]) => Promise<void>): void;
}

export type Work<T> = (trx: Kysely<Schema>, batch: Batch) => Promise<T>;

export interface RunOptions {
  /**
   * False: the item's commit need not wait for the disk (see WriteLockOptions.durable). Such items
   * are committed apart from the durable ones, in their own transactions. Keep each resource (a
   * quota counter) to one kind of item, or the two kinds' transactions may wait on each other.
   */
  durable?: boolean;
}

export interface GroupCommit {
  /** Runs `work` in the next batch's transaction, holding the named write locks (see withWriteLock). */
  run<T>(locks: string[], work: Work<T>, options?: RunOptions): Promise<T>;
  /** Waits for the batches already queued. */
  drain(): Promise<void>;
}

interface Item {
  locks: string[];
  work: Work<unknown>;
  durable: boolean;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export function createGroupCommit(store: Store, options: { maxBatch?: number } = {}): GroupCommit {
  const maxBatch = options.maxBatch ?? 256;
  /** Every item in one transaction, deferred rows written once per kind; the first failure rolls all of it back. */
  async function together(items: Item[], trx: Kysely<Schema>): Promise<Outcome[]> {
    const deferred = new Map<string, { rows: unknown[]; write: (trx: Kysely<Schema>, rows: unknown[]) => Promise<void> }>();
    const batch: Batch = {
      memo: new Map(),
      defer(key, row, write) {
        const kind = deferred.get(key);
        if (kind) kind.rows.push(row);
        else deferred.set(key, { rows: [row], write });
      },
    };
    const outcomes: Outcome[] = [];
    for (const item of items) outcomes.push({ ok: true, value: await item.work(trx, batch) });
    for (const { rows, write } of deferred.values()) await write(trx, rows);
    return outcomes;
  }

  /** Each item under its own savepoint, writing at once: a failing one is rolled back alone. */
  async function apart(items: Item[], trx: Kysely<Schema>): Promise<Outcome[]> {
    const batch: Batch = { memo: new Map() };
    const outcomes: Outcome[] = [];
    for (const item of items) {
      await sql`savepoint item`.execute(trx);
      try {
        outcomes.push({ ok: true, value: await item.work(trx, batch) });
        await sql`release savepoint item`.execute(trx);
      } catch (error) {
        await sql`rollback to savepoint item`.execute(trx);
        await sql`release savepoint item`.execute(trx);
        batch.memo.clear();
        outcomes.push({ ok: false, error });
      }
    }
    return outcomes;
  }

  async function commit(batch: Item[], durable: boolean): Promise<void> {
    const locks = batch.flatMap((i) => i.locks);
    const inTransaction = (run: typeof together) => withWriteLock(store, locks, (trx) => run(batch, trx), { durable });
    const outcomes = await inTransaction(together).catch(() => inTransaction(apart));
    batch.forEach((item, i) => {
      const o = outcomes[i];
      if (o.ok) item.resolve(o.value);
      else item.reject(o.error);
    });
  }

  /**
   * One queue and its commit loop. Items that need not wait for the disk have a lane of their own,
   * beside the durable one: a call waiting for its quota counter is never held behind other calls'
   * durable commit (on PostgreSQL the two run at once; SQLite's one connection takes them in turn).
   */
  function lane(durable: boolean) {
    let queue: Item[] = [];
    let running: Promise<void> | undefined;
    async function loop(): Promise<void> {
      while (queue.length > 0) {
        const batch = queue.slice(0, maxBatch);
        queue = queue.slice(batch.length);
        // A failed commit (the database itself refused) fails every item of its batch, loudly.
        await commit(batch, durable).catch((error) => batch.forEach((item) => item.reject(error)));
      }
      running = undefined;
    }
    return {
      push(item: Item) {
        queue.push(item);
        // The batch starts after the I/O callbacks already due have run: calls whose requests
        // arrived together reach this point together and share one commit, at no added wait.
        running ??= new Promise<void>((started) => setImmediate(started)).then(loop);
      },
      async drain() {
        while (running) await running;
      },
    };
  }
  const lazy = lane(false);
  const durable = lane(true);

  return {
    run<T>(locks: string[], work: Work<T>, runOptions: RunOptions = {}): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const item = { locks, work, durable: runOptions.durable ?? true, resolve: resolve as (v: unknown) => void, reject };
        (item.durable ? durable : lazy).push(item);
      });
    },
    async drain() {
      await Promise.all([lazy.drain(), durable.drain()]);
    },
  };
}
