/**
 * `npm run load-gate [-- --minutes N] [--probe-seconds N] [--start-rate N]`: the release load
 * gate, scaled to this machine. `specgate serve` with the full governance chain on SQLite (durable
 * metering and audit), loopback only. First a ramp of short probes at rising offered rates
 * (autocannon's overallRate) finds the highest rate the server holds with 0% errors (no error, no
 * timeout, no non-2xx, and at least 95% of the offered rate answered); then that rate is held for
 * N minutes (default 10) while the server's resident and heap memory are sampled from its own
 * /metrics. The hold passes only if it, too, answers 95% of the offered rate with 0 errors; the
 * answered rate is also printed minute by minute (from the server's call counter), so a slowdown
 * shows when it began. Prints the rate held, p50/p95/p99, errors and memory growth (first vs last minute),
 * checks that the store metered every answered call and that none was a tool error, and writes
 * bench/results/load-gate.{json,md}. Not run in CI: it takes minutes by design.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { openStore } from '../runtime/store/index.ts';
import { benchDir, rssMiB } from './child.ts';
import { CONNECTOR, generateBenchConnector, startUpstream } from './fixture.ts';
import { load, summarize, type Sample } from './load.ts';
import { describeMachine } from './machine.ts';
import { MCP_HEADERS, toolsCallBody } from './mcp-answer.ts';
import { busy, busyNote, table, type Row } from './report.ts';
import { BENCH_TENANT, seedStore } from './seed.ts';
import { startServe, stopServe } from './serve.ts';
import { round } from './stats.ts';

const USAGE = 'usage: npm run load-gate [-- --minutes N] [--probe-seconds N] [--start-rate N]';
/** Enough connections that latency, not the connection count, limits an offered rate. */
const CONNECTIONS = 64;
const MAX_PROBES = 10;
const SAMPLE_MS = 5000;
/** What "holds" means besides 0 errors: the answered rate reaches this share of the offered one. */
const HELD_SHARE = 0.95;
/** Memory "does not grow" when the last minute's mean heap is within this of the first minute's. */
const GROWTH_TOLERANCE = { share: 0.1, mib: 8 };

function positive(value: string | undefined, name: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > max) throw new Error(`--${name} ${value}: expected a number above 0 and at most ${max}; ${USAGE}`);
  return n;
}

interface Probe { offered: number; answered: number; errors: number; non2xx: number; timeouts: number; p99: number; held: boolean }
interface MemorySample { atSeconds: number; rssMiB: number; heapUsedMiB: number; callsTotal: number; cpu: CpuTicks }
interface CpuTicks { steal: number; total: number }

/**
 * The machine's CPU ticks so far, and how many of them the hypervisor gave to other guests
 * (steal, /proc/stat): a slowdown with steal rising is the host's, not the server's.
 */
function cpuTicks(): CpuTicks {
  try {
    const fields = /^cpu\s+(.+)$/m.exec(fs.readFileSync('/proc/stat', 'utf8'))![1].trim().split(/\s+/).map(Number);
    return { steal: fields[7] ?? 0, total: fields.slice(0, 8).reduce((a, b) => a + b, 0) };
  } catch {
    return { steal: Number.NaN, total: Number.NaN }; // not Linux
  }
}

/**
 * The served process's own view of its memory (the Prometheus default metrics) and of the tool
 * calls it has finished (mcp_tool_calls_total, summed over its labels): the answered rate over
 * time comes from the latter, so a slowdown during the hold shows where it began.
 */
