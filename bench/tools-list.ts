/**
 * Section 3: tools/list with 1,000 tools loaded, over real HTTP on 127.0.0.1: one page (the
 * default page size) and a full walk following nextCursor, each repeated a bounded number of times.
 */
import pino from 'pino';
import { request } from 'undici';
import { buildCatalog } from '../runtime/catalog.ts';
import { buildServer } from '../runtime/server.ts';
import type { BenchOptions } from './options.ts';
import type { SectionResult } from './report.ts';
import { percentile, round } from './stats.ts';
import { syntheticConnectors } from './synthetic-catalog.ts';

const TOOLS = 1000;
const WARMUP = 20;
const headers = {
  accept: 'application/json, text/event-stream',
  'content-type': 'application/json',
  'mcp-protocol-version': '2025-11-25',
};

interface Page { names: string[]; nextCursor?: string; bytes: number }

async function listPage(url: string, cursor: string | undefined): Promise<Page> {
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: cursor === undefined ? {} : { cursor } });
  const response = await request(url, { method: 'POST', headers, body });
  const text = await response.body.text();
  const json = text.startsWith('event:') || text.startsWith('data:')
    ? text.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('')
    : text;
  const message = JSON.parse(json) as { result?: { tools: Array<{ name: string }>; nextCursor?: string }; error?: { message: string } };
  if (response.statusCode !== 200 || !message.result) {
    throw new Error(`tools/list answered ${response.statusCode}: ${message.error?.message ?? text.slice(0, 200)}`);
  }
  return { names: message.result.tools.map((t) => t.name), nextCursor: message.result.nextCursor, bytes: Buffer.byteLength(text) };
}

async function walk(url: string): Promise<{ names: string[]; pages: number; bytes: number }> {
  const names: string[] = [];
  let pages = 0;
  let bytes = 0;
  let cursor: string | undefined;
  do {
    const page = await listPage(url, cursor);
    names.push(...page.names);
    bytes += page.bytes;
    cursor = page.nextCursor;
    // A cursor loop in the server must not hang the bench.
    if (++pages > TOOLS) throw new Error('tools/list walk did not end: more pages than tools');
  } while (cursor !== undefined);
  return { names, pages, bytes };
}

async function timed<T>(times: number, run: () => Promise<T>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    await run();
    samples.push(performance.now() - started);
  }
  return samples;
}

export async function benchToolsList(options: BenchOptions, log: (line: string) => void): Promise<SectionResult> {
  const catalog = buildCatalog(syntheticConnectors(TOOLS));
  const app = await buildServer({
    catalog,
    callTool: async () => ({ content: [{ type: 'text', text: 'not used' }], isError: true }),
    logger: pino({ level: 'silent' }),
    shutdown: { signals: [] },
    defaultMetrics: false,
  });
  try {
    const url = new URL('/mcp', await app.listen({ host: '127.0.0.1', port: 0 })).toString();
    const check = await walk(url);
    if (check.names.length !== TOOLS || new Set(check.names).size !== TOOLS) {
      throw new Error(`a tools/list walk returned ${check.names.length} names (${new Set(check.names).size} distinct), expected ${TOOLS}`);
    }
    const first = await listPage(url, undefined);
    await timed(WARMUP, () => listPage(url, undefined));
    log(`tools/list over ${TOOLS} tools: ${options.listPages} single pages, ${options.listWalks} full walks`);
    const pageSamples = await timed(options.listPages, () => listPage(url, undefined));
    const walkSamples = await timed(options.listWalks, () => walk(url));
    const stat = (s: number[]) => ({ p50: round(percentile(s, 50)), p99: round(percentile(s, 99)), samples: s.length });
    const page = stat(pageSamples);
    const full = stat(walkSamples);
    const section = `tools/list (${TOOLS} tools)`;
    return {
      name: 'tools-list',
      rows: [
        { section, metric: `one page (${first.names.length} tools, ${Math.round(first.bytes / 1024)} KiB)`, value: `p50 ${page.p50} ms, p99 ${page.p99} ms` },
        { section, metric: `full walk (${check.pages} pages, ${Math.round(check.bytes / 1024)} KiB)`, value: `p50 ${full.p50} ms, p99 ${full.p99} ms` },
      ],
      details: { tools: TOOLS, pageSize: first.names.length, pages: check.pages, pageBytes: first.bytes, walkBytes: check.bytes, page, walk: full },
    };
  } finally {
    await app.close();
  }
}
