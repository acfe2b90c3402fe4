/**
 * Every real document we know of goes through the OpenAPI half: the vendors' documents and every
 * example of @readme/oas-examples (Swagger 2.0, OpenAPI 3.0 and 3.1, JSON and YAML, circular and
 * deliberately odd ones). Each loads or fails with an Error naming the document; each loaded one
 * lists, prunes, and converts every GET operation into JSON Schemas that Ajv compiles.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { loadDocument } from '../generator/openapi/load.ts';
import { pruneDocument } from '../generator/openapi/prune.ts';
import type { LoadedDocument } from '../generator/openapi/types.ts';
import { SchemaConverter } from '../generator/schema/json-schema.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const vendorDir = process.env.SPECGATE_OPENAPI_DIR ?? path.resolve(here, '../../shared/openapi');
const examples = path.resolve(here, '../node_modules/@readme/oas-examples');

function exampleFiles(): string[] {
  const files: string[] = [];
  for (const version of ['2.0', '3.0', '3.1']) {
    for (const format of ['json', 'yaml']) {
      const dir = path.join(examples, version, format);
      for (const f of fs.readdirSync(dir, { recursive: true }) as string[]) if (/\.(json|ya?ml)$/.test(f)) files.push(path.join(dir, f));
    }
  }
  return files.sort();
}

/** Lists, prunes and converts; returns how many GET operations were converted. */
function exercise(doc: LoadedDocument): number {
  const ids = doc.operations.map((o) => o.operationId);
  expect(new Set(ids).size).toBe(ids.length);
  const gets = doc.operations.filter((o) => o.method === 'GET');
  const pruned = pruneDocument(doc.document, gets);
  expect(Object.keys(pruned.paths).length).toBe(new Set(gets.map((o) => o.path)).size);
  const ajv = new Ajv2020({ strict: false, logger: false });
  for (const op of gets) {
    const input = new SchemaConverter(doc.document, { mode: 'input' });
    const properties: Record<string, unknown> = {};
    for (const p of op.parameters) properties[`${p.in}.${p.name}`] = input.convert(p.schema);
    const inputSchema = { type: 'object', properties, $defs: input.defs() };
    const output = new SchemaConverter(doc.document, { mode: 'output' });
    const outputSchema = { ...(op.responseSchema ? output.convert(op.responseSchema) : {}), $defs: output.defs() };
    for (const [kind, schema] of [['input', inputSchema], ['output', outputSchema]] as const) {
      try {
        ajv.compile(schema);
      } catch (e) {
        throw new Error(`${doc.source} ${op.method} ${op.path} ${kind} schema: ${(e as Error).message}`);
      }
    }
  }
  return gets.length;
}

describe('@readme/oas-examples: every document loads or fails clearly', () => {
  const files = exampleFiles();
  it('finds the examples', () => {
    expect(files.length).toBeGreaterThan(100);
  });
  for (const file of files) {
    it(path.relative(examples, file), async () => {
      let doc: LoadedDocument;
      try {
        doc = await loadDocument(file);
      } catch (e) {
        expect(e).toBeInstanceOf(Error);
        expect((e as Error).message.startsWith(`${file}: `) || (e as Error).message.startsWith(`${file}:`)).toBe(true);
        return;
      }
      expect(doc.document.openapi).toMatch(/^3\./);
      exercise(doc);
    });
  }
});

describe.skipIf(!fs.existsSync(vendorDir))('vendor documents', () => {
  const expected: Record<string, { version: string; ops: number; gets: number }> = {
    'halopsa.json': { version: '3.0.1', ops: 1216, gets: 648 },
    'hudu.json': { version: '2.0', ops: 158, gets: 64 },
    'pax8.json': { version: '3.0.1', ops: 29, gets: 21 },
    'pax8-quoting.json': { version: '3.1.0', ops: 33, gets: 9 },
    'pax8-webhooks.json': { version: '3.1.0', ops: 15, gets: 5 },
    'connectwise-manage.get-subset.json': { version: '3.0.1', ops: 324, gets: 324 },
    'itglue.partial.yaml': { version: '3.0.3', ops: 12, gets: 6 },
  };
  for (const [file, want] of Object.entries(expected)) {
    it(file, async () => {
      const doc = await loadDocument(file, { baseDir: vendorDir });
      expect(doc.originalVersion).toBe(want.version);
      expect(doc.operations).toHaveLength(want.ops);
      expect(exercise(doc)).toBe(want.gets);
    });
  }

  it('HaloPSA: every operation gets a derived, unique, readable operationId', async () => {
    const doc = await loadDocument('halopsa.json', { baseDir: vendorDir });
    expect(doc.operations.every((o) => o.derivedOperationId)).toBe(true);
    for (const o of doc.operations) expect(o.operationId).toMatch(/^(get|post|delete)[A-Z0-9][A-Za-z0-9]*$/);
    const byKey = new Map(doc.operations.map((o) => [`${o.method} ${o.path}`, o.operationId]));
    expect(byKey.get('GET /Tickets')).toBe('getTickets');
    expect(byKey.get('GET /Tickets/{id}')).toBe('getTicketsById');
    expect(doc.operations.every((o) => o.security.join() === 'Bearer')).toBe(true);
    // Deterministic: a second load derives the very same ids.
    const again = await loadDocument('halopsa.json', { baseDir: vendorDir });
    expect(again.operations.map((o) => o.operationId)).toEqual(doc.operations.map((o) => o.operationId));
  });
});
