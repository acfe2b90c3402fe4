/**
 * Section 2: what one tools/call costs on top of a bare proxy. The upstream, the baseline proxy
 * and the specgate runtime each run in their own child process; autocannon drives the load from
 * this process. Each target is checked for a correct answer before it is measured.
 */
import path from 'node:path';
import autocannon from 'autocannon';
import { generate } from '../generator/generate.ts';
import { benchDir, startChild, workerPath, type RunningChild } from './child.ts';
import { cacheDir } from './octokit.ts';
import type { BenchOptions } from './options.ts';
import type { SectionResult } from './report.ts';
import { percentile, round } from './stats.ts';

const CONNECTIONS = 10;
const TARGET_RATIO = 1.5;
const CONNECTOR = 'benchitems';
const TOOL = 'benchitems_list_items';
const specFile = path.join(benchDir, 'fixtures', 'items.yaml');
const generatedDir = path.join(cacheDir, 'generated');

/** A 2025-era stateless request: the runtime serves tools/call without a prior initialize. */
const headers = {
  accept: 'application/json, text/event-stream',
  'content-type': 'application/json',
  'mcp-protocol-version': '2025-11-25',
};
const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: TOOL, arguments: {} } });

const tsx = (worker: string, ...args: string[]) => [process.execPath, '--import', 'tsx', workerPath(worker), ...args];

interface UpstreamInfo { baseUrl: string; items: number; bytes: number }

interface Measured {
  requestsPerSecond: number;
  latencyMs: { p50: number; p99: number; mean: number };
  requests: number;
  /** Requests per second of each round, to show how steady the machine was. */
  rounds: number[];
}

interface Sample { latencies: number[]; requests: number; seconds: number }

/**
 * One load run. autocannon's own percentiles are whole milliseconds, too coarse for a
 * sub-millisecond baseline, so each response's exact latency is collected (bounded by the duration).
 */
async function load(url: string, seconds: number): Promise<Sample> {
  const latencies: number[] = [];
  const instance = autocannon({ url, method: 'POST', headers, body, connections: CONNECTIONS, duration: seconds, timeout: 10 });
  instance.on('response', (_client, status, _bytes, ms) => {
    if (status >= 200 && status < 300) latencies.push(ms);
  });
  const r = await instance;
  if (r.errors > 0 || r.non2xx > 0 || r.requests.total === 0) {
    throw new Error(`${url}: ${r.errors} errors (${r.timeouts} timeouts), ${r.non2xx} non-2xx answers out of ${r.requests.total} requests under load`);
  }
  return { latencies, requests: r.requests.total, seconds: r.duration };
}

function summarize(samples: Sample[]): Measured {
  const latencies = samples.flatMap((s) => s.latencies);
  const requests = samples.reduce((n, s) => n + s.requests, 0);
  const seconds = samples.reduce((n, s) => n + s.seconds, 0);
  return {
    requestsPerSecond: round(requests / seconds, 1),
    latencyMs: {
      p50: round(percentile(latencies, 50), 3),
      p99: round(percentile(latencies, 99), 3),
      mean: round(latencies.reduce((a, b) => a + b, 0) / latencies.length, 3),
    },
    requests,
    rounds: samples.map((s) => round(s.requests / s.seconds, 1)),
  };
}

/** The answer must be the upstream's items, not an error that happens to be fast. */
async function checkProxy(url: string, items: number): Promise<void> {
  const response = await fetch(url, { method: 'POST', headers, body });
  const data: unknown = await response.json();
  if (response.status !== 200 || !Array.isArray(data) || data.length !== items) {
    throw new Error(`baseline proxy ${url} answered ${response.status} without the ${items} items`);
  }
}

async function checkRuntime(url: string, items: number): Promise<void> {
  const response = await fetch(url, { method: 'POST', headers, body });
  const text = await response.text();
  // The stateless 2025 leg answers as an SSE stream with one message, or as plain JSON.
  const json = (response.headers.get('content-type') ?? '').includes('text/event-stream')
    ? text.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('')
    : text;
  let message: { result?: { isError?: boolean; content?: Array<{ text?: string }> }; error?: unknown };
  try {
    message = JSON.parse(json) as typeof message;
  } catch {
    throw new Error(`specgate runtime ${url} answered ${response.status} with no JSON-RPC message: ${text.slice(0, 300)}`);
  }
  const result = message.result;
  const rendered = result?.content?.[0]?.text ?? '';
  if (response.status !== 200 || !result || result.isError || !rendered.includes(`"id":${1000 + items - 1}`)) {
    throw new Error(`specgate runtime ${url}: tools/call ${TOOL} did not return the ${items} items: ${json.slice(0, 300)}`);
  }
}

