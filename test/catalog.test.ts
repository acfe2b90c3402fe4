/**
 * The connector catalog in specs/, end to end: generated from the vendors' real documents, served
 * by the runtime against a mock upstream driven by the same documents, and every tool called
 * through the official MCP client. Each result must validate against the tool's outputSchema,
 * and each customer-bound parameter must reach the upstream as the runtime's value, whatever the
 * arguments say.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { Client } from '@modelcontextprotocol/client';
import { loadCatalog, type Catalog } from '../runtime/catalog.ts';
import { createToolCaller } from '../runtime/call.ts';
import { startRecorder, type Recorder } from './fixtures/call/harness.ts';
import { generateInto, haveVendorDocs, listAll, modernClient, legacyClient, root, serve, tempDir, vendorDocsMissing, type Served } from './helpers/e2e.ts';
import { sampleArguments } from './helpers/sample-args.ts';
import { answer, toolForRequest } from './helpers/owned.ts';

const specsDir = path.join(root, 'specs');
const specFiles = fs.existsSync(specsDir) ? fs.readdirSync(specsDir).filter((f) => f.endsWith('.yaml')).sort().map((f) => path.join(specsDir, f)) : [];

describe.skipIf(!haveVendorDocs || specFiles.length === 0)(`the catalog in specs/${haveVendorDocs ? '' : ` (${vendorDocsMissing})`}`, () => {
  const dir = tempDir('catalog');
  const outDir = path.join(dir, 'generated');
  let catalog: Catalog;
  let served: Served;
  let client: Client;
  let warnings: string[] = [];

  beforeAll(async () => {
    const result = await generateInto(specFiles, outDir);
    warnings = result.diagnostics.filter((d) => d.severity === 'warning').map((d) => `${path.relative(root, d.file)}:${d.line}:${d.column} ${d.code} ${d.message}`);
    catalog = await loadCatalog(outDir);
    served = await serve(outDir, { mock: true });
    client = await modernClient(served.url);
  });
  afterAll(async () => {
    await client?.close();
    await served?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('generates every connector with no warning left unexplained', () => {
    expect(warnings).toEqual([]);
    for (const c of catalog.connectors) {
      expect(c.model.tools.length, c.model.name).toBeGreaterThanOrEqual(10);
      expect(c.model.tools.length, c.model.name).toBeLessThanOrEqual(30);
      expect(c.model.document.sha256).toMatch(/^[a-f0-9]{64}$/);
    }
  });

  it('has a catalog page that matches what is served (specgate docs --check)', async () => {
    const { renderCatalogPage } = await import('../generator/catalog-page.ts');
    const links = Object.fromEntries(catalog.connectors.map((c) => [c.model.name, `connectors/${c.model.name}.md`]).filter(([n]) => fs.existsSync(path.join(root, 'docs', 'connectors', `${n}.md`))));
    const page = renderCatalogPage(catalog.connectors.map((c) => c.model), links);
    expect(fs.readFileSync(path.join(root, 'docs', 'catalog.md'), 'utf8')).toBe(page);
    for (const t of catalog.tools) expect(page).toContain(`| \`${t.name}\` |`);
  });

  it('lists the same tools to a 2026-era and a 2025-era client', async () => {
    const modern = await listAll(client);
    const legacy = await legacyClient(served.url);
    try {
      const old = await listAll(legacy);
      expect(old.map((t) => t.name)).toEqual(modern.map((t) => t.name));
    } finally {
      await legacy.close();
    }
    expect(modern.map((t) => t.name)).toEqual(catalog.tools.map((t) => t.name));
  });

  it('answers every tool against the mock upstream with a result that fits its outputSchema', async () => {
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    const failures: string[] = [];
    for (const tool of catalog.tools) {
      const args = sampleArguments(tool.inputSchema as Record<string, unknown>);
      const result = (await client.callTool({ name: tool.name, arguments: args })) as { isError?: boolean; content: Array<{ text?: string }>; structuredContent?: unknown };
      if (result.isError) {
        failures.push(`${tool.name}(${JSON.stringify(args)}): ${result.content[0]?.text}`);
        continue;
      }
      const validate = ajv.compile(tool.outputSchema as object);
      if (!validate(result.structuredContent)) failures.push(`${tool.name}: ${ajv.errorsText(validate.errors)}`);
    }
    expect(failures).toEqual([]);
  });

  describe('customer binding', () => {
    let recorder: Recorder;
    let current: { connector: string; owner: string } | undefined;
    const docs: Record<string, Record<string, unknown>> = {};
    beforeAll(() => {
      for (const c of catalog.connectors) docs[c.model.name] = JSON.parse(fs.readFileSync(path.join(outDir, c.model.name, 'openapi.json'), 'utf8'));
    });
    beforeAll(async () => {
      // Each answer is the forced customer's own record(s), where the tool's ownership check reads them.
      recorder = await startRecorder((url, req) => {
        const connector = current?.connector;
        const tools = catalog.tools.filter((t) => t.connector === connector && t.ownership);
        const t = toolForRequest(tools, req.method ?? 'GET', url.pathname);
        return { status: 200, body: t && current ? answer(docs[t.connector]!, t, [current.owner], () => 'own') : {} };
      }, '');
    });
    afterAll(async () => recorder?.close());

    it('sends the runtime\'s customer id on every customer-bound tool and refuses an argument that tries to set it', async () => {
      const bound = catalog.tools.filter((t) => t.customerParameters.length > 0);
      expect(bound.length).toBeGreaterThan(0);
      const connectors = catalog.connectors;
      const caller = createToolCaller({
        connectors,
        upstreams: Object.fromEntries(connectors.map((c) => [c.model.name, { baseUrl: recorder.url }])),
        retries: 0,
      });
      try {
        for (const tool of bound) {
          // Numeric, so that it also fits vendors' integer id fields where the owner is written back.
          const forced = `9${connectors.findIndex((c) => c.model.name === tool.connector)}0417`;
          current = { connector: tool.connector, owner: forced };
          // A connector's named ids (Datto RMM's siteId) are the same forced value.
          const names = connectors.find((c) => c.model.name === tool.connector)!.model.customer?.ids ?? [];
          const ctx = { requestId: tool.name, signal: new AbortController().signal, customerIds: { [tool.connector]: forced }, customerNamedIds: { [tool.connector]: Object.fromEntries(names.map((n) => [n, forced])) } };
          const args = sampleArguments(tool.inputSchema as Record<string, unknown>);
          const before = recorder.requests.length;
          const ok = await caller.callTool(tool, args, ctx);
          expect(ok.isError, `${tool.name}: ${ok.content[0]?.text}`).toBeFalsy();
          const sent = recorder.requests[before];
          expect(decodeURIComponent(sent.url), tool.name).toContain(forced);

          // The model cannot choose another customer: the parameter is not an argument at all.
          for (const p of tool.customerParameters) {
            const forged = await caller.callTool(tool, { ...args, [p]: 'someone-else' }, ctx);
            expect(forged.isError, tool.name).toBe(true);
            expect(forged.content[0]?.text).toContain(p);
          }
          expect(recorder.requests.length).toBe(before + 1);

          const none = await caller.callTool(tool, args, { requestId: tool.name, signal: new AbortController().signal, customerIds: {} });
          expect(none.isError).toBe(true);
          expect(none.content[0]?.text).toMatch(/customer/i);
          expect(recorder.requests.length).toBe(before + 1);
        }
      } finally {
        await caller.close();
      }
    });
  });
});
