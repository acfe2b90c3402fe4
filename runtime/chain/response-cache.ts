/**
 * A short-lived cache of read results, opt-in per tool, so that a model asking the same question
 * twice in a conversation does not cost the vendor a second request. The key is the tenant, the
 * customer, the tool and the canonical arguments: an entry is never served to another tenant or
 * another customer, whether or not the tool is customer-bound. Only successful results are kept.
 */
import { LRUCache } from 'lru-cache';
import picomatch from 'picomatch';
import type { CallToolResult } from '../tool-call.ts';
import { canonicalJson, sha256Hex } from '../store/canonical.ts';

export interface ResponseCacheOptions {
  /** Tool name or glob -> how long its results may be reused, ms; a tool matching none is not cached. */
  tools: Record<string, number>;
  /** Most entries held at once; the least recently used go first. Default 5,000. */
  maxEntries?: number;
}

export interface ResponseCache {
  /** The tool's TTL, or undefined when it is not cached. */
  ttlOf(tool: string): number | undefined;
  key(tenantId: string, customerId: string | null, tool: string, args: Record<string, unknown>): string;
  get(key: string): CallToolResult | undefined;
  set(key: string, result: CallToolResult, ttlMs: number): void;
}

/** Longest TTL accepted: the cache protects the vendor from repeats, it is not a data store. */
export const MAX_CACHE_TTL_MS = 10 * 60_000;

export function createResponseCache(options: ResponseCacheOptions): ResponseCache {
  const rules = Object.entries(options.tools).map(([pattern, ttl]) => {
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_CACHE_TTL_MS) {
      throw new RangeError(`response cache: the TTL of '${pattern}' must be a whole number of ms from 1 to ${MAX_CACHE_TTL_MS}, got ${String(ttl)}`);
    }
    return { match: picomatch(pattern), ttl };
  });
  const ttls = new Map<string, number | undefined>();
  const entries = new LRUCache<string, CallToolResult>({ max: options.maxEntries ?? 5_000, ttlAutopurge: false });
  return {
    ttlOf(tool) {
      if (!ttls.has(tool)) ttls.set(tool, rules.find((r) => r.match(tool))?.ttl);
      return ttls.get(tool);
    },
    key: (tenantId, customerId, tool, args) => sha256Hex(canonicalJson({ tenantId, customerId, tool, args })),
    // A copy each way: a caller that edits its result must not edit the cached one.
    get: (key) => {
      const hit = entries.get(key);
      return hit && structuredClone(hit);
    },
    set: (key, result, ttlMs) => {
      if (!result.isError) entries.set(key, structuredClone(result), { ttl: ttlMs });
    },
  };
}
