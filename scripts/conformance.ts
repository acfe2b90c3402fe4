/**
 * Runs the official MCP conformance suite (@modelcontextprotocol/conformance, server mode) against
 * `specgate serve --mock`, once per protocol era: 2025-11-25 (initialize handshake) and 2026-07-28
 * (stateless, per-request _meta). A scenario that applies to both eras must pass on both wires.
 *
 * The suite itself decides each run's verdict against test/fixtures/conformance/expected-failures.yaml
 * (scenarios that cannot apply to a tools-only server, each with its reason). On top of that this
 * script insists that the scenarios which do apply ran and passed, so the baseline can never
 * quietly swallow them.
 *
 *   node --import tsx scripts/conformance.ts [--verbose]
 *
 * Env: SPECGATE_GENERATED (catalog folder; default: specs/ generated into test/.tmp/clients),
 * SPECGATE_CLIENTS_CACHE (default .cache/conformance), SPECGATE_NODE22 (a Node >= 22 binary).
 * Exit code 0 when everything applicable passes, 1 otherwise.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { cacheDir, CLIENT_VERSIONS, ensureCatalog, ensureClientTools, log, projectRoot, run, startDeadline, shown, startServer, type RunningServer } from './mcp-clients.ts';

export const ERAS = ['2025-11-25', '2026-07-28'] as const;
export type Era = (typeof ERAS)[number];

export const BASELINE_FILE = path.join(projectRoot, 'test/fixtures/conformance/expected-failures.yaml');

/** What a tools-only server must pass, per era; `checks` must each be present and succeed. */
export const MUST_PASS: Record<Era, Record<string, string[]>> = {
  '2025-11-25': {
    'server-initialize': ['server-initialize', 'wire-schema-valid'],
    ping: ['ping', 'wire-schema-valid'],
    'tools-list': ['tools-list', 'tools-name-format', 'wire-schema-valid'],
    'dns-rebinding-protection': ['localhost-host-rebinding-rejected', 'localhost-host-valid-accepted'],
  },
  '2026-07-28': {
    'server-stateless': ['sep-2575-server-implements-discover', 'sep-2575-http-server-unsupported-version-400'],
    'tools-list': ['tools-list', 'tools-name-format', 'wire-schema-valid'],
    'dns-rebinding-protection': ['localhost-host-rebinding-rejected', 'localhost-host-valid-accepted'],
    'http-header-validation': ['sep-2243-server-reject-invalid-headers', 'sep-2243-header-name-case-insensitive', 'wire-schema-valid'],
  },
};

export interface Baseline {
  /** Whole scenarios expected to fail. */
  scenarios: Set<string>;
  /** `scenario:check-id` entries. */
  checks: Set<string>;
}

