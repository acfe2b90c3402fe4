/** The bench's own logic (no timings asserted): options, statistics, the report and the synthetic catalog. */
import { describe, expect, it } from 'vitest';
import { parseOptions } from '../bench/options.ts';
import { percentile, median, round } from '../bench/stats.ts';
import { markdown, table } from '../bench/report.ts';
import { syntheticConnectors } from '../bench/synthetic-catalog.ts';
import { buildCatalog } from '../runtime/catalog.ts';

describe('bench options', () => {
  it('runs every section in full by default', () => {
    const o = parseOptions([], {});
    expect(o.short).toBe(false);
    expect(o.sections).toEqual(['generator', 'call', 'list', 'context', 'startup', 'peers', 'ownership', 'cli']);
    expect(o.loadSeconds).toBe(10);
    expect(o.generateRuns).toBe(3);
    expect(o.typecheck).toBe(true);
  });

  it('takes --short or BENCH_SHORT for CI', () => {
    for (const o of [parseOptions(['--short'], {}), parseOptions([], { BENCH_SHORT: '1' })]) {
      expect(o.short).toBe(true);
      expect(o.loadSeconds).toBe(3);
      expect(o.generateRuns).toBe(1);
      expect(o.typecheck).toBe(false);
    }
    expect(parseOptions([], { BENCH_SHORT: '0' }).short).toBe(false);
  });

  it('selects sections with --only, in the fixed order, and names an unknown one', () => {
    expect(parseOptions(['--only=startup,call'], {}).sections).toEqual(['call', 'startup']);
    expect(() => parseOptions(['--only=call,warp'], {})).toThrow(/unknown section\(s\) warp/);
    expect(() => parseOptions(['--fast'], {})).toThrow(/unknown argument '--fast'/);
  });
});

describe('bench statistics', () => {
  it('uses nearest-rank percentiles, so each value was observed', () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(samples, 50)).toBe(50);
    expect(percentile(samples, 99)).toBe(99);
    expect(percentile(samples, 100)).toBe(100);
    expect(median([3, 1, 2])).toBe(2);
    expect(percentile([], 50)).toBeNaN();
    expect(round(1.23456, 3)).toBe(1.235);
  });
});

describe('bench report', () => {
  const rows = [
    { section: 'generator', metric: 'generate', value: '1.5 s', target: '<= 2 s', verdict: 'met' as const },
    { section: 'call', metric: 'a | b', value: '2x' },
  ];
  it('aligns the terminal table', () => {
    const lines = table(rows).split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[2].indexOf('generate')).toBe(lines[3].indexOf('a | b'));
  });

  it('writes the machine and escapes pipes in the markdown', () => {
    const md = markdown({
      machine: { cpu: 'Test CPU', cores: 2, memoryGiB: 4, node: 'v20.0.0', platform: 'linux', loadAverage: { start: 5, end: 1 }, cpuCheckMs: 240, date: '2025-01-01T00:00:00.000Z' },
      mode: 'short',
      totalSeconds: 12,
      sections: [{ name: 'x', rows, details: {} }],
      failures: [{ section: 'startup', error: 'boom\nstack' }],
    });
    expect(md).toContain('Machine: Test CPU, 2 cores, 4 GiB memory, Node v20.0.0');
    expect(md).toContain('CPU check: a fixed JavaScript loop took 240 ms');
    expect(md).toContain('| call | a \\| b | 2x |');
    expect(md).toContain('- startup: boom');
    expect(md).toContain('load average exceeded the core count');
  });
});

describe('synthetic catalog', () => {
  it('builds 1,000 distinct tools the catalog accepts', () => {
    const catalog = buildCatalog(syntheticConnectors(1000));
    expect(catalog.tools).toHaveLength(1000);
    expect(catalog.connectors).toHaveLength(10);
    expect(catalog.listEntries[0].inputSchema.type).toBe('object');
  });
});

