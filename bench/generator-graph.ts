/**
 * The generator section's Microsoft Graph rows: a curated spec of 24 Graph tools and
 * `init --all-reads` on the whole 20 MB document, each as a ratio to a small document (Hudu's
 * launch spec) generated in the same run, so that the machine's load cancels out. The whole
 * document is also type-checked and served (start-up to the first listening report).
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadDocument } from '../generator/openapi/load.ts';
import { openapiDir } from '../generator/paths.ts';
import { scaffoldSpec } from '../generator/scaffold.ts';
import { projectDir, runTimed, startChild, workerPath, type TimedRun } from './child.ts';
import { cacheDir } from './octokit.ts';
import type { BenchOptions } from './options.ts';
import type { SectionResult } from './report.ts';
import { round } from './stats.ts';

interface GenerateReport { ms: number; tools: number; files: number; maxRssKiB: number }
interface TypecheckReport { ms: number; problems: number; firstProblems: unknown[]; maxRssKiB: number }

const CURATED_TARGET = 2;
const STARTUP_TARGET_MS = 10_000;

/** The questions a technician asks of a customer's Microsoft 365 tenant. */
const CURATED = [
  '/users', '/users/{user-id}', '/users/{user-id}/memberOf', '/users/{user-id}/licenseDetails',
  '/groups', '/groups/{group-id}', '/groups/{group-id}/members', '/auditLogs/signIns', '/auditLogs/directoryAudits',
  '/deviceManagement/managedDevices', '/deviceManagement/managedDevices/{managedDevice-id}', '/devices', '/subscribedSkus',
  '/admin/serviceAnnouncement/healthOverviews', '/admin/serviceAnnouncement/issues', '/organization', '/directoryRoles',
  '/directoryRoles/{directoryRole-id}/members', '/identity/conditionalAccess/policies', '/security/alerts_v2',
  '/security/incidents', '/domains', '/applications', '/servicePrincipals',
];

export async function benchGraph(options: BenchOptions, log: (line: string) => void): Promise<{ rows: SectionResult['rows']; details: unknown }> {
  const section = 'generator (Microsoft Graph)';
  const document = path.join(openapiDir(), 'msgraph-v1.0.json');
  if (!fs.existsSync(document)) {
    return { rows: [{ section, metric: 'Microsoft Graph document', value: `not found at ${document}: rows skipped` }], details: null };
  }
  fs.mkdirSync(cacheDir, { recursive: true });
  const curatedSpec = path.join(cacheDir, 'graph-curated.yaml');
  fs.writeFileSync(curatedSpec, [
    'specgate: 1', 'connector: graph', 'title: Microsoft Graph (bench)', 'document:', `  source: ${JSON.stringify(document)}`, 'tools:',
    ...CURATED.map((p) => `  - operation: ${JSON.stringify(`GET ${p}`)}`), '',
  ].join('\n'));
  const doc = await loadDocument(document);
  const wholeSpec = path.join(cacheDir, 'graph-all.yaml');
  fs.writeFileSync(wholeSpec, scaffoldSpec(doc, { specFile: wholeSpec, source: document, allReads: true, connector: 'graph' }));

  const generate = (spec: string, name: string) => {
    log(`generate ${name}`);
    return runTimed<GenerateReport>('generate', ['generate', spec, path.join(cacheDir, `generated-${name}`)], 900_000);
  };
  const small = await generate(path.join(projectDir, 'specs', 'hudu.yaml'), 'hudu');
  const curated = await generate(curatedSpec, 'graph-curated');
  const whole = await generate(wholeSpec, 'graph-all');
  const wholeDir = path.join(cacheDir, 'generated-graph-all');

  let typecheck: TimedRun<TypecheckReport> | undefined;
  if (options.typecheck) {
    log('type-check the whole-document Graph connector');
    typecheck = await runTimed<TypecheckReport>('generate', ['typecheck', wholeDir], 900_000);
  }
  log('serve the whole-document Graph connector');
  const served = await startChild<{ url: string; tools: number }>(
    [process.execPath, '--import', 'tsx', workerPath('runtime'), wholeDir, 'graph', 'http://127.0.0.1:9/v1.0'], { timeoutMs: 600_000 });
  await served.stop();

  const ratio = (r: TimedRun<GenerateReport>) => r.result.ms / small.result.ms;
  const memory = (r: TimedRun<GenerateReport>) => r.peakRssMiB / small.peakRssMiB;
  const figures = (r: TimedRun<GenerateReport>) =>
    `${round(r.result.ms / 1000)} s (${round(ratio(r))}x the small document), peak RSS ${Math.round(r.peakRssMiB)} MiB (${round(memory(r))}x)`;
  const rows: SectionResult['rows'] = [
    { section, metric: 'small document: Hudu launch spec', value: `${small.result.tools} tools, ${round(small.result.ms / 1000)} s, peak RSS ${Math.round(small.peakRssMiB)} MiB` },
    {
      section, metric: `curated Graph spec (${curated.result.tools} tools of ${doc.operations.length} operations, 20 MB)`, value: figures(curated),
      target: `<= ${CURATED_TARGET}x the small document`, verdict: ratio(curated) <= CURATED_TARGET ? 'met' : 'missed',
    },
    { section, metric: `init --all-reads on the whole document (${whole.result.tools} tools)`, value: figures(whole) },
    typecheck
      ? { section, metric: 'type-check the whole-document connector', value: `${round(typecheck.result.ms / 1000)} s, ${typecheck.result.problems} problems, peak RSS ${Math.round(typecheck.peakRssMiB)} MiB`, verdict: typecheck.result.problems === 0 ? 'met' : 'missed' }
      : { section, metric: 'type-check the whole-document connector', value: 'skipped (short run)' },
    {
      section, metric: 'serve the whole-document connector: start-up to listening', value: `${round(served.readyMs / 1000)} s, ${served.ready.tools} tools`,
      target: `<= ${STARTUP_TARGET_MS / 1000} s`, verdict: served.readyMs <= STARTUP_TARGET_MS ? 'met' : 'missed',
    },
  ];
  const run = (r: TimedRun<GenerateReport>) => ({ ms: round(r.result.ms), processMs: round(r.processMs), peakRssMiB: round(r.peakRssMiB, 1), tools: r.result.tools });
  return {
    rows,
    details: {
      small: run(small), curated: run(curated), whole: run(whole),
      ratios: { curatedTime: round(ratio(curated)), curatedMemory: round(memory(curated)), wholeTime: round(ratio(whole)), wholeMemory: round(memory(whole)) },
      typecheck: typecheck ? { ms: round(typecheck.result.ms), peakRssMiB: round(typecheck.peakRssMiB, 1), problems: typecheck.result.problems } : null,
      serveReadyMs: round(served.readyMs),
    },
  };
}
