/**
 * Section 2: what one tools/call costs on top of a bare proxy, in one run against one upstream:
 * (a) a bare Fastify route proxying with undici, (s) the official SDK's own stateless example
 * serving one tool that does the same (the floor of any server built on the SDK), (b) the
 * specgate runtime without the governance chain, (c) with the full chain on the embedded
 * database (SQLite, synchronous=FULL), (d) with the full chain on PostgreSQL (a throwaway local
 * cluster with fsync on). Each target runs in its own child process; autocannon drives the load
 * from this process (bench/in-turn.ts).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findPostgres, startPostgres } from '../test/helpers/postgres.ts';
import { projectDir, startChild, type RunningChild } from './child.ts';
import { CONNECTOR, generateBenchConnector, startUpstream, tsx, type UpstreamInfo } from './fixture.ts';
import { CONNECTIONS, measureInTurn, ratioRows, ratios, type Contender, type InTurnResult } from './in-turn.ts';
import { load } from './load.ts';
import { profileRows, profileTargets } from './call-profile.ts';
import { callOnce, hasAllItems, MCP_HEADERS, toolsCallBody } from './mcp-answer.ts';
import type { BenchOptions } from './options.ts';
import type { Row, SectionResult } from './report.ts';
import { seedStore } from './seed.ts';

export type TargetKey = 'a' | 's' | 'b' | 'c' | 'd' | 't';

const LABELS: Record<TargetKey, { label: string; targetRatio?: number }> = {
  a: { label: 'bare Fastify + undici proxy' },
  s: { label: 'SDK floor: the SDK\'s stateless Fastify example, one tool proxying with undici' },
  b: { label: 'specgate, no governance chain', targetRatio: 1.5 },
  c: { label: 'specgate, full chain on SQLite (durable)', targetRatio: 2 },
  d: { label: 'specgate, full chain on PostgreSQL (fsync on)', targetRatio: 2 },
  t: { label: 'specgate, full chain on SQLite, tracing on (OTLP/HTTP export to a local sink)' },
};

/** A collector that takes every OTLP export and keeps nothing: what tracing costs the runtime, not the sink. */
async function startTraceSink(): Promise<{ url: string; exports: () => number; close(): Promise<void> }> {
  const { createServer } = await import('node:http');
  let exports = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      exports++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const a = server.address();
  return { url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`, exports: () => exports, close: () => new Promise((r) => server.close(() => r())) };
}

/** The answer must be the upstream's items, not an error that happens to be fast. */
async function checkProxy(url: string, items: number): Promise<void> {
  const response = await fetch(url, { method: 'POST', headers: MCP_HEADERS, body: toolsCallBody() });
  const data: unknown = await response.json();
  if (response.status !== 200 || !Array.isArray(data) || data.length !== items) {
    throw new Error(`baseline proxy ${url} answered ${response.status} without the ${items} items`);
  }
}

/** `npm run build`: a no-op when dist/ is already a build of the current sources. */
function buildRuntime(): void {
  try {
    execFileSync(process.execPath, [path.join(projectDir, 'scripts', 'build.js')], { cwd: projectDir, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    throw new Error(`npm run build failed, so the runtime targets cannot run the compiled build: ${String((error as { stderr?: Buffer }).stderr ?? error)}`);
  }
}

export interface Started {
  upstream: UpstreamInfo;
  contenders: Contender[];
  /** Targets that could not run here, as rows that say why. */
  skipped: Row[];
  /** Where the workers write their CPU profiles (bench/workers/profiler.ts). */
  profileDir: string;
  stop(): Promise<void>;
}

/** Starts the upstream and the wanted targets, each in its own process, in the order given. */
export async function startTargets(keys: TargetKey[], section: string): Promise<Started> {
  const generatedDir = await generateBenchConnector();
  // The runtime targets run the compiled build, as `specgate serve` does (bench/workers/runtime.ts).
  buildRuntime();
  const children: Array<RunningChild<unknown>> = [];
  const cleanup: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const child of children.reverse()) await child.stop();
    for (const fn of cleanup.reverse()) await fn();
  };
  const start = async <T>(command: string[], env?: NodeJS.ProcessEnv): Promise<RunningChild<T>> => {
    const child = await startChild<T>(command, { timeoutMs: 120_000, ...(env && { env }) });
    children.push(child as RunningChild<unknown>);
    return child;
  };
  const profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'specgate-profile-'));
  cleanup.push(async () => fs.rmSync(profileDir, { recursive: true, force: true }));
  const profiling = { SPECGATE_BENCH_PROFILE_DIR: profileDir };
  try {
    const upstreamChild = await startUpstream();
    children.push(upstreamChild as RunningChild<unknown>);
    const upstream = upstreamChild.ready;
    const runtime = (store?: string, env?: NodeJS.ProcessEnv) => start<{ url: string }>(tsx('runtime', generatedDir, CONNECTOR, upstream.baseUrl, ...(store ? [store] : [])), env);
    const contender = (key: TargetKey, child: RunningChild<{ url: string }>, headers: Record<string, string>): Contender => ({
      key, ...LABELS[key], url: child.ready.url, headers, ...(child.child.pid !== undefined && { pid: child.child.pid }),
      load: (seconds, tolerateErrors) => load({ url: child.ready.url, headers: { ...MCP_HEADERS, ...headers }, body: toolsCallBody() }, { seconds, connections: CONNECTIONS, tolerateErrors }),
      check: key === 'a' ? () => checkProxy(child.ready.url, upstream.items) : async () => {
        const answer = await callOnce(child.ready.url, headers, toolsCallBody());
        if (!hasAllItems(answer, upstream.items)) throw new Error(`${LABELS[key].label} (${child.ready.url}): tools/call did not return the ${upstream.items} items: ${answer.raw.slice(0, 300)}`);
      },
    });
    // The store URL of each governed target; PostgreSQL only where a cluster can be started.
    const stores: Partial<Record<TargetKey, string>> = {};
    const skipped: Row[] = [];
    for (const key of ['c', 't'] as const) {
      if (!keys.includes(key)) continue;
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'specgate-bench-'));
      cleanup.push(async () => fs.rmSync(tmp, { recursive: true, force: true }));
      stores[key] = `sqlite:${path.join(tmp, 'store.db')}`;
    }
    let traceEnv: NodeJS.ProcessEnv | undefined;
    if (keys.includes('t')) {
      const sink = await startTraceSink();
      cleanup.push(async () => {
        // No export at all would mean tracing never ran: the row would measure nothing.
        if (sink.exports() === 0) throw new Error('tracing target: the OTLP sink received no export');
        await sink.close();
      });
      traceEnv = { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_SERVICE_NAME: 'specgate-bench' };
    }
    if (keys.includes('d')) {
      const pg = findPostgres();
      if (pg.ok) {
        const cluster = await startPostgres(pg, { durable: true });
        cleanup.push(() => cluster.stop());
        stores.d = await cluster.createDatabase();
      } else {
        skipped.push({ section, metric: `(d) ${LABELS.d.label}`, value: `not measured: ${pg.reason}`, target: `mean <= ${LABELS.d.targetRatio}x`, verdict: 'missed' });
      }
    }
    const contenders = await Promise.all(keys.filter((k) => k !== 'd' || stores.d).map(async (key) => {
      if (key === 'a') return contender(key, await start<{ url: string }>(tsx('proxy', upstream.baseUrl)), {});
      if (key === 's') return contender(key, await start<{ url: string }>(tsx('sdk-floor', upstream.baseUrl), profiling), {});
      const store = stores[key];
      const seeded = store ? await seedStore(store, CONNECTOR) : { headers: {} };
      return contender(key, await runtime(store, { ...profiling, ...(key === 't' && traceEnv) }), seeded.headers);
    }));
    return { upstream, contenders, skipped, profileDir, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

const SECTION = 'tools/call vs bare proxy';

/** The call path's targets as multiples of the SDK floor (s), for the mean and the p99 alike. */
const FLOOR_TARGETS = { b: 1.0, c: 1.5, d: 2.5 } as const;

/**
 * The runtime against the SDK floor: the part of (b)/(a) that is specgate's own. (s)/(a) is what
 * the SDK costs before any server code runs, so it bounds what an SDK-built runtime can reach.
 */
function floorRows(result: InTurnResult): Row[] {
  const of = (key: TargetKey) => result.measured.find((m) => m.contender.key === key)?.measured;
  const floor = of('s');
  if (!floor) return [];
  return (['b', 'c', 'd'] as const).flatMap((key) => {
    const m = of(key);
    if (!m) return [];
    const r = ratios(floor, m);
    const target = FLOOR_TARGETS[key];
    return [{
      section: SECTION, metric: `(${key})/(s): latency mean; p50; p99 | throughput s/${key}`, value: `${r.mean}x; ${r.p50}x; ${r.p99}x | ${r.throughput}x`,
      target: `mean and p99 <= ${target}x`, verdict: r.mean <= target && r.p99 <= target ? 'met' as const : 'missed' as const,
    }];
  });
}

/** What tracing costs a governed call: (t) against (c), the same chain and store without tracing. */
function tracingRows(result: InTurnResult): Row[] {
  const of = (key: TargetKey) => result.measured.find((m) => m.contender.key === key)?.measured;
  const off = of('c');
  const on = of('t');
  if (!off || !on) return [];
  const r = ratios(off, on);
  const verdict = r.mean <= 1.05 ? 'met' : 'missed';
  return [{ section: SECTION, metric: 'tracing on: (t)/(c) latency mean; p50; p99 | throughput c/t', value: `${r.mean}x; ${r.p50}x; ${r.p99}x | ${r.throughput}x`, target: 'mean <= 1.05x', verdict }];
}

export async function benchCallCost(options: BenchOptions, log: (line: string) => void): Promise<SectionResult> {
  const started = await startTargets(['a', 's', 'b', 'c', 'd', 't'], SECTION);
  try {
    const result = await measureInTurn(started.contenders, options, log);
    const { rows, details } = ratioRows(SECTION, result);
    rows.push(...floorRows(result), ...tracingRows(result));
    // After the measured rounds, so that the profiler's own cost is in none of them.
    const profiles = await profileTargets(started.contenders, started.profileDir, options.short ? 3 : 5);
    rows.push(...profileRows(SECTION, profiles));
    const { upstream } = started;
    return {
      name: 'call-cost',
      rows: [{ section: SECTION, metric: 'upstream (node:http on 127.0.0.1)', value: `${upstream.items} items, ${upstream.bytes} bytes of JSON` }, ...rows, ...started.skipped],
      details: {
        upstream: { items: upstream.items, bytes: upstream.bytes },
        seconds: result.seconds,
        short: options.short,
        request: { headers: MCP_HEADERS, body: JSON.parse(toolsCallBody()) as unknown },
        targets: details,
        profiles,
        skipped: started.skipped.map((s) => s.value),
      },
    };
  } finally {
    await started.stop();
  }
}
