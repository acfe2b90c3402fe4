/**
 * Writes audit checkpoints while the runtime serves: every interval and once more on close (the
 * graceful shutdown), so the records an attacker with database access could cut unnoticed are at
 * most those of the last interval (see docs/audit-integrity.md).
 */
import type { Logger } from 'pino';
import type { Store } from './db.ts';
import { MISSING_AUDIT_KEYS, type AuditKeys } from './audit-keys.ts';
import { checkpointsRepo } from './checkpoints.ts';

/** Seconds between checkpoints (default 60). */
export const AUDIT_CHECKPOINT_INTERVAL_ENV = 'SPECGATE_AUDIT_CHECKPOINT_INTERVAL';
const DEFAULT_INTERVAL_MS = 60_000;

export interface CheckpointSchedule {
  /** Writes a checkpoint now (after one already under way). */
  checkpoint(): Promise<void>;
  /** Stops the timer and writes the last checkpoint. */
  close(): Promise<void>;
}

/** The interval from SPECGATE_AUDIT_CHECKPOINT_INTERVAL; a bad value is refused, naming the variable. */
export function checkpointIntervalMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[AUDIT_CHECKPOINT_INTERVAL_ENV];
  if (raw === undefined || raw === '') return DEFAULT_INTERVAL_MS;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 1 || seconds > 86_400) {
    throw new Error(`${AUDIT_CHECKPOINT_INTERVAL_ENV}="${raw}": must be a number of seconds from 1 to 86400`);
  }
  return Math.round(seconds * 1000);
}

/** Without keys (or with public keys only) nothing can be signed: a loud warning, and no schedule. */
export function startCheckpointSchedule(options: { store: Store; keys: AuditKeys | undefined; logger: Logger; intervalMs?: number }): CheckpointSchedule {
  const { store, keys, logger } = options;
  if (!keys?.signer) {
    logger.warn(keys ? `audit keys from ${keys.source} are public keys only: audit checkpoints are not written` : MISSING_AUDIT_KEYS);
    return { checkpoint: async () => undefined, close: async () => undefined };
  }
  const repo = checkpointsRepo(store);
  let last: Promise<void> = Promise.resolve();
  const run = (): Promise<void> => {
    last = last.then(async () => {
      try {
        const r = await repo.write(keys);
        if (r.written) logger.info({ chains: r.chains, changed: r.changed, set: r.set }, 'audit checkpoint written');
      } catch (error) {
        // Loud but not fatal: the calls are still recorded, only the signed bound lags.
        logger.error({ err: (error as Error).message }, 'audit checkpoint failed');
      }
    });
    return last;
  };
  const timer = setInterval(() => void run(), options.intervalMs ?? DEFAULT_INTERVAL_MS);
  timer.unref();
  return {
    checkpoint: run,
    async close() {
      clearInterval(timer);
      await run();
    },
  };
}
