/**
 * The audit records of requests refused at the HTTP edge, written through the store's group
 * commit before the answer leaves (like call records). A refusal whose credential verified goes to
 * its tenant's chain with the subject and key id, always in full: the caller is known and
 * accountable. Any other refusal goes to the gateway chain, which only a global operator reads.
 *
 * Anyone can send unauthenticated requests, so the gateway chain is guarded against flooding: per
 * source address, the first `perSource` refusals of each window are recorded in full, and at most
 * `total` full records are written per window across all sources. Past either limit a refusal is
 * counted, and when its window closes one summary record per source (`http.refused.suppressed`,
 * with the count and the codes) is written. Sources beyond `maxSources` in one window share the
 * summary of source `*`. An attacker thus writes at most `total + maxSources + 1` records per
 * window, and no refusal goes unrecorded: each is either a record or part of a count.
 */
import { appendAuditIn, auditLockKey, createGroupCommit, type AuditRecord, type Store } from '../store/index.ts';
import { GATEWAY_CHAIN } from '../governance/audit.ts';
import type { EdgeRefusal } from './edge.ts';

export interface EdgeAuditLimits {
  /** Length of a counting window, ms; default 60 000. */
  windowMs?: number;
  /** Full records per source address per window; default 20. */
  perSource?: number;
  /** Full records per window across all sources; default 1 000. */
  total?: number;
  /** Source addresses counted apart per window; default 10 000. */
  maxSources?: number;
}

export interface EdgeAuditor {
  /** Records (or counts) one refusal; resolves once what must be durable is. */
  record(refusal: EdgeRefusal): Promise<void>;
  /** Writes the summaries of windows that have closed (all of them with `all`). */
  flush(all?: boolean): Promise<void>;
  close(): Promise<void>;
}

interface Window {
  start: number;
  full: number;
  sources: Map<string, { full: number; suppressed: number; codes: Record<string, number> }>;
}

/** The record an edge refusal leaves: the fields the contract names, nulls left out. */
export function edgeRecord(r: EdgeRefusal): AuditRecord {
  return {
    event: 'http.refused', outcome: 'refused', step: r.step, code: r.code, reason: r.reason, status: r.status,
    ...(r.caller && { subject: r.caller.subject, keyId: r.caller.keyId }),
    remoteAddress: r.remoteAddress, credential: r.credential, ...(r.keyPrefix && { keyPrefix: r.keyPrefix }),
    requestId: r.requestId, method: r.method, path: r.path,
  };
}

export function createEdgeAuditor(store: Store, options: EdgeAuditLimits & { now?: () => Date } = {}): EdgeAuditor {
  const now = options.now ?? (() => new Date());
  const windowMs = options.windowMs ?? 60_000;
  const perSource = options.perSource ?? 20;
  const total = options.total ?? 1_000;
  const maxSources = options.maxSources ?? 10_000;
  const group = createGroupCommit(store);
  let current: Window | undefined;
  const closed: Window[] = [];

  const append = (chain: string, record: AuditRecord) =>
    group.run([auditLockKey(chain)], (trx, batch) => appendAuditIn(trx, chain, record, now().toISOString(), batch));

  function windowAt(t: number): Window {
    const start = t - (t % windowMs);
    if (!current || current.start !== start) {
      if (current) closed.push(current);
      current = { start, full: 0, sources: new Map() };
    }
    return current;
  }

  async function writeSummaries(w: Window): Promise<void> {
    for (const [remoteAddress, s] of w.sources) {
      if (s.suppressed === 0) continue;
      await append(GATEWAY_CHAIN, {
        event: 'http.refused.suppressed', outcome: 'refused', remoteAddress, count: s.suppressed, codes: s.codes,
        windowStart: new Date(w.start).toISOString(), windowEnd: new Date(w.start + windowMs).toISOString(),
      });
    }
  }

  async function flush(all = false): Promise<void> {
    if (all && current) {
      closed.push(current);
      current = undefined;
    } else if (current && now().getTime() >= current.start + windowMs) {
      closed.push(current);
      current = undefined;
    }
    while (closed.length > 0) await writeSummaries(closed.shift()!);
  }

  // Closed windows are summarised when the next refusal arrives or on this timer, whichever first.
  const timer = setInterval(() => void flush().catch(() => {}), windowMs);
  timer.unref();

  return {
    async record(refusal) {
      if (refusal.caller) return void (await append(refusal.caller.tenantId, edgeRecord(refusal)));
      const w = windowAt(now().getTime());
      if (closed.length > 0) void flush().catch(() => {});
      let source = w.sources.get(refusal.remoteAddress);
      if (!source) {
        const key = w.sources.size < maxSources ? refusal.remoteAddress : '*';
        source = w.sources.get(key) ?? { full: 0, suppressed: 0, codes: {} };
        w.sources.set(key, source);
      }
      if (source.full < perSource && w.full < total) {
        source.full++;
        w.full++;
        await append(GATEWAY_CHAIN, edgeRecord(refusal));
        return;
      }
      source.suppressed++;
      source.codes[refusal.code] = (source.codes[refusal.code] ?? 0) + 1;
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush(true);
      await group.drain();
    },
  };
}
