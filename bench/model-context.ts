/**
 * Section "context": what a model sees before the user says anything. Over real HTTP with the
 * official client, the tokens of the initial tool context (the tools/list entries plus the server
 * instructions, as a client puts them in the prompt) in each mode, for the launch catalog, for
 * the launch catalog plus the roadmap connectors (whatever else specs/ generated), and for both
 * plus 400 synthetic tools; and the search quality of discovery on a fixed set of technician
 * questions (bench/fixtures/technician-questions.json), each naming the real tool that answers it.
 */
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { buildCatalog, loadCatalog, type Catalog } from '../runtime/catalog.ts';
import { buildServer } from '../runtime/server.ts';
import type { DiscoveryOptions } from '../runtime/discovery/mode.ts';
import { searchTools } from '../runtime/discovery/search.ts';
import { jsonTokens, textTokens } from '../generator/tokens.ts';
import type { BenchOptions } from './options.ts';
import type { SectionResult } from './report.ts';
import { syntheticConnectors } from './synthetic-catalog.ts';

const projectDir = path.resolve(import.meta.dirname, '..');
/** Synthetic tools added on top: a catalog far larger than any MSP's, for the token target. */
const ROADMAP_TOOLS = 400;
export const QUESTIONS_FILE = path.join(projectDir, 'bench', 'fixtures', 'technician-questions.json');
export const DISCOVERY_TARGET_TOKENS = 3_000;
export const TOP3_TARGET = 0.9;

/** The connectors specgate launched with; every other generated connector is the roadmap's. */
export const LAUNCH_CONNECTORS: readonly string[] = ['connectwise', 'halopsa', 'hudu', 'itglue', 'pax8'];

/**
 * `tool` answers the question from the launch catalog; `roadmapTool`, when set, is the better
 * answer once the roadmap connectors are there (an RMM's patch report rather than the PSA's assets).
 */
export interface Question { question: string; tool: string; roadmapTool?: string }

export interface ContextTokens { tools: number; toolTokens: number; instructionTokens: number; total: number }

/** The initial context a client builds from one server: every tools/list entry and the instructions. */
export async function initialContext(catalog: Catalog, discovery: DiscoveryOptions, headers: Record<string, string> = {}): Promise<ContextTokens> {
  const app = await buildServer({
    catalog,
    callTool: async () => ({ content: [{ type: 'text', text: 'not used' }], isError: true }),
    discovery,
    logger: pino({ level: 'silent' }),
    shutdown: { signals: [] },
    defaultMetrics: false,
  });
  try {
    const url = new URL('/mcp', await app.listen({ host: '127.0.0.1', port: 0 }));
    const client = new Client({ name: 'bench-context', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers } }));
    try {
      const { tools } = await client.listTools();
      const toolTokens = jsonTokens(JSON.stringify(tools));
      const instructionTokens = textTokens(client.getInstructions() ?? '');
      return { tools: tools.length, toolTokens, instructionTokens, total: toolTokens + instructionTokens };
    } finally {
      await client.close();
    }
  } finally {
    await app.close();
  }
}

export interface Quality { questions: number; top1: number; top3: number; top3Rate: number; misses: Array<{ question: string; expected: string; got: string[] }> }

export function searchQuality(catalog: Catalog, questions: Question[]): Quality {
  const visible = new Set(catalog.tools.map((t) => t.name));
  let top1 = 0;
  let top3 = 0;
  const misses: Quality['misses'] = [];
  for (const q of questions) {
    if (!catalog.byName.has(q.tool)) throw new Error(`${QUESTIONS_FILE}: '${q.question}' expects ${q.tool}, which is not in the catalog`);
    const got = searchTools(catalog, q.question, { visible, limit: 3 }).map((h) => h.name);
    if (got[0] === q.tool) top1++;
    if (got.includes(q.tool)) top3++;
    else misses.push({ question: q.question, expected: q.tool, got });
  }
  return { questions: questions.length, top1, top3, top3Rate: top3 / questions.length, misses };
}

export function loadQuestions(): Question[] {
  return JSON.parse(fs.readFileSync(QUESTIONS_FILE, 'utf8')) as Question[];
}

/** The questions a catalog can answer, each with the tool expected from that catalog. */
export function questionsFor(catalog: Catalog, questions: Question[], roadmap: boolean): Question[] {
  return questions
    .map((q) => ({ question: q.question, tool: (roadmap && q.roadmapTool) || q.tool }))
    .filter((q) => catalog.byName.has(q.tool));
}

/** The catalogs the section measures: launch, launch + roadmap (when specs/ has more), and + synthetic. */
export function benchCatalogs(generated: Catalog): Array<{ label: string; catalog: Catalog; roadmap: boolean }> {
  const launch = buildCatalog(generated.connectors.filter((c) => LAUNCH_CONNECTORS.includes(c.model.name)));
  const roadmapNames = generated.connectors.map((c) => c.model.name).filter((n) => !LAUNCH_CONNECTORS.includes(n));
  const out = [{ label: 'launch', catalog: launch, roadmap: false }];
  if (roadmapNames.length > 0) out.push({ label: `launch + roadmap (${roadmapNames.join(', ')})`, catalog: generated, roadmap: true });
  out.push({ label: `${roadmapNames.length > 0 ? 'launch + roadmap' : 'launch'} + ${ROADMAP_TOOLS} synthetic`, catalog: buildCatalog([...generated.connectors, ...syntheticConnectors(ROADMAP_TOOLS)]), roadmap: true });
  return out;
}

export async function benchModelContext(_options: BenchOptions, log: (line: string) => void): Promise<SectionResult> {
  const generated = await loadCatalog(path.join(projectDir, 'generated'));
  const questions = loadQuestions();
  const rows: SectionResult['rows'] = [];
  const details: Record<string, unknown> = {};
  for (const { label, catalog, roadmap } of benchCatalogs(generated)) {
    const section = `initial tool context, ${label} (${catalog.tools.length} tools)`;
    log(`tokens of the initial context: ${label}`);
    const full = await initialContext(catalog, { mode: 'off', threshold: 0 });
    const discovery = await initialContext(catalog, { mode: 'on', threshold: 0 });
    const pinned = await initialContext(catalog, { mode: 'on', threshold: 0 }, { 'specgate-toolsets': 'halopsa' });
    rows.push(
      { section, metric: 'every tool listed (discovery off)', value: `${full.total.toLocaleString('en')} tokens (${full.tools} tools)` },
      {
        section, metric: 'discovery on: meta-tools + instructions', value: `${discovery.total.toLocaleString('en')} tokens (${discovery.tools} tools)`,
        target: `< ${DISCOVERY_TARGET_TOKENS.toLocaleString('en')} tokens`, verdict: discovery.total < DISCOVERY_TARGET_TOKENS ? 'met' : 'missed',
      },
      { section, metric: 'discovery on, toolset halopsa pinned', value: `${pinned.total.toLocaleString('en')} tokens (${pinned.tools} tools)` },
    );
    const quality = searchQuality(catalog, questionsFor(catalog, questions, roadmap));
    rows.push({
      section: `search quality, ${label}`,
      metric: `${quality.questions} technician questions: right tool in top 3 (top 1)`,
      value: `${(quality.top3Rate * 100).toFixed(1)}% (top 1: ${quality.top1}/${quality.questions})`,
      target: `>= ${TOP3_TARGET * 100}% in top 3`, verdict: quality.top3Rate >= TOP3_TARGET ? 'met' : 'missed',
    });
    details[label] = { tools: catalog.tools.length, full, discovery, pinned, quality };
  }
  return { name: 'context', rows, details };
}
