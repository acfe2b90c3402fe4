/**
 * A short-lived cache of read results, opt-in per tool, so that a model asking the same question
 * twice in a conversation does not cost the vendor a second request. A tool opts in in its spec
 * (`response.cacheMs`); the operator's rules (`serve --cache tool=ms`) win over the spec, to
 * shorten, turn off (0) or turn on a tool's cache. The key is the tenant, the customer, the tool,
 * the canonical arguments and the policy's obligations on the result: an entry is never served to
 * another tenant or another customer, whether or not the tool is customer-bound, nor to a caller
 * whose policy shapes the result differently. Only successful results are kept.
 */
import { LRUCache } from 'lru-cache';
import picomatch from 'picomatch';
import type { CallToolResult } from '../tool-call.ts';
import type { ToolModel } from '../model.ts';
import { canonicalJson, sha256Hex } from '../store/canonical.ts';

export interface ResponseCacheOptions {
  /** Tool name or glob -> how long its results may be reused, ms (0: never); over what the spec says. */
  tools?: Record<string, number>;
  /** Most entries held at once; the least recently used go first. Default 5,000. */
  maxEntries?: number;
}

export interface ResponseCache {
  /** The tool's TTL: the operator's rule for it, else its spec's; undefined when it is not cached. */
  ttlOf(tool: Pick<ToolModel, 'name' | 'shape'>): number | undefined;
  /** `obligations`: what the policy decided about the result (redactions, caps), part of the key. */
  key(tenantId: string, customerId: string | null, tool: string, args: Record<string, unknown>, obligations?: unknown): string;
  get(key: string): CallToolResult | undefined;
  set(key: string, result: CallToolResult, ttlMs: number): void;
}

/** Longest TTL accepted: the cache protects the vendor from repeats, it is not a data store. */
export const MAX_CACHE_TTL_MS = 10 * 60_000;

export function createResponseCache(options: ResponseCacheOptions): ResponseCache {
  const rules = Object.entries(options.tools ?? {}).map(([pattern, ttl]) => {
    if (!Number.isInteger(ttl) || ttl < 0 || ttl > MAX_CACHE_TTL_MS) {
      throw new RangeError(`response cache: the TTL of '${pattern}' must be a whole number of ms from 0 (not cached) to ${MAX_CACHE_TTL_MS}, got ${String(ttl)}`);
    }
    return { match: picomatch(pattern), ttl };
  });
  const operator = new Map<string, number | undefined>();
  const entries = new LRUCache<string, CallToolResult>({ max: options.maxEntries ?? 5_000, ttlAutopurge: false });
  return {
    ttlOf(tool) {
      if (!operator.has(tool.name)) operator.set(tool.name, rules.find((r) => r.match(tool.name))?.ttl);
      const ttl = operator.get(tool.name) ?? tool.shape.cacheMs;
      // A generated model is checked against the same bound; an older or hand-edited one is capped here.
      return ttl === undefined || ttl <= 0 ? undefined : Math.min(ttl, MAX_CACHE_TTL_MS);
    },
    key: (tenantId, customerId, tool, args, obligations) => sha256Hex(canonicalJson({ tenantId, customerId, tool, args, obligations: obligations ?? null })),
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