describe('bench: what a model sees (section context)', async () => {
  const { benchCatalogs, initialContext, loadQuestions, questionsFor, searchQuality, DISCOVERY_TARGET_TOKENS, TOP3_TARGET } = await import('../bench/model-context.ts');
  const { loadCatalog } = await import('../runtime/catalog.ts');
  const generated = await loadCatalog('generated');
  const catalogs = benchCatalogs(generated);
  const launch = catalogs[0]!.catalog;

  it('has technician questions naming real tools only: at least 40 for the launch catalog and for launch + roadmap', () => {
    const questions = loadQuestions();
    // Every expected tool is generated from specs/: none is made up.
    for (const q of questions) {
      expect(generated.byName.has(q.tool), q.tool).toBe(true);
      if (q.roadmapTool) expect(generated.byName.has(q.roadmapTool), q.roadmapTool).toBe(true);
    }
    expect(new Set(questions.map((q) => q.question)).size).toBe(questions.length);
    expect(launch.connectors.map((c) => c.model.name).sort()).toEqual(['connectwise', 'halopsa', 'hudu', 'itglue', 'pax8']);
    for (const { label, catalog, roadmap } of catalogs) expect(questionsFor(catalog, questions, roadmap).length, label).toBeGreaterThanOrEqual(40);
    // The roadmap's subjects are asked about: devices, alerts, patches, threats, users, sign-ins, licences.
    const roadmapTools = questions.map((q) => q.roadmapTool ?? q.tool).filter((t) => !launch.byName.has(t));
    for (const subject of ['device', 'alert', 'patch', 'threat', 'user', 'sign_in', 'license']) {
      expect(roadmapTools.some((t) => t.includes(subject)), subject).toBe(true);
    }
  });

  it('finds the right tool in the top 3 for at least 90% of them, in every catalog', () => {
    for (const { label, catalog, roadmap } of catalogs) {
      const quality = searchQuality(catalog, questionsFor(catalog, loadQuestions(), roadmap));
      expect(quality.top3Rate, label).toBeGreaterThanOrEqual(TOP3_TARGET);
    }
  });

  it('keeps the discovery-mode initial context under the target, whatever the catalog size', async () => {
    const big = buildCatalog([...launch.connectors, ...syntheticConnectors(1000)]);
    const full = await initialContext(launch, { mode: 'off', threshold: 0 });
    const small = await initialContext(launch, { mode: 'on', threshold: 0 });
    const large = await initialContext(big, { mode: 'on', threshold: 0 });
    expect(small.tools).toBe(3);
    expect(full.tools).toBe(launch.tools.length);
    expect(small.total).toBeLessThan(DISCOVERY_TARGET_TOKENS);
    expect(large.total).toBeLessThan(DISCOVERY_TARGET_TOKENS);
    expect(full.total).toBeGreaterThan(10 * small.total);
  });
});

describe('bench: CPU profile summary (bench/profile-summary.ts)', () => {
  it('gives a real profile\'s busy time to the most specific step on the stack', async () => {
    const { Session } = await import('node:inspector/promises');
    const { countTokens } = await import('gpt-tokenizer');
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const { summarizeProfile, ownerOf } = await import('../bench/profile-summary.ts');
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    // Busy for a while in the tokenizer, the step the summary must name.
    const text = Array.from({ length: 400 }, (_, i) => `${i} | Contoso ${i} Ltd | open tickets ${i * 7}`).join('\n');
    const until = performance.now() + 300;
    let n = 0;
    while (performance.now() < until) n += countTokens(text);
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    expect(n).toBeGreaterThan(0);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'specgate-profile-test-')), 'p.cpuprofile');
    fs.writeFileSync(file, JSON.stringify(profile));
    const summary = summarizeProfile(file);
    expect(summary.busyMs).toBeGreaterThan(100);
    expect(summary.byPhase[0].phase).toBe('token count (o200k)');
    expect(summary.byPhase[0].share).toBeGreaterThan(50);
    const total = summary.byPhase.reduce((sum, p) => sum + p.share, 0);
    expect(total).toBeGreaterThan(99);
    expect(total).toBeLessThan(101);
    expect(ownerOf('file:///x/node_modules/@modelcontextprotocol/server/dist/index.mjs')).toBe('@modelcontextprotocol/server');
    expect(ownerOf('file:///work/p/runtime/mcp/http.ts')).toBe('runtime/mcp');
  });
});
