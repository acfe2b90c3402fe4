/**
 * Re-delivered calls. A client that may send one tools/call twice (a retry after a dropped
 * connection) names the call with an `Idempotency-Key` header, or `_meta["io.specgate/idempotency-key"]`
 * on stdio. Scoped to the caller's tenant and credential (the API key's id, or a token's issuer and
 * subject), the key becomes the call id, so metering and audit see one execution.
 *
 * A key stands for one call: this tool, for this customer, with these arguments (canonical JSON).
 * A delivery that names the key with anything else is refused, never answered with the first
 * call's result. The call path (runtime/call-path.ts) runs every delivery through authentication,
 * tenant, customer, entitlement and policy before it gets here, so a replay is only ever answered
 * to a caller who may make that call now.
 *
 * A second delivery while the first runs waits for it; one after it gets the same result from this
 * instance's memory (an LRU with a time limit). A delivery whose result this instance no longer
 * holds (it went to another instance, or the process restarted) is not run again: the store says
 * the call already ran, and the answer says so.
 */
import { LRUCache } from 'lru-cache';
import type { CallToolResult } from '../tool-call.ts';
import { canonicalJson, sha256Hex } from '../store/canonical.ts';
import type { Identity } from './authenticate.ts';
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

/** Whose keys these are: one API key, or one token subject of one issuer. */
export function keyOwner(identity: Identity): string {
  return identity.method === 'oidc' ? `oidc\n${identity.issuer ?? ''}\n${identity.subject}` : `key\n${identity.keyId}`;
}

/** The one call a key stands for. */
export interface CallBinding {
  tool: string;
  customer: string | null;
  arguments: Record<string, unknown>;
}

/** When the store already holds the call's usage row: when it ran, for which tool and customer. */
export interface RanCall { at: string; tool: string; customerId: string | null }

export interface Idempotency {
  /** The call id a key stands for: the same for every delivery with this key by this credential of this tenant. */
  callId(tenantId: string, owner: string, key: string): string;
  /**
   * Runs `execute` for the first delivery of `callId`; a later delivery of the same call shares its
   * result (`replayed: true`). Throws a Refusal when the key was used for another call.
   */
  once(callId: string, call: CallBinding, execute: () => Promise<CallToolResult>): Promise<{ result: CallToolResult; replayed: boolean }>;
}

export interface IdempotencyOptions {
  ranCall(callId: string): Promise<RanCall | undefined>;
  /** Results held for replay; default 10 000. */
  max?: number;
  /** How long a result is held; default 10 minutes. */
  ttlMs?: number;
}

interface Held { tool: string; customer: string | null; argsHash: string; result: Promise<{ result: CallToolResult; executed: boolean }> }

const text = (message: string): CallToolResult => ({ content: [{ type: 'text', text: message }], isError: true });

function reused(what: string): Refusal {
  return new Refusal('request', 'idempotency-key-reused',
    `Refused: this Idempotency-Key was already used for a call with ${what}; a key names one call (tool, customer and arguments), so use a new key for a new call`, 400);
}

/** What differs between the call a key was first used for and this one, if anything. */
function difference(first: { tool: string; customer: string | null; argsHash?: string }, call: { tool: string; customer: string | null; argsHash: string }): string | undefined {
  if (first.tool !== call.tool) return 'another tool';
  if (first.customer !== call.customer) return 'another customer';
  if (first.argsHash !== undefined && first.argsHash !== call.argsHash) return 'other arguments';
  return undefined;
}

export function createIdempotency(options: IdempotencyOptions): Idempotency {
  const held = new LRUCache<string, Held>({ max: options.max ?? 10_000, ttl: options.ttlMs ?? 10 * 60_000 });
  return {
    // The parts as a JSON array: no tenant, owner or key can pass for another split of the same text,
    // whatever characters the modules that check them let through.
    callId: (tenantId, owner, key) => `idem-${sha256Hex(JSON.stringify([tenantId, owner, key])).slice(0, 40)}`,

    async once(callId, call, execute) {
      const mine = { tool: call.tool, customer: call.customer, argsHash: sha256Hex(canonicalJson(call.arguments)) };
      const seen = held.get(callId);
      if (seen) {
        const differs = difference(seen, mine);
        if (differs) throw reused(differs);
        return { result: (await seen.result).result, replayed: true };
      }
      // Held before the first await, so a delivery arriving meanwhile waits for this one.
      const result = (async () => {
        const ran = await options.ranCall(callId);
        if (!ran) return { result: await execute(), executed: true };
        const differs = difference({ tool: ran.tool, customer: ran.customerId }, mine);
        if (differs) throw reused(differs);
        return { result: text(`This call (same Idempotency-Key) already ran at ${ran.at}; its result is no longer held here, so it is not run again`), executed: false };
      })();
      held.set(callId, { ...mine, result });
      // A failure that produced no answer may be retried with the same key.
      result.catch(() => held.delete(callId));
      const outcome = await result;
      return { result: outcome.result, replayed: !outcome.executed };
    },
  };
}