export async function benchCallCost(options: BenchOptions, log: (line: string) => void): Promise<SectionResult> {
  const generated = await generate([specFile], { outDir: generatedDir, check: false });
  const errors = generated.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new Error(`bench fixture ${specFile} does not generate: ${errors.map((e) => e.message).join('; ')}`);

  const children: Array<RunningChild<unknown>> = [];
  const start = async <T>(command: string[]): Promise<RunningChild<T>> => {
    const child = await startChild<T>(command, { timeoutMs: 90_000 });
    children.push(child as RunningChild<unknown>);
    return child;
  };
  try {
    const upstream = (await start<UpstreamInfo>(tsx('upstream'))).ready;
    const [proxy, server] = await Promise.all([
      start<{ url: string }>(tsx('proxy', upstream.baseUrl)),
      start<{ url: string }>(tsx('runtime', generatedDir, CONNECTOR, upstream.baseUrl)),
    ]);
    await checkProxy(proxy.ready.url, upstream.items);
    await checkRuntime(server.ready.url, upstream.items);

    // Warm-up: JIT, connection pools and the runtime's lazily compiled validators.
    const warmup = options.short ? 1 : 2;
    await load(proxy.ready.url, warmup);
    await load(server.ready.url, warmup);
    // Alternating rounds, so that a change in the machine's other load hits both targets alike.
    const rounds = options.short ? 1 : 2;
    const seconds = Math.max(1, Math.round(options.loadSeconds / rounds));
    log(`load: ${rounds} round(s) of ${seconds} s per target, ${CONNECTIONS} connections: bare proxy, then specgate runtime`);
    const a: Sample[] = [];
    const b: Sample[] = [];
    for (let i = 0; i < rounds; i++) {
      a.push(await load(proxy.ready.url, seconds));
      b.push(await load(server.ready.url, seconds));
    }
    // The last answers must still be right: a target that broke under load would look fast.
    await checkProxy(proxy.ready.url, upstream.items);
    await checkRuntime(server.ready.url, upstream.items);
    return result(options, upstream, summarize(a), summarize(b), rounds * seconds);
  } finally {
    for (const child of children.reverse()) await child.stop();
  }
}

function result(options: BenchOptions, upstream: UpstreamInfo, baseline: Measured, runtime: Measured, seconds: number): SectionResult {
  const ratio = {
    p50: round(runtime.latencyMs.p50 / baseline.latencyMs.p50),
    p99: round(runtime.latencyMs.p99 / baseline.latencyMs.p99),
    mean: round(runtime.latencyMs.mean / baseline.latencyMs.mean),
    throughput: round(baseline.requestsPerSecond / runtime.requestsPerSecond),
  };
  const section = 'tools/call vs bare proxy';
  const fmt = (m: Measured) => `${m.requestsPerSecond} req/s; latency mean ${m.latencyMs.mean} ms, p50 ${m.latencyMs.p50} ms, p99 ${m.latencyMs.p99} ms`;
  return {
    name: 'call-cost',
    rows: [
      { section, metric: 'upstream (node:http on 127.0.0.1)', value: `${upstream.items} items, ${upstream.bytes} bytes of JSON` },
      { section, metric: `(a) bare Fastify + undici proxy (${CONNECTIONS} conn, ${seconds} s)`, value: fmt(baseline) },
      { section, metric: `(b) specgate runtime tools/call (${CONNECTIONS} conn, ${seconds} s)`, value: fmt(runtime) },
      {
        section,
        metric: 'latency b/a (mean; p50; p99)',
        value: `${ratio.mean}x; ${ratio.p50}x; ${ratio.p99}x`,
        target: `<= ${TARGET_RATIO}x`,
        verdict: ratio.mean <= TARGET_RATIO ? 'met' : 'missed',
      },
      { section, metric: 'throughput a/b', value: `${ratio.throughput}x` },
    ],
    details: {
      upstream: { items: upstream.items, bytes: upstream.bytes },
      connections: CONNECTIONS,
      seconds,
      short: options.short,
      request: { headers, body: JSON.parse(body) as unknown },
      baseline,
      runtime,
      ratio,
      targetRatio: TARGET_RATIO,
    },
  };
}
