/**
 * Re-delivered calls. A client that may send one tools/call twice (a retry after a dropped
 * connection) names the call with an `Idempotency-Key` header, or `_meta["io.specgate/idempotency-key"]`
 * on stdio. Scoped to the caller's tenant and identity, the key becomes the call id, so metering and
 * audit see one execution. A second delivery while the first runs waits for it; one after it gets
 * the same result from this instance's memory (an LRU with a time limit). A delivery whose result
 * this instance no longer holds (it went to another instance, or the process restarted) is not run
 * again: the store says the call already ran, and the answer says so.
 */
import { LRUCache } from 'lru-cache';
import type { CallToolResult } from '../call.ts';
import { canonicalJson, sha256Hex } from '../store/canonical.ts';
import { Refusal, type GovernanceRequest } from './refusal.ts';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
const IDEMPOTENCY_META = 'io.specgate/idempotency-key';
// Visible ASCII without spaces, as HTTP header values and log lines can carry them unescaped.
const KEY = /^[\x21-\x7e]{1,255}$/;

/** The caller's key for this call, if it sent one; a malformed key is refused rather than ignored. */
export function idempotencyKey(req: GovernanceRequest): string | undefined {
  const header = req.headers[IDEMPOTENCY_HEADER];
  const meta = req.meta?.[IDEMPOTENCY_META];
  if (header !== undefined && meta !== undefined && header !== meta) {
    throw new Refusal('request', 'idempotency-key-mismatch', `Refused: the Idempotency-Key header and _meta["${IDEMPOTENCY_META}"] name different keys`, 400);
  }
  const key = header ?? meta;
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || !KEY.test(key)) {
    throw new Refusal('request', 'bad-idempotency-key', 'Refused: an Idempotency-Key must be 1 to 255 visible ASCII characters without spaces', 400);
  }
  return key;
}

export interface Idempotency {
  /** The call id a key stands for: the same for every delivery by this identity of this tenant. */
  callId(tenantId: string, subject: string, key: string): string;
  /** Runs `execute` for the first delivery of `callId`; later deliveries (`first: false`) share its result. */
  once(callId: string, args: Record<string, unknown>, execute: () => Promise<CallToolResult>): { first: boolean; result: Promise<CallToolResult> };
}

export interface IdempotencyOptions {
  /** When the store already holds this call's usage row: the time it ran. */
  ranAt(callId: string): Promise<string | undefined>;
  /** Results held for replay; default 10 000. */
  max?: number;
  /** How long a result is held; default 10 minutes. */
  ttlMs?: number;
}

interface Held { argsHash: string; result: Promise<CallToolResult> }

const text = (message: string): CallToolResult => ({ content: [{ type: 'text', text: message }], isError: true });

export function createIdempotency(options: IdempotencyOptions): Idempotency {
  const held = new LRUCache<string, Held>({ max: options.max ?? 10_000, ttl: options.ttlMs ?? 10 * 60_000 });
  return {
    callId: (tenantId, subject, key) => `idem-${sha256Hex(`${tenantId}\n${subject}\n${key}`).slice(0, 40)}`,

    once(callId, args, execute) {
      const argsHash = sha256Hex(canonicalJson(args));
      const seen = held.get(callId);
      if (seen) {
        return {
          first: false,
          result: seen.argsHash === argsHash ? seen.result
            : Promise.resolve(text('Refused: this Idempotency-Key was already used for a call with other arguments; use a new key for a new call')),
        };
      }
      // Held before the first await, so a delivery arriving meanwhile waits for this one.
      const result = (async () => {
        const at = await options.ranAt(callId);
        if (at) return text(`This call (same Idempotency-Key) already ran at ${at}; its result is no longer held here, so it is not run again`);
        return execute();
      })();
      held.set(callId, { argsHash, result });
      // A failure that produced no answer may be retried with the same key.
      result.catch(() => held.delete(callId));
      return { first: true, result };
    },
  };
}
