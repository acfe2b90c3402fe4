/**
 * Group commit: work items that arrive while a transaction is being committed wait for the next
 * one, which runs them all. One fsync (SQLite, synchronous=FULL) or one commit round trip
 * (PostgreSQL) then serves many calls, while each caller's promise still resolves only after the
 * commit that holds its work: what a call writes before its answer is as durable as with one
 * transaction per call. One failing item is rolled back and rejected alone and the rest of its
 * batch commits.
 *
 * A batch first runs its items one after the other with no savepoints (two statements, and on
 * PostgreSQL two round trips, less per item). Only when an item fails is the whole transaction
 * rolled back and the batch run again with a savepoint around each item. Work therefore touches
 * nothing but the transaction it is given, and may run twice.
 */
import { sql, type Kysely } from 'kysely';
import { withWriteLock, type Store } from './db.ts';
import type { Schema } from './schema.ts';

/**
 * What the items of one transaction share: values read under the batch's locks (a chain's head)
 * that later items of the batch may reuse instead of reading them again. Emptied whenever anything
 * is rolled back, so it never holds a value the database no longer has.
 */
export type BatchMemo = Map<string, unknown>;

export type Work<T> = (trx: Kysely<Schema>, memo: BatchMemo) => Promise<T>;

export interface RunOptions {
  /**
   * False: the item's commit need not wait for the disk (see WriteLockOptions.durable). A batch is
   * committed durably when any of its items asks for it.
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
  let queue: Item[] = [];
  let running: Promise<void> | undefined;

  /** Every item in one transaction; the first failure rolls all of it back. */
  async function together(batch: Item[], trx: Kysely<Schema>): Promise<Outcome[]> {
    const memo: BatchMemo = new Map();
    const outcomes: Outcome[] = [];
    for (const item of batch) outcomes.push({ ok: true, value: await item.work(trx, memo) });
    return outcomes;
  }

  /** Each item under its own savepoint: a failing one is rolled back alone. */
  async function apart(batch: Item[], trx: Kysely<Schema>): Promise<Outcome[]> {
    const memo: BatchMemo = new Map();
    const outcomes: Outcome[] = [];
    for (const item of batch) {
      await sql`savepoint item`.execute(trx);
      try {
        outcomes.push({ ok: true, value: await item.work(trx, memo) });
        await sql`release savepoint item`.execute(trx);
      } catch (error) {
        await sql`rollback to savepoint item`.execute(trx);
        await sql`release savepoint item`.execute(trx);
        memo.clear();
        outcomes.push({ ok: false, error });
      }
    }
    return outcomes;
  }

  async function commit(batch: Item[]): Promise<void> {
    const locks = batch.flatMap((i) => i.locks);
    const durable = batch.some((i) => i.durable);
    const inTransaction = (run: typeof together) => withWriteLock(store, locks, (trx) => run(batch, trx), { durable });
    // A single item gains nothing from a second attempt: its failure is its own.
    const outcomes = batch.length === 1
      ? await inTransaction(together).catch((error: unknown): Outcome[] => [{ ok: false, error }])
      : await inTransaction(together).catch(() => inTransaction(apart));
    batch.forEach((item, i) => {
      const o = outcomes[i];
      if (o.ok) item.resolve(o.value);
      else item.reject(o.error);
    });
  }

  async function loop(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(batch.length);
      // A failed commit (the database itself refused) fails every item of its batch, loudly.
      await commit(batch).catch((error) => batch.forEach((item) => item.reject(error)));
    }
    running = undefined;
  }

  return {
    run<T>(locks: string[], work: Work<T>, runOptions: RunOptions = {}): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ locks, work, durable: runOptions.durable ?? true, resolve: resolve as (v: unknown) => void, reject });
        // The batch starts after the I/O callbacks already due have run: calls whose requests
        // arrived together reach this point together and share one commit, at no added wait.
        running ??= new Promise<void>((started) => setImmediate(started)).then(loop);
      });
    },
    async drain() {
      while (running) await running;
    },
  };
}
