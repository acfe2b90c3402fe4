/**
 * How schema.ts is typed: openapi-typescript loaded from its own modules, fed the pruned document
 * without its Example Objects, on a worker thread. Each of these is a shortcut, so each is checked
 * against the long way round: the package's entry point, the whole document, this thread.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { OpenApiDocument } from '../generator/openapi/types.ts';
import { loadDocument } from '../generator/openapi/load.ts';
import { pruneDocument } from '../generator/openapi/prune.ts';
import { emitSchemaFile, emitSchemaFileFrom } from '../generator/emit/schema-types.ts';
import { SchemaThread } from '../generator/emit/schema-thread.ts';
import { typingInput } from '../generator/emit/typing-input.ts';
import { loadEntry, loadTyping, typingModules } from '../generator/emit/openapi-typescript.ts';
import { haveVendorDocs, vendorDir, vendorDocsMissing } from './helpers/e2e.ts';

const require = createRequire(import.meta.url);

/** Example Objects in every place OpenAPI allows them, and look-alikes that are not. */
function withExamples(): OpenApiDocument {
  const ticketExample = { $ref: '#/components/examples/ticket' };
  return {
    openapi: '3.0.3',
    info: { title: 'examples', version: '1' },
    paths: {
      '/tickets/{id}': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer' }, examples: { one: { value: 1 } } }],
        get: {
          operationId: 'getTicket',
          parameters: [
            { $ref: '#/components/parameters/Expand' },
            { name: 'q', in: 'query', content: { 'application/json': { schema: { type: 'string' }, examples: { a: { value: 'x' } } } } },
          ],
          responses: {
            200: {
              description: 'the ticket',
              headers: { 'X-Rate': { schema: { type: 'integer' }, examples: { low: { value: 1 } } } },
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Ticket' }, examples: { t: ticketExample }, example: { id: 7 } } },
            },
            404: { $ref: '#/components/responses/NotFound' },
          },
        },
      },
    },
    components: {
      schemas: {
        Ticket: {
          type: 'object',
          // A property that happens to be called "examples" is a schema, not an Example Object.
          properties: { id: { type: 'integer', example: 7 }, examples: { type: 'object', properties: { value: { type: 'string' } } } },
          // A vendor's $ref where a literal example belongs (GitHub's description has these).
          example: ticketExample,
        },
      },
      parameters: { Expand: { name: 'expand', in: 'query', schema: { type: 'string' }, examples: { notes: { value: 'notes' } } } },
      responses: { NotFound: { description: 'none', content: { 'application/json': { schema: { type: 'object' }, examples: { e: ticketExample } } } } },
      requestBodies: { Search: { content: { 'application/json': { schema: { type: 'object' }, examples: { s: { value: {} } } } } } },
      headers: { Trace: { schema: { type: 'string' }, examples: { t: { value: 'abc' } } } },
      examples: { ticket: { summary: 'a ticket', value: { id: 7, subject: 'printer on fire' } } },
    },
  };
}

