import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { loadDocument } from '../generator/openapi/load.ts';
import { pruneDocument } from '../generator/openapi/prune.ts';
import type { OpenApiDocument } from '../generator/openapi/types.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, 'fixtures/openapi');
const vendorDir = process.env.SPECGATE_OPENAPI_DIR ?? path.resolve(here, '../../shared/openapi');
const examples = path.resolve(here, '../node_modules/@readme/oas-examples');

/** Type-checks in-memory modules with the TypeScript compiler API; returns the error messages. */
function typecheck(files: Record<string, string>): string[] {
  const options: ts.CompilerOptions = { strict: true, noEmit: true, skipLibCheck: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, types: [] };
  const host = ts.createCompilerHost(options);
  const original = { getSourceFile: host.getSourceFile, fileExists: host.fileExists, readFile: host.readFile };
  host.getSourceFile = (name, lang, ...rest) =>
    name in files ? ts.createSourceFile(name, files[name], lang) : original.getSourceFile.call(host, name, lang, ...rest);
  host.fileExists = (name) => name in files || original.fileExists.call(host, name);
  host.readFile = (name) => files[name] ?? original.readFile.call(host, name);
  const program = ts.createProgram(Object.keys(files), options, host);
  return ts.getPreEmitDiagnostics(program).map((d) =>
    `${d.file?.fileName ?? ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
}

async function typesOf(doc: OpenApiDocument): Promise<string> {
  return astToString(await openapiTS(doc as never, { silent: true }));
}

describe('pruneDocument', () => {
  it('keeps only the selected operations and the components they reach (cycles included), sorted', async () => {
    const doc = await loadDocument('schemas.yaml', { baseDir: fixtures });
    const pruned = pruneDocument(doc.document, [{ method: 'GET', path: '/nodes/{id}' }]);
    expect(Object.keys(pruned.paths)).toEqual(['/nodes/{id}']);
    expect(Object.keys(pruned.components!.schemas)).toEqual(['A', 'B', 'Base', 'Filter', 'Node']);
    expect(pruned.servers).toEqual(doc.document.servers);
    // The source document is untouched.
    expect(Object.keys(doc.document.components!.schemas)).toContain('Odd<Name>');
  });

  it('fills in derived operationIds, keeps securitySchemes and path-level parameters', async () => {
    const doc = await loadDocument('params.yaml', { baseDir: fixtures });
    const pruned = pruneDocument(doc.document, [{ method: 'get', path: '/api/Tickets/{id}' }, { method: 'GET', path: '/a-b' }]);
    expect(Object.keys(pruned.paths)).toEqual(['/a-b', '/api/Tickets/{id}']);
    const item = pruned.paths['/api/Tickets/{id}'];
    expect(Object.keys(item)).toEqual(['parameters', 'get']);
    expect((item.get as { operationId: string }).operationId).toBe('getTicketsById');
    expect(Object.keys(pruned.components!)).toEqual(['parameters', 'securitySchemes']);
    expect(Object.keys(pruned.components!.securitySchemes)).toEqual(['apiKey', 'bearer']);
    expect(pruned.components!.parameters).toHaveProperty('Fields');
    expect(pruned.security).toEqual([{ bearer: [] }]);
    expect(JSON.stringify(pruneDocument(doc.document, [{ method: 'GET', path: '/a-b' }, { method: 'GET', path: '/api/Tickets/{id}' }])))
      .toBe(JSON.stringify(pruned));
  });

  it('refuses an operation the document does not have', async () => {
    const doc = await loadDocument('params.yaml', { baseDir: fixtures });
    expect(() => pruneDocument(doc.document, [{ method: 'PUT', path: '/a-b' }])).toThrow(/no operation PUT \/a-b/);
  });

  it('hoists refs into paths (kept or cut away) into components', async () => {
    const doc = await loadDocument(path.join(examples, '3.0/json/circular-paths.json'));
    const gets = doc.operations.filter((o) => o.method === 'GET');
    const pruned = pruneDocument(doc.document, gets);
    expect(Object.keys(pruned.paths).every((p) => Object.keys(pruned.paths[p]).every((k) => k !== 'post'))).toBe(true);
    const refs = [...JSON.stringify(pruned).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]);
    expect(refs.length).toBeGreaterThan(0);
    for (const r of refs) expect(r).toMatch(/^#\/components\//);
    expect(refs.some((r) => r.startsWith('#/components/schemas/paths_'))).toBe(true);
    await expect(typesOf(pruned)).resolves.toContain('export interface paths');
  });

  it('feeds openapi-typescript: the types of the fixtures compile, with operations named by operationId', async () => {
    const files: Record<string, string> = {};
    const cases: Array<[string, { merge?: string[]; overlays?: string[] }]> = [
      ['params.yaml', {}], ['schemas.yaml', {}], ['external/main.yaml', {}], ['params.yaml', { merge: ['merge.yaml'], overlays: ['overlay.yaml'] }],
    ];
    for (const [name, options] of cases) {
      const doc = await loadDocument(name, { baseDir: fixtures, ...options });
      const pruned = pruneDocument(doc.document, doc.operations.filter((o) => o.method === 'GET'));
      files[`/virtual/fixture-${Object.keys(files).length}.ts`] = await typesOf(pruned);
    }
    const params = files['/virtual/fixture-0.ts'];
    expect(params).toContain('getTicketsById: {');
    expect(params).toContain('getAB2: {');
    expect(params).not.toContain('removeTicket');
    expect(typecheck(files)).toEqual([]);
  });
});

describe.skipIf(!fs.existsSync(vendorDir))('pruneDocument on every corpus document', () => {
  it('prunes to all GET operations, generates types with openapi-typescript, and tsc compiles them', async () => {
    const sources = fs.readdirSync(vendorDir).filter((f) => /\.(json|ya?ml)$/.test(f)).map((f) => path.join(vendorDir, f));
    for (const version of ['2.0', '3.0', '3.1']) {
      for (const format of ['json', 'yaml']) {
        const dir = path.join(examples, version, format);
        for (const f of fs.readdirSync(dir, { recursive: true }) as string[]) if (/\.(json|ya?ml)$/.test(f)) sources.push(path.join(dir, f));
      }
    }
    const files: Record<string, string> = {};
    let loaded = 0;
    for (const source of sources) {
      let doc;
      try {
        doc = await loadDocument(source);
      } catch (e) {
        // Documents that fail to load are covered by openapi-corpus.test.ts (clear message, no crash).
        expect((e as Error).message.startsWith(source)).toBe(true);
        continue;
      }
      loaded++;
      const gets = doc.operations.filter((o) => o.method === 'GET');
      const pruned = pruneDocument(doc.document, gets);
      for (const op of gets) expect((pruned.paths[op.path][op.method.toLowerCase()] as { operationId: string }).operationId).toBe(op.operationId);
      const text = await typesOf(pruned).catch((e: Error) => {
        throw new Error(`openapi-typescript failed on ${source}: ${e.message}`);
      });
      files[`/virtual/${loaded}-${path.basename(source).replace(/[^A-Za-z0-9]/g, '_')}.ts`] = text;
    }
    expect(loaded).toBeGreaterThan(60);
    expect(typecheck(files)).toEqual([]);
  });
});
