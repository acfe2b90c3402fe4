/**
 * Section `ownership`: what response ownership verification costs on a 100-item page, relative to
 * the whole tool call. One tool, served by an in-process node:http upstream answering 100 items of
 * two customers, called through the runtime's tool caller with and without an ownership check;
 * and the check alone on the parsed page, repeated. Target: the check under 5% of the call.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createToolCaller } from '../runtime/call.ts';
import { checkOwnership } from '../runtime/execution/ownership.ts';
import type { GeneratedConnector, ToolModel } from '../runtime/model.ts';
import type { BenchOptions } from './options.ts';
import type { SectionResult } from './report.ts';
import { percentile, round } from './stats.ts';

const ITEMS = 100;

function tool(ownership: boolean): ToolModel {
  return {
    name: ownership ? 'bench_list_owned' : 'bench_list_plain',
    description: 'bench', connector: 'bench', operation: { method: 'GET', path: '/items', operationId: 'listItems' },
    effect: 'read', riskTier: 'low', tags: [],
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    inputSchema: { type: 'object', properties: {}, additionalProperties: false }, outputSchema: { type: 'object' },
    parameters: [], customerParameters: [],
    ...(ownership && { ownership: { field: 'company.id', items: 'items' } }),
    shape: { project: 'items[].{id: id, name: name, status: status, company: company.name}', itemsPath: '@', maxItems: ITEMS },
    definitionTokens: 0,
  };
}

export async function benchOwnership(options: BenchOptions, log: (line: string) => void): Promise<SectionResult> {
  const page = JSON.stringify({
    items: Array.from({ length: ITEMS }, (_, i) => ({
      id: i, name: `device-${i}`, status: 'online', notes: 'x'.repeat(200), company: { id: i % 2 ? 4101 : 4202, name: i % 2 ? 'Contoso' : 'Fabrikam' },
    })),
  });
  const server = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(page));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const tools = [tool(false), tool(true)];
  const connector: GeneratedConnector = {
    model: { name: 'bench', title: 'bench', document: { source: '', sha256: '', version: '', openapi: '3.0.3' }, servers: [], auth: { schemes: [] }, tools, allowList: [{ method: 'GET', path: '/items' }] },
    createClient: ({ baseUrl: base, fetch }) => ({
      listItems: async (req) => {
        const response = await (req.fetch ?? fetch)(new Request(`${base}/items`));
        return { data: await response.text(), response };
      },
    }),
  };
  const caller = createToolCaller({ connectors: [connector], upstreams: { bench: { baseUrl } }, retries: 0 });
  const ctx = { requestId: 'bench', signal: new AbortController().signal, customerIds: { bench: '4101' }, customer: 'contoso' };
  const runs = options.short ? 200 : 1000;
  const time = async (t: ToolModel) => {
    const out: number[] = [];
    for (let i = 0; i < runs + 50; i++) {
      const started = performance.now();
      const r = await caller.callTool(t, {}, ctx);
      if (r.isError) throw new Error(`bench call failed: ${r.content[0]?.text}`);
      if (i >= 50) out.push(performance.now() - started);
    }
    return out.sort((a, b) => a - b);
  };
  try {
    log(`ownership: ${runs} calls each, ${ITEMS}-item pages (${Math.round(page.length / 1024)} KiB)`);
    // Alternated, so that drift on a shared machine hits both alike.
    const plain: number[] = [];
    const owned: number[] = [];
    for (let round_ = 0; round_ < 4; round_++) {
      plain.push(...(await time(tools[0]!)));
      owned.push(...(await time(tools[1]!)));
    }
    plain.sort((a, b) => a - b);
    owned.sort((a, b) => a - b);
    const raw = JSON.parse(page) as unknown;
    const checks: number[] = [];
    for (let i = 0; i < runs * 4; i++) {
      const started = performance.now();
      checkOwnership(tools[1]!, raw, '4101', 'contoso');
      checks.push(performance.now() - started);
    }
    checks.sort((a, b) => a - b);
    const callP50 = percentile(owned, 50);
    const checkP50 = percentile(checks, 50);
    const share = (checkP50 / callP50) * 100;
    const section = 'ownership';
    return {
      name: section,
      rows: [
        { section, metric: `tool call, ${ITEMS} items, no ownership check`, value: `p50 ${round(percentile(plain, 50))} ms, p99 ${round(percentile(plain, 99))} ms` },
        { section, metric: `tool call, ${ITEMS} items, ownership checked (half withheld)`, value: `p50 ${round(callP50)} ms, p99 ${round(percentile(owned, 99))} ms` },
        { section, metric: `ownership check alone on ${ITEMS} items`, value: `p50 ${round(checkP50 * 1000)} µs = ${round(share)}% of the call`, target: 'under 5% of the call', verdict: share < 5 ? 'met' : 'missed' },
      ],
      details: { items: ITEMS, runs, plainP50: percentile(plain, 50), ownedP50: callP50, checkP50Ms: checkP50, sharePercent: share },
    };
  } finally {
    await caller.close();
    await new Promise<void>((r) => server.close(() => r()));
  }
}