describe('typingInput', () => {
  it('leaves out every Example Object and nothing else, without touching the document', () => {
    const doc = withExamples();
    const before = structuredClone(doc);
    const input = typingInput(doc) as any;
    expect(doc).toEqual(before);

    const item = input.paths['/tickets/{id}'];
    expect(item.parameters[0].examples).toBeUndefined();
    expect(item.get.parameters[1].content['application/json'].examples).toBeUndefined();
    const ok = item.get.responses[200];
    expect(ok.headers['X-Rate'].examples).toBeUndefined();
    expect(ok.content['application/json'].examples).toBeUndefined();
    // `example` values go into the types' doc comments: kept.
    expect(ok.content['application/json'].example).toEqual({ id: 7 });
    const c = input.components;
    expect(c.parameters.Expand.examples).toBeUndefined();
    expect(c.responses.NotFound.content['application/json'].examples).toBeUndefined();
    expect(c.requestBodies.Search.content['application/json'].examples).toBeUndefined();
    expect(c.headers.Trace.examples).toBeUndefined();
    // Named, so that the $ref in Ticket's `example` still resolves; their values are gone.
    expect(c.examples).toEqual({ ticket: {} });
    expect(c.schemas.Ticket).toBe(doc.components!.schemas.Ticket);
    expect(c.schemas.Ticket.properties.examples).toBeDefined();
  });

  it('types exactly as the whole document does', () => {
    const doc = withExamples();
    const text = emitSchemaFile(doc, 'specs/examples.yaml');
    expect(text).toBe(emitSchemaFileFrom(structuredClone(doc), 'specs/examples.yaml'));
    expect(text).toContain('@example {');
    expect(text).toMatch(/examples\?: \{/);
  });

  describe.skipIf(!haveVendorDocs)(`on the vendors' documents${haveVendorDocs ? '' : ` (${vendorDocsMissing})`}`, () => {
    it.each(['halopsa.json', 'hudu.json', 'pax8.json', 'connectwise-manage.get-subset.json', 'itglue.partial.yaml'])('%s: the same schema.ts with and without the examples', async (file) => {
      const loaded = await loadDocument(path.join(vendorDir, file));
      const pruned = pruneDocument(loaded.document, loaded.operations.filter((o) => o.method === 'GET'));
      expect(emitSchemaFile(pruned, 'specs/x.yaml')).toBe(emitSchemaFileFrom(structuredClone(pruned), 'specs/x.yaml'));
    });
  });
});

describe('openapi-typescript, loaded from its own modules', () => {
  it('finds them, and they are the functions its entry point exports', () => {
    const typing = loadTyping();
    expect(typing.from).toBe('modules');
    const entry = loadEntry();
    for (const name of ['astToString', 'resolveRef', 'scanDiscriminators', 'transformSchema'] as const) expect(typing[name], name).toBe(entry[name]);
    // What the typing thread preloads: those modules, not the entry point and Redocly.
    const preload = typingModules();
    expect(preload.map((f) => path.relative(path.dirname(require.resolve('openapi-typescript')), f).split(path.sep).join('/')).sort())
      .toEqual(['lib/ts.cjs', 'lib/utils.cjs', 'transform/index.cjs']);
  });
});

describe('SchemaThread', () => {
  const thread = new SchemaThread();
  afterAll(() => thread.close());

  it('types on the worker exactly what this thread types', async () => {
    const doc = withExamples();
    const [a, b] = await Promise.all([thread.type(doc, 'specs/a.yaml'), thread.type(doc, 'specs/b.yaml')]);
    expect(a).toBe(emitSchemaFile(doc, 'specs/a.yaml'));
    expect(b).toBe(emitSchemaFile(doc, 'specs/b.yaml'));
  });

  it('hands back the error of a document it cannot type, and types the next one', async () => {
    const broken = withExamples();
    (broken.components!.schemas.Ticket as any).properties.owner = { $ref: '#/components/schemas/Nobody' };
    await expect(thread.type(broken, 'specs/broken.yaml'))
      .rejects.toThrow("openapi-typescript could not type the pruned document of specs/broken.yaml: Can't resolve $ref #/components/schemas/Nobody");
    await expect(thread.type(withExamples(), 'specs/a.yaml')).resolves.toContain('getTicket');
  });

  it('refuses a document that is not plain data before it reaches the thread', async () => {
    const doc = withExamples();
    (doc.info as any).when = () => 'now';
    await expect(thread.type(doc, 'specs/fn.yaml')).rejects.toThrow('the pruned document of specs/fn.yaml cannot be handed to the typing thread');
  });

  it('rejects a job still pending when the thread goes away, rather than leaving it hanging', async () => {
    const doomed = new SchemaThread();
    const pending = doomed.type(withExamples(), 'specs/a.yaml');
    await doomed.close();
    await expect(pending).rejects.toThrow('the schema typing thread exited');
    // And the reason it went away is what every later job is told.
    await expect(doomed.type(withExamples(), 'specs/b.yaml')).rejects.toThrow('the schema typing thread is closed');
  });

  it('refuses work once closed', async () => {
    const closed = new SchemaThread();
    await closed.close();
    await expect(closed.type(withExamples(), 'specs/a.yaml')).rejects.toThrow('the schema typing thread is closed');
  });
});