async function memoryOf(metricsUrl: string, pid: number): Promise<{ rssMiB: number; heapUsedMiB: number; callsTotal: number }> {
  const text = await (await fetch(metricsUrl)).text();
  const metric = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN) / 2 ** 20;
  const rss = metric('process_resident_memory_bytes');
  const callsTotal = [...text.matchAll(/^mcp_tool_calls_total(?:\{[^}]*\})? (\S+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  return { rssMiB: Number.isFinite(rss) ? rss : rssMiB(pid), heapUsedMiB: metric('nodejs_heap_size_used_bytes'), callsTotal };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Calls that did not end ok, grouped by outcome and the reason their audit records give. */
async function reasonsOfFailures(store: Awaited<ReturnType<typeof openStore>>): Promise<Array<{ outcome: string; reason: string; count: number }>> {
  const counts = new Map<string, { outcome: string; reason: string; count: number }>();
  // Records are canonical JSON, so an ok call's reads exactly `"outcome":"ok"` (a string value
  // holding that text would be escaped): the hundreds of thousands of ok records stay in the store.
  const rows = await store.db.selectFrom('audit').select('record').where('tenant_id', '=', BENCH_TENANT)
    .where('record', 'not like', '%"outcome":"ok"%').execute();
  for (const { record } of rows) {
    const r = JSON.parse(record) as { outcome: string; step?: string; reason?: string };
    // Numbers (ids, milliseconds) apart, the same failure reads the same.
    const reason = `${r.step ? `${r.step}: ` : ''}${r.reason ?? '(no reason recorded)'}`.replace(/\d+/g, 'N').slice(0, 160);
    const entry = counts.get(`${r.outcome}\n${reason}`) ?? { outcome: r.outcome, reason, count: 0 };
    entry.count++;
    counts.set(`${r.outcome}\n${reason}`, entry);
  }
  return [...counts.values()].sort((a, b) => b.count - a.count).slice(0, 10);
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { minutes: { type: 'string' }, 'probe-seconds': { type: 'string' }, 'start-rate': { type: 'string' } } });
  const minutes = positive(values.minutes, 'minutes', 10, 120);
  const probeSeconds = Math.round(positive(values['probe-seconds'], 'probe-seconds', 10, 120));
  const startRate = Math.round(positive(values['start-rate'], 'start-rate', 50, 100_000));
  const machine = describeMachine();
  const log = (line: string) => process.stderr.write(`[load-gate] ${line}\n`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'specgate-load-gate-'));
  const storeUrl = `sqlite:${path.join(dir, 'store.db')}`;
  const generatedDir = await generateBenchConnector();
  const upstream = await startUpstream();
  const { headers: seeded } = await seedStore(storeUrl, CONNECTOR);
  const served = await startServe({ generatedDir, storeUrl, upstreamBaseUrl: upstream.ready.baseUrl });
  const target = { url: served.url, headers: { ...MCP_HEADERS, ...seeded }, body: toolsCallBody() };
  const metricsUrl = new URL('/metrics', served.url).toString();
  let answeredTotal = 0;
  let gaveUpTotal = 0;
  let runs = 0;
  const run = async (rate: number, seconds: number): Promise<Sample> => {
    runs++;
    const sample = await load(target, { seconds, connections: CONNECTIONS, overallRate: rate, tolerateErrors: true });
    answeredTotal += sample.latencies.length;
    gaveUpTotal += sample.timeouts + sample.errors;
    return sample;
  };
  try {
    log(`serving on ${served.url}, full chain on SQLite; warm-up, then probes of ${probeSeconds} s from ${startRate} req/s`);
    await run(startRate, 3);
    const probes: Probe[] = [];
    const probe = async (rate: number): Promise<Probe> => {
      const s = await run(rate, probeSeconds);
      const m = summarize([s]);
      const p: Probe = {
        offered: rate, answered: m.requestsPerSecond, errors: s.errors, non2xx: s.non2xx, timeouts: s.timeouts, p99: m.latencyMs.p99,
        held: s.errors === 0 && s.non2xx === 0 && s.timeouts === 0 && s.latencies.length >= HELD_SHARE * rate * s.seconds,
      };
      probes.push(p);
      log(`probe ${rate} req/s: answered ${p.answered} req/s, ${p.errors} errors, ${p.non2xx} non-2xx, p99 ${p.p99} ms -> ${p.held ? 'held' : 'not held'}`);
      return p;
    };
    // Ramp by half again each step until a probe fails, then bisect between the last two rates.
    let good = 0;
    let bad = 0;
    for (let rate = startRate; probes.length < MAX_PROBES; rate = Math.round(rate * 1.5)) {
      if ((await probe(rate)).held) good = rate;
      else { bad = rate; break; }
    }
    while (bad && good && probes.length < MAX_PROBES && bad - good > Math.max(5, good * 0.1)) {
      const mid = Math.round((good + bad) / 2);
      if ((await probe(mid)).held) good = mid;
      else bad = mid;
    }
    if (!good) throw new Error(`the server did not hold even ${startRate} req/s with 0 errors; try --start-rate lower`);

    log(`holding ${good} req/s for ${minutes} min; memory sampled every ${SAMPLE_MS / 1000} s`);
    const memory: MemorySample[] = [];
    const holdStart = performance.now();
    const sampler = setInterval(() => {
      void memoryOf(metricsUrl, served.child.pid ?? 0).then((m) => memory.push({ atSeconds: round((performance.now() - holdStart) / 1000, 1), ...m, cpu: cpuTicks() }), () => undefined);
    }, SAMPLE_MS);
    let hold: Sample;
    try {
      hold = await run(good, Math.round(minutes * 60));
    } finally {
      clearInterval(sampler);
    }
    const m = summarize([hold]);
    const window = Math.min(60, (minutes * 60) / 3);
    const first = memory.filter((s) => s.atSeconds <= window);
    const last = memory.filter((s) => s.atSeconds >= minutes * 60 - window);
    const heapFirst = mean(first.map((s) => s.heapUsedMiB));
    const heapLast = mean(last.map((s) => s.heapUsedMiB));
    const rssFirst = mean(first.map((s) => s.rssMiB));
    const rssLast = mean(last.map((s) => s.rssMiB));
    const grows = heapLast > heapFirst * (1 + GROWTH_TOLERANCE.share) + GROWTH_TOLERANCE.mib;
    const failed = hold.errors + hold.non2xx + hold.timeouts;
    // Held means what it meant for a probe: 0 errors and the offered rate answered, all along.
    const held = m.requestsPerSecond >= HELD_SHARE * good;
    /** Per minute of the hold: how much `of` grew over how much `per` grew, from its first sample to its last. */
    const minuteByMinute = (of: (x: MemorySample) => number, per: (x: MemorySample) => number) =>
      Array.from({ length: Math.floor(minutes) }, (_, i) => {
        const samples = memory.filter((x) => x.atSeconds >= i * 60 && x.atSeconds <= (i + 1) * 60);
        if (samples.length < 2) return Number.NaN;
        const [first, last] = [samples[0], samples.at(-1)!];
        return round((of(last) - of(first)) / (per(last) - per(first)), 1);
      });
    const perMinute = minuteByMinute((x) => x.callsTotal, (x) => x.atSeconds);
    const stealPerMinute = minuteByMinute((x) => 100 * x.cpu.steal, (x) => x.cpu.total);

    await stopServe(served);
    const store = await openStore(storeUrl, { migrate: false });
    const byOutcome = new Map((await store.db.selectFrom('usage').select(['outcome', (eb) => eb.fn.countAll().as('n')])
      .where('tenant_id', '=', BENCH_TENANT).groupBy('outcome').execute()).map((r) => [r.outcome, Number(r.n)]));
    const usageRows = [...byOutcome.values()].reduce((a, b) => a + b, 0);
    // A 200 can carry a tool error (isError) that autocannon does not see: the usage rows do.
    const toolErrors = byOutcome.get('error') ?? 0;
    const cancelled = byOutcome.get('cancelled') ?? 0;
    const errorReasons = toolErrors + cancelled > 0 ? await reasonsOfFailures(store) : [];
    await store.close();
    // autocannon forgets the calls in flight when a run's time is up, and drops a connection whose
    // answer is late (a timeout): the server meters those calls, the first answered, the second cancelled.
    const inFlightCap = CONNECTIONS * runs;
    const metered = usageRows >= answeredTotal && usageRows - answeredTotal <= inFlightCap + gaveUpTotal;
    const cancelledExplained = cancelled <= inFlightCap + gaveUpTotal;

    const section = `load gate (full chain, SQLite, ${minutes} min)`;
    const rows: Row[] = [
      { section, metric: 'ramp (offered -> answered req/s, errors)', value: probes.map((p) => `${p.offered}->${p.answered}${p.held ? '' : ` (${p.errors + p.non2xx + p.timeouts} err)`}`).join(', ') },
      {
        section,
        metric: 'rate held',
        value: `${good} req/s offered, ${m.requestsPerSecond} req/s answered over ${round(hold.seconds)} s (${m.requests} calls, ${CONNECTIONS} connections)`,
        target: `answered >= ${HELD_SHARE * 100}% of offered`,
        verdict: held ? 'met' : 'missed',
      },
      { section, metric: 'answered req/s, minute by minute (server metrics)', value: perMinute.join(', ') },
      { section, metric: 'CPU time taken by the host for other guests (steal), minute by minute, %', value: stealPerMinute.join(', ') },
      { section, metric: 'errors (errors + timeouts + non-2xx)', value: `${failed} of ${m.requests}`, target: '0%', verdict: failed === 0 ? 'met' : 'missed' },
      { section, metric: 'latency', value: `p50 ${m.latencyMs.p50} ms, p95 ${m.latencyMs.p95} ms, p99 ${m.latencyMs.p99} ms` },
      {
        section,
        metric: `heap used, mean of first vs last ${Math.round(window)} s`,
        value: `${round(heapFirst, 1)} -> ${round(heapLast, 1)} MiB (RSS ${round(rssFirst, 1)} -> ${round(rssLast, 1)} MiB)`,
        target: `<= +${GROWTH_TOLERANCE.share * 100}% + ${GROWTH_TOLERANCE.mib} MiB`,
        verdict: grows ? 'missed' : 'met',
      },
      {
        section,
        metric: 'usage rows vs answered calls (whole run)',
        value: `${usageRows} rows, ${answeredTotal} answered: ${usageRows - answeredTotal} more rows, for calls in flight when a run ended (at most ${inFlightCap}) or dropped by the load generator (${gaveUpTotal})`,
        target: 'every answered call metered',
        verdict: metered ? 'met' : 'missed',
      },
      { section, metric: 'tool errors in the usage rows (whole run)', value: String(toolErrors), target: '0', verdict: toolErrors === 0 ? 'met' : 'missed' },
      {
        section,
        metric: 'calls cancelled by the load generator (whole run)',
        value: `${cancelled}; it dropped ${gaveUpTotal} calls (timeouts, errors) and left up to ${inFlightCap} in flight at the ends of its runs`,
        target: 'no more than it dropped',
        verdict: cancelledExplained ? 'met' : 'missed',
      },
      ...errorReasons.map((r) => ({ section, metric: `tool errors: ${r.outcome}`, value: `${r.count} x "${r.reason}"` })),
    ];
    const report = { machine: { ...machine, loadAverage: { ...machine.loadAverage, end: round(os.loadavg()[0]) } }, minutes, probeSeconds, connections: CONNECTIONS, probes, held: { offered: good, held, perMinute, stealPerMinute, ...m, errors: hold.errors, non2xx: hold.non2xx, timeouts: hold.timeouts }, memory, usageRows, outcomes: Object.fromEntries(byOutcome), toolErrors, cancelled, errorReasons, answeredTotal, gaveUpTotal };
    const out = path.join(benchDir, 'results');
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, 'load-gate.json'), `${JSON.stringify(report, null, 2)}\n`);
    fs.writeFileSync(path.join(out, 'load-gate.md'), [
      `# specgate load gate (${machine.date})`, '',
      `Machine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}; CPU check ${machine.cpuCheckMs} ms (see the bench); load average ${machine.loadAverage.start} -> ${report.machine.loadAverage.end}. Loopback only; server, upstream and load generator share the cores.`,
      ...(busy(report.machine) ? ['', `**${busyNote}**`] : []), '',
      '| section | metric | value | target | |', '| --- | --- | --- | --- | --- |',
      ...rows.map((r) => `| ${r.section} | ${r.metric} | ${r.value} | ${r.target ?? ''} | ${r.verdict ?? ''} |`), '',
      'Produced by `npm run load-gate`; memory samples in load-gate.json.', '',
    ].join('\n'));
    process.stdout.write(`\n${table(rows)}\n\n${machine.cpu}, ${machine.cores} cores; load average ${machine.loadAverage.start} -> ${report.machine.loadAverage.end}\n`);
    if (busy(report.machine)) process.stdout.write(`note: ${busyNote}\n`);
    process.stdout.write('written: bench/results/load-gate.json, bench/results/load-gate.md\n');
    return failed === 0 && held && toolErrors === 0 && !grows && metered ? 0 : 1;
  } finally {
    await stopServe(served);
    await upstream.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

try {
  process.exitCode = await main();
} catch (error) {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 2;
}