/** Reads the suite's baseline format (`server: [scenario | scenario:check-id]`), refusing what hides a must-pass. */
export function loadBaseline(file: string = BASELINE_FILE): Baseline {
  const text = fs.readFileSync(file, 'utf8');
  const doc = parseYaml(text) as { server?: unknown } | null;
  const entries = doc?.server;
  if (!Array.isArray(entries) || !entries.every((e): e is string => typeof e === 'string')) {
    throw new Error(`${file}: expected a 'server:' list of strings (scenario or scenario:check-id)`);
  }
  const baseline: Baseline = { scenarios: new Set(), checks: new Set() };
  const mustPass = new Set(Object.values(MUST_PASS).flatMap((s) => Object.keys(s)));
  for (const entry of entries) {
    const [scenario, check] = entry.split(':');
    if (!check && mustPass.has(scenario)) {
      throw new Error(`${file}: '${scenario}' applies to a tools-only server and must pass; baseline single checks (${scenario}:<check-id>) instead`);
    }
    (check ? baseline.checks : baseline.scenarios).add(entry);
  }
  // Every entry carries its reason: a trailing comment, or the comment heading its group.
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const m = /^\s*-\s*([^#\s]+)\s*(#.*)?$/.exec(line);
    if (!m || m[2]) return;
    let j = i - 1;
    while (j >= 0 && /^\s*-\s*[^#\s]+/.test(lines[j])) j -= 1;
    if (j < 0 || !/^\s*#/.test(lines[j])) throw new Error(`${file}:${i + 1}: '${m[1]}' has no reason (add a # comment)`);
  });
  return baseline;
}

interface Check {
  id: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | 'SKIPPED' | string;
  errorMessage?: string;
}

/** scenario -> checks, from the suite's `-o` folder (`server-<scenario>-<timestamp>/checks.json`). */
export function readResults(outDir: string): Map<string, Check[]> {
  const results = new Map<string, Check[]>();
  if (!fs.existsSync(outDir)) return results;
  for (const name of fs.readdirSync(outDir).sort()) {
    const m = /^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/.exec(name);
    const file = path.join(outDir, name, 'checks.json');
    if (!m || !fs.existsSync(file)) continue;
    results.set(m[1], JSON.parse(fs.readFileSync(file, 'utf8')) as Check[]);
  }
  return results;
}

/** Problems with the must-pass scenarios of one era; empty when they all ran and passed. */
export function mustPassProblems(era: Era, results: Map<string, Check[]>, baseline: Baseline): string[] {
  const problems: string[] = [];
  for (const [scenario, required] of Object.entries(MUST_PASS[era])) {
    const checks = results.get(scenario);
    if (!checks) {
      problems.push(`${scenario}: did not run`);
      continue;
    }
    for (const c of checks) {
      if (c.status === 'FAILURE' && !baseline.checks.has(`${scenario}:${c.id}`)) {
        problems.push(`${scenario}: ${c.id} failed${c.errorMessage ? `: ${c.errorMessage}` : ''}`);
      }
    }
    for (const id of required) {
      const mine = checks.filter((c) => c.id === id);
      if (mine.length === 0) problems.push(`${scenario}: check ${id} missing`);
      else if (!mine.every((c) => c.status === 'SUCCESS')) problems.push(`${scenario}: check ${id} did not succeed (${mine.map((c) => c.status).join(', ')})`);
    }
  }
  return problems;
}

interface EraOutcome {
  era: Era;
  suiteExit: number;
  timedOut: boolean;
  passed: number;
  failed: number;
  problems: string[];
}

/** The suite's own lines worth reading: per-scenario verdicts and its baseline verdict. */
export function conciseOutput(stdout: string): string {
  // eslint-disable-next-line no-control-regex
  const lines = stdout.replace(/\x1b\[[0-9;]*m/g, '').split('\n');
  const expected = lines.filter((l) => l.startsWith('  ~ ')).length;
  return lines
    .filter((l) => l.trim() && !/^(Running |=== Running|Results saved to|=== SUMMARY ===|  ~ )/.test(l))
    .map((l) => (l.startsWith('Expected failures (in baseline)') ? `Expected failures (in baseline): ${expected} (see ${path.relative(projectRoot, BASELINE_FILE)})` : l))
    .join('\n');
}

async function runEra(era: Era, node: string, conformance: string, url: string, baseline: Baseline, verbose: boolean): Promise<EraOutcome> {
  const outDir = path.join(cacheDir, 'results', era);
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  const args = [conformance, 'server', '--url', url, '--suite', 'all', '--spec-version', era, '--expected-failures', BASELINE_FILE, '-o', outDir, '--timeout', '30000'];
  log(`\n=== conformance ${CLIENT_VERSIONS.conformance}, era ${era}: ${url}`);
  const result = await run(node, args, { timeoutMs: 150_000, env: { ...process.env, NO_COLOR: '1' } });
  fs.writeFileSync(path.join(cacheDir, 'results', `${era}.log`), result.stdout + result.stderr);
  log(verbose ? result.stdout : conciseOutput(result.stdout));
  if (result.stderr.trim()) log(result.stderr.trim());
  const results = readResults(outDir);
  const all = [...results.values()];
  return {
    era,
    suiteExit: result.code,
    timedOut: result.timedOut,
    passed: all.filter((checks) => !checks.some((c) => c.status === 'FAILURE')).length,
    failed: all.filter((checks) => checks.some((c) => c.status === 'FAILURE')).length,
    problems: mustPassProblems(era, results, baseline),
  };
}

async function main(): Promise<number> {
  startDeadline('conformance');
  const verbose = process.argv.includes('--verbose');
  const started = Date.now();
  const baseline = loadBaseline();
  const tools = await ensureClientTools();
  const catalog = await ensureCatalog();
  let server: RunningServer | undefined;
  const outcomes: EraOutcome[] = [];
  try {
    server = await startServer(catalog);
    for (const era of ERAS) outcomes.push(await runEra(era, tools.node, tools.conformance, server.url, baseline, verbose));
  } finally {
    await server?.stop();
  }

  log(`\n=== conformance summary (${Math.round((Date.now() - started) / 1000)} s; catalog ${shown(catalog)}; details in ${shown(path.join(cacheDir, 'results'))})`);
  let ok = true;
  for (const o of outcomes) {
    const good = o.suiteExit === 0 && !o.timedOut && o.problems.length === 0;
    ok &&= good;
    const verdict = o.timedOut
      ? 'TIMED OUT'
      : o.suiteExit === 0
        ? `${o.failed} failing only as the baseline expects (not applicable)`
        : `${o.failed} failing, suite exit ${o.suiteExit}: unexpected failures or stale baseline entries, see above`;
    log(`${good ? 'PASS' : 'FAIL'}  ${o.era}: ${o.passed + o.failed} scenarios run, ${o.passed} clean, ${verdict}`);
    for (const p of o.problems) log(`      must pass: ${p}`);
  }
  return ok ? 0 : 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename ?? '')) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      log(`conformance: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
