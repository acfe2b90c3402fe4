import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadDocument } from '../generator/openapi/load.ts';
import { analyzeOperations, deriveOperationId, listOperations } from '../generator/openapi/operations.ts';
import type { OpenApiDocument } from '../generator/openapi/types.ts';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/openapi');

describe('listOperations', () => {
  it('sorts by path, then method order', async () => {
    const doc = await loadDocument('params.yaml', { baseDir: fixtures, merge: ['merge.yaml'] });
    expect(doc.operations.map((o) => `${o.method} ${o.path}`)).toEqual([
      'GET /a-b', 'GET /a_b', 'GET /aliased', 'GET /api/Tickets', 'HEAD /api/Tickets', 'GET /api/Tickets/{id}',
      'DELETE /api/Tickets/{id}', 'GET /dup/one', 'GET /dup/two', 'GET /extra/{id}', 'GET /things/{thingId}/parts',
    ]);
  });

  it('merges path-level and operation-level parameters; same name in path and query stay two', async () => {
    const { operations } = await loadDocument('params.yaml', { baseDir: fixtures });
    const get = operations.find((o) => o.method === 'GET' && o.path === '/api/Tickets/{id}')!;
    expect(get.parameters.map((p) => `${p.in}:${p.name}`)).toEqual(['path:id', 'query:verbose', 'query:id', 'query:fields', 'query:where']);
    expect(get.parameters.find((p) => p.in === 'path' && p.name === 'id')).toMatchObject({ required: true, schema: { type: 'integer', format: 'int32' } });
    expect(get.parameters.find((p) => p.in === 'query' && p.name === 'id')).toMatchObject({ required: false, schema: { type: 'string' } });
    // Operation level overrides the path level parameter of the same name and location.
    expect(get.parameters.find((p) => p.name === 'verbose')?.description).toBe('operation level');
    // $ref parameters are resolved; the 3.0 `content` form gives its schema.
    expect(get.parameters.find((p) => p.name === 'fields')?.schema).toEqual({ type: 'string' });
    expect(get.parameters.find((p) => p.name === 'where')?.schema).toMatchObject({ type: 'object' });
    const del = operations.find((o) => o.method === 'DELETE')!;
    expect(del.parameters.find((p) => p.name === 'verbose')?.description).toBe('path level');
  });

  it('derives readable operationIds and makes collisions unique deterministically', async () => {
    const { operations, notes } = await loadDocument('params.yaml', { baseDir: fixtures });
    const id = (m: string, p: string) => operations.find((o) => o.method === m && o.path === p)!;
    expect(id('GET', '/api/Tickets/{id}')).toMatchObject({ operationId: 'getTicketsById', derivedOperationId: true });
    expect(id('DELETE', '/api/Tickets/{id}')).toMatchObject({ operationId: 'removeTicket', derivedOperationId: false });
    expect(id('GET', '/a-b').operationId).toBe('getAB');
    expect(id('GET', '/a_b').operationId).toBe('getAB2');
    expect(id('GET', '/things/{thingId}/parts').operationId).toBe('getThingsByThingIdParts');
    // Duplicate ids in the document: the first keeps it, the next gets a derived one, with a note.
    expect(id('GET', '/dup/one')).toMatchObject({ operationId: 'listThings', derivedOperationId: false });
    expect(id('GET', '/dup/two')).toMatchObject({ operationId: 'getDupTwo', derivedOperationId: true });
    expect(notes.find((n) => n.code === 'operation/duplicate-id')?.pointer).toBe('/paths/~1dup~1two/get/operationId');
    const ids = operations.map((o) => o.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('never lets a derived id take a name the document declares', () => {
    const doc: OpenApiDocument = {
      openapi: '3.0.0', info: {},
      paths: {
        '/a': { get: { responses: {} } },
        '/z': { get: { operationId: 'getA', responses: {} } },
      },
    };
    expect(listOperations(doc).map((o) => o.operationId)).toEqual(['getA2', 'getA']);
    expect(deriveOperationId('GET', '/')).toBe('getRoot');
    expect(deriveOperationId('PATCH', '/v2/ticket_types/{type-id}')).toBe('patchTicketTypesByTypeId');
  });

  it('takes the first 2xx JSON response, any JSON media type, else default', async () => {
    const { operations } = await loadDocument('params.yaml', { baseDir: fixtures });
    const find = (m: string, p: string) => operations.find((o) => o.method === m && o.path === p)!;
    expect(find('GET', '/api/Tickets/{id}')).toMatchObject({ responseContentType: 'application/vnd.api+json', responseSchema: { type: 'object' } });
    expect(find('GET', '/api/Tickets')).toMatchObject({ responseContentType: 'text/json', responseSchema: { type: 'array' } });
    expect(find('GET', '/things/{thingId}/parts').responseSchema).toEqual({ type: 'integer' });
    expect(find('DELETE', '/api/Tickets/{id}').responseSchema).toBeUndefined();
  });

  it('reports the security requirement in force', async () => {
    const { operations } = await loadDocument('params.yaml', { baseDir: fixtures });
    expect(operations.find((o) => o.method === 'DELETE')?.security).toEqual(['apiKey', 'bearer']);
    expect(operations.find((o) => o.path === '/a-b')?.security).toEqual(['bearer']);
  });

  it('gives the JSON pointer of each operation', async () => {
    const doc = await loadDocument('params.yaml', { baseDir: fixtures });
    const op = doc.operations.find((o) => o.path === '/api/Tickets/{id}' && o.method === 'GET')!;
    expect(op.pointer).toBe('/paths/~1api~1Tickets~1{id}/get');
  });

  it('skips unresolvable parameter refs with a note instead of crashing', () => {
    const doc: OpenApiDocument = {
      openapi: '3.0.0', info: {},
      paths: { '/x': { get: { parameters: [{ $ref: '#/components/parameters/Nope' }, { name: 'ok', in: 'query' }], responses: {} } } },
    };
    const { operations, notes } = analyzeOperations(doc);
    expect(operations[0].parameters.map((p) => p.name)).toEqual(['ok']);
    expect(operations[0].parameters[0].schema).toEqual({});
    expect(notes[0].code).toBe('parameter/unresolved-ref');
  });
});
