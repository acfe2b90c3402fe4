import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { createToolCaller } from '../runtime/call.ts';
import { startMockUpstream } from '../runtime/mock/upstream.ts';
import type { OpenApiDocument } from '../generator/openapi/types.ts';
import { ctx, makeConnector, makeTool } from './fixtures/call/harness.ts';
import { pruneDocument, selfContained } from './fixtures/call/prune.ts';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const openapiDir = process.env.SPECGATE_OPENAPI_DIR ?? path.resolve(projectRoot, '../shared/openapi');
const load = (f: string) => JSON.parse(readFileSync(path.join(openapiDir, f), 'utf8')) as OpenApiDocument;

const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of closers) await c();
});

describe('mock upstream (inline document)', () => {
  const doc: OpenApiDocument = {
    openapi: '3.1.0',
    info: { title: 'Acme', version: '1' },
    servers: [{ url: 'https://acme.example/api/v2' }],
    paths: {
      '/tickets/{id}': {
        get: {
          operationId: 'getTicket',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer' } }],
          responses: {
            '200': {
              description: 'ok',
              content: {
                'application/json': {
                  schema: { $ref: '#/components/schemas/Ticket' },
                  example: { id: 7, summary: 'Printer on fire', status: 'open' },
                },
              },
            },
          },
        },
      },
    },
    components: {
      schemas: {
        Ticket: { type: 'object', required: ['id', 'summary'], properties: { id: { type: 'integer' }, summary: { type: 'string' }, status: { type: 'string', enum: ['open', 'closed'] } } },
      },
    },
  };

  it('serves the example deterministically under the document base path, and 422s bad input', async () => {
    const mock = await startMockUpstream(doc);
    closers.push(mock.close);
    expect(mock.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v2$/);
    const a = await (await fetch(`${mock.url}/tickets/7`)).json();
    const b = await (await fetch(`${mock.url}/tickets/7`)).json();
    expect(a).toEqual({ id: 7, summary: 'Printer on fire', status: 'open' });
    expect(b).toEqual(a);
    expect((await fetch(`${mock.url}/tickets/not-a-number`)).status).toBe(422);
    expect((await fetch(`${mock.url}/nowhere`)).status).toBe(404);
  });

  it('answers a tool call through the caller with a result that validates against outputSchema', async () => {
    const mock = await startMockUpstream(doc);
    closers.push(mock.close);
    const outputSchema = {
      type: 'object',
      properties: { result: { $ref: '#/$defs/Ticket' }, truncated: { type: 'object' } },
      required: ['result'],
      $defs: doc.components!.schemas,
    };
    const tool = makeTool({
      name: 'acme_get_ticket',
      operation: { method: 'GET', path: '/tickets/{id}', operationId: 'getTicket' },
      inputSchema: { type: 'object', properties: { id: { type: 'integer' } }, required: ['id'], additionalProperties: false },
      outputSchema,
      parameters: [{ name: 'id', in: 'path', argument: 'id', required: true }],
    });
    const caller = createToolCaller({ connectors: [makeConnector([tool])], upstreams: { acme: { baseUrl: mock.url } } });
    const r = await caller.callTool(tool, { id: 7 }, ctx());
    expect(r.isError).toBeUndefined();
    expect(r.structuredContent).toEqual({ result: { id: 7, summary: 'Printer on fire', status: 'open' } });
    const validate = new Ajv2020({ strict: false }).compile(outputSchema);
    expect(validate(r.structuredContent)).toBe(true);
    await caller.close();
  });
});

describe.skipIf(!existsSync(openapiDir))('mock upstream (vendor documents)', () => {
  it('serves a pruned Pax8 document; the shaped result validates against the response schema', async () => {
    const full = load('pax8.json');
    const doc = pruneDocument(full, [['/companies', 'get'], ['/companies/{companyId}', 'get']]);
    const mock = await startMockUpstream(doc);
    closers.push(mock.close);
    const op = doc.paths['/companies']!.get as any;
    const responseSchema = op.responses['200'].content['application/json'].schema;
    const { schema, $defs } = selfContained(responseSchema, doc, true);
    const outputSchema = {
      type: 'object',
      properties: { result: schema, truncated: { type: 'object' }, nextCursor: { type: 'string' } },
      required: ['result'],
      $defs,
    };
    const tool = makeTool({
      name: 'pax8_find_companies',
      connector: 'pax8',
      operation: { method: 'GET', path: '/companies', operationId: 'findCompanies' },
      inputSchema: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 200 }, cursor: { type: 'string' } }, additionalProperties: false },
      outputSchema,
      parameters: [
        { name: 'page', in: 'query', argument: null, required: false, pagination: 'page' },
        { name: 'size', in: 'query', argument: null, required: false, pagination: 'size' },
      ],
      pagination: { style: 'page', pageParam: 'page', sizeParam: 'size', firstPage: 0, defaultLimit: 10, maxLimit: 200 },
    });
    const connector = makeConnector([tool], { name: 'pax8' });
    const caller = createToolCaller({ connectors: [connector], upstreams: { pax8: { baseUrl: mock.url } } });
    const r = await caller.callTool(tool, { limit: 5 }, ctx());
    expect(r.isError, r.content[0]!.text).toBeUndefined();
    const result = r.structuredContent!.result as { content: unknown[] };
    expect(Array.isArray(result.content)).toBe(true);
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    const validate = ajv.compile(outputSchema);
    expect(validate(r.structuredContent), JSON.stringify(validate.errors)).toBe(true);
    await caller.close();
  });

  it('serves a HaloPSA-style document (invalid "int"/"bool" types, no response content) without failing', async () => {
    const doc = pruneDocument(load('halopsa.json'), [['/Tickets/{id}', 'get']]);
    const mock = await startMockUpstream(doc);
    closers.push(mock.close);
    expect(mock.url).toMatch(/\/api$/);
    const tool = makeTool({
      name: 'halopsa_get_ticket',
      connector: 'halopsa',
      operation: { method: 'GET', path: '/Tickets/{id}', operationId: 'GetTicket' },
      inputSchema: { type: 'object', properties: { id: { type: 'integer' }, includedetails: { type: 'boolean' } }, required: ['id'], additionalProperties: false },
      parameters: [
        { name: 'id', in: 'path', argument: 'id', required: true },
        { name: 'includedetails', in: 'query', argument: 'includedetails', required: false },
      ],
    });
    const caller = createToolCaller({ connectors: [makeConnector([tool], { name: 'halopsa' })], upstreams: { halopsa: { baseUrl: mock.url } } });
    const r = await caller.callTool(tool, { id: 12, includedetails: true }, ctx());
    expect(r.isError, r.content[0]!.text).toBeUndefined();
    expect(r.structuredContent).toEqual({ result: null });
    await caller.close();
  });
});
