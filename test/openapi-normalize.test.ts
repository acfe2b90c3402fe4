import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadDocument } from '../generator/openapi/load.ts';
import { normalizeDocument } from '../generator/openapi/normalize.ts';
import type { OpenApiDocument } from '../generator/openapi/types.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, 'fixtures/openapi');
const vendorDir = process.env.SPECGATE_OPENAPI_DIR ?? path.resolve(here, '../../shared/openapi');

describe('normalizeDocument', () => {
  it('maps non-standard type names and drops unknown ones, with notes', async () => {
    const doc = await loadDocument('params.yaml', { baseDir: fixtures });
    const list = doc.operations.find((o) => o.method === 'GET' && o.path === '/api/Tickets')!;
    const schema = (name: string) => list.parameters.find((p) => p.name === name)?.schema;
    expect(schema('ids')).toEqual({ type: 'array', items: { type: 'integer', format: 'int32' } });
    expect(schema('since')).toEqual({ type: 'string', format: 'date-time' });
    expect(schema('ratio')).toEqual({ type: 'number', format: 'double' });
    expect(schema('odd')).toEqual({});
    const unknown = doc.notes.find((n) => n.code === 'schema/unknown-type');
    expect(unknown).toMatchObject({ severity: 'warning', pointer: '/paths/~1api~1Tickets/get/parameters/3/schema/type' });
    expect(unknown?.message).toContain('"Widget"');
    expect(doc.notes.find((n) => n.message.includes('"List<int>"'))?.severity).toBe('info');
  });

  it('repairs structure: missing paths, path item $ref, undeclared path variables, relative servers', () => {
    const doc = { openapi: '3.1.0', info: { title: 't', version: '1' }, servers: [{ url: '/api' }, { url: 'https://x.test' }] } as unknown as OpenApiDocument;
    const notes = normalizeDocument(doc);
    expect(doc.paths).toEqual({});
    expect(notes.map((n) => n.code)).toEqual(['document/no-paths', 'server/relative']);

    const doc2: OpenApiDocument = {
      openapi: '3.0.0', info: {},
      paths: {
        '/a/{id}': { $ref: '#/components/x/A' },
        '/b': { $ref: '#/nowhere' },
        'c': { get: {} },
        '/d/{x}': { get: { parameters: [{ name: 'x', in: 'path', schema: { type: 'string' } }, { name: 'y', in: 'body' }], responses: {} } },
      },
      components: { x: { A: { get: { responses: {} } } } },
    };
    const notes2 = normalizeDocument(doc2);
    expect(Object.keys(doc2.paths)).toEqual(['/a/{id}', '/d/{x}']);
    expect((doc2.paths['/a/{id}'].get as { parameters: unknown[] }).parameters).toEqual([{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }]);
    const d = doc2.paths['/d/{x}'].get as { parameters: Array<{ name: string; required?: boolean }> };
    expect(d.parameters.map((p) => p.name)).toEqual(['x']);
    expect(d.parameters[0].required).toBe(true);
    expect(notes2.map((n) => n.code).sort()).toEqual([
      'parameter/invalid', 'parameter/path-required', 'parameter/undeclared-path', 'path/invalid', 'path/ref', 'path/unresolved-ref',
    ]);
  });

  it('fixes invalid keyword values and enum holes that crash later steps', () => {
    // eslint-disable-next-line no-sparse-arrays
    const holed = ['a', , 'b'];
    const doc: OpenApiDocument = {
      openapi: '3.0.0', info: {}, paths: {},
      components: { schemas: { A: { type: 'object', required: true, properties: { e: { type: 'string', enum: holed }, t: { type: { weird: 1 } } } } } },
    };
    const notes = normalizeDocument(doc);
    const a = doc.components!.schemas.A as { required?: unknown; properties: { e: { enum: unknown[] }; t: Record<string, unknown> } };
    expect(a.required).toBeUndefined();
    expect(a.properties.e.enum).toEqual(['a', null, 'b']);
    expect(1 in a.properties.e.enum).toBe(true);
    expect(a.properties.t).toEqual({});
    expect(notes.map((n) => n.code).sort()).toEqual(['schema/enum-hole', 'schema/invalid-required', 'schema/unknown-type']);
  });
});

describe.skipIf(!fs.existsSync(vendorDir))('normalizeDocument on HaloPSA', () => {
  it('reads List<int>, int, bool, double and DateTime as standard types, one note per kind', async () => {
    const doc = await loadDocument('halopsa.json', { baseDir: vendorDir });
    const client = doc.operations.find((o) => o.method === 'GET' && o.path === '/Client')!;
    expect(client.parameters.find((p) => p.name === 'integration_tenantids')?.schema).toEqual({ type: 'array', items: { type: 'integer', format: 'int32' } });
    const aliases = doc.notes.filter((n) => n.code === 'schema/type-alias').map((n) => /"([^"]+)"/.exec(n.message)![1]).sort();
    expect(aliases).toEqual(['DateTime', 'List<int>', 'bool', 'double', 'int', 'obj']);
    expect(doc.notes.find((n) => n.message.includes('"int"'))?.message).toMatch(/\(783 places, first at \/paths\//);
    expect(doc.notes.find((n) => n.code === 'server/relative')?.message).toContain('"/api"');
    const text = JSON.stringify(doc.document);
    for (const bad of ['"type":"int"', '"type":"bool"', '"type":"List<int>"', '"type":"DateTime"', '"type":"double"']) expect(text).not.toContain(bad);
  });
});
