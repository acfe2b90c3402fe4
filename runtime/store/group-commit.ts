/**
 * Group commit: work items that arrive while a transaction is being committed wait for the next
 * one, which runs them all. One fsync (SQLite, synchronous=FULL) or one commit round trip
 * (PostgreSQL) then serves many calls, while each caller's promise still resolves only after the
 * commit that holds its work: what a call writes before its answer is as durable as with one
 * transaction per call. Each item runs under a savepoint, so one failing item is rolled back and
 * rejected alone and the rest of its batch commits.
 */
import { sql, type Kysely } from 'kysely';
import { withWriteLock, type Store } from './db.ts';
import type { Schema } from './schema.ts';

export type Work<T> = (trx: Kysely<Schema>) => Promise<T>;

export interface GroupCommit {
  /** Runs `work` in the next batch's transaction, holding the named write locks (see withWriteLock). */
  run<T>(locks: string[], work: Work<T>): Promise<T>;
  /** Waits for the batches already queued. */
  drain(): Promise<void>;
}

interface Item {
  locks: string[];
  work: Work<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

export function createGroupCommit(store: Store, options: { maxBatch?: number } = {}): GroupCommit {
  const maxBatch = options.maxBatch ?? 256;
  let queue: Item[] = [];
  let running: Promise<void> | undefined;

  async function commit(batch: Item[]): Promise<void> {
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    await withWriteLock(store, batch.flatMap((i) => i.locks), async (trx) => {
      for (const item of batch) {
        await sql`savepoint item`.execute(trx);
        try {
          outcomes.push({ ok: true, value: await item.work(trx) });
          await sql`release savepoint item`.execute(trx);
        } catch (error) {
          await sql`rollback to savepoint item`.execute(trx);
          await sql`release savepoint item`.execute(trx);
          outcomes.push({ ok: false, error });
        }
      }
    });
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
    run<T>(locks: string[], work: Work<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ locks, work, resolve: resolve as (v: unknown) => void, reject });
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
