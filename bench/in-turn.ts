/**
 * Several load targets measured in one run: each is checked for a right answer, warmed up, then
 * loaded in alternating rounds (so that a change in the machine's other load hits them alike),
 * and checked again. Figures are printed as ratios to the first target, the baseline.
 */
import { describeMeasured, summarize, type Measured, type Sample } from './load.ts';
import type { BenchOptions } from './options.ts';
import type { Row } from './report.ts';
import { round } from './stats.ts';

export const CONNECTIONS = 10;

export interface Contender {
  key: string;
  label: string;
  url: string;
  /** The target's process, when the bench started it (profiles are taken from it). */
  pid?: number;
  /** What a request must carry beyond the MCP headers (API key, customer). */
  headers: Record<string, string>;
  /** Latency target as a multiple of the baseline's, when there is one. */
  targetRatio?: number;
  /** Throws unless the target answers right (the upstream's items, not a fast error). */
  check(): Promise<void>;
  /** One load run at CONNECTIONS concurrent callers; throws on a failed call unless tolerant. */
  load(seconds: number, tolerateErrors: boolean): Promise<Sample>;
}

export interface Ratios { mean: number; p50: number; p99: number; throughput: number }

/** Latency as a multiple of the baseline's (higher is slower); throughput as baseline / target. */
export function ratios(baseline: Measured, m: Measured): Ratios {
  return {
    mean: round(m.latencyMs.mean / baseline.latencyMs.mean),
    p50: round(m.latencyMs.p50 / baseline.latencyMs.p50),
    p99: round(m.latencyMs.p99 / baseline.latencyMs.p99),
    throughput: round(baseline.requestsPerSecond / m.requestsPerSecond),
  };
}

export interface InTurnResult { seconds: number; measured: Array<{ contender: Contender; measured: Measured }> }

export async function measureInTurn(contenders: Contender[], options: BenchOptions, log: (line: string) => void): Promise<InTurnResult> {
  for (const c of contenders) await c.check();
  // Tolerant: a cold first call may outlast a short warm-up; the checks around the rounds guard correctness.
  const warmup = options.short ? 1 : 2;
  for (const c of contenders) await c.load(warmup, true);
  const rounds = options.short ? 1 : 2;
  const seconds = Math.max(1, Math.round(options.loadSeconds / rounds));
  log(`load: ${rounds} round(s) of ${seconds} s per target, ${CONNECTIONS} connections, targets ${contenders.map((c) => c.key).join(', ')} in turn`);
  const samples = contenders.map((): Sample[] => []);
  for (let i = 0; i < rounds; i++) {
    for (const [n, c] of contenders.entries()) samples[n].push(await c.load(seconds, false));
  }
  // The last answers must still be right: a target that broke under load would look fast.
  for (const c of contenders) await c.check();
  return { seconds: rounds * seconds, measured: contenders.map((contender, n) => ({ contender, measured: summarize(samples[n]) })) };
}

/** One row of figures per target, and one of ratios to the baseline (the first) per other target. */
export function ratioRows(section: string, result: InTurnResult): { rows: Row[]; details: Record<string, unknown> } {
  const baseline = result.measured[0].measured;
  const baseKey = result.measured[0].contender.key;
  const rows: Row[] = [];
  const details: Record<string, unknown> = {};
  for (const [n, { contender: c, measured: m }] of result.measured.entries()) {
    rows.push({ section, metric: `(${c.key}) ${c.label} (${CONNECTIONS} conn, ${result.seconds} s)`, value: describeMeasured(m) });
    const r = ratios(baseline, m);
    details[c.key] = { label: c.label, ...m, ratio: r, ...(c.targetRatio ? { targetRatio: c.targetRatio } : {}) };
    if (n === 0) continue;
    rows.push({
      section,
      metric: `(${c.key})/(${baseKey}): latency mean; p50; p99 | throughput ${baseKey}/${c.key}`,
      value: `${r.mean}x; ${r.p50}x; ${r.p99}x | ${r.throughput}x`,
      ...(c.targetRatio ? { target: `mean <= ${c.targetRatio}x`, verdict: r.mean <= c.targetRatio ? 'met' as const : 'missed' as const } : {}),
    });
  }
  return { rows, details };
}
