import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expandEnv, loadDocument } from '../generator/openapi/load.ts';
import { documentVariables, openapiDir } from '../generator/paths.ts';
import { applyOverlay, toJsonPathPlus } from '../generator/openapi/overlay.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, 'fixtures/openapi');
const projectRoot = path.resolve(here, '..');
const vendorDir = process.env.SPECGATE_OPENAPI_DIR ?? path.resolve(projectRoot, '../shared/openapi');
const examples = path.join(projectRoot, 'node_modules/@readme/oas-examples');

describe('loadDocument: sources', () => {
  let server: http.Server;
  let base: string;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const file = path.join(fixtures, (req.url ?? '/').slice(1));
      if (!file.startsWith(fixtures) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
        res.writeHead(404).end('not found');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/yaml' }).end(fs.readFileSync(file));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('hashes the raw bytes (sha256 hex) and records where it read them', async () => {
    const doc = await loadDocument('params.yaml', { baseDir: fixtures });
    const expected = createHash('sha256').update(fs.readFileSync(path.join(fixtures, 'params.yaml'))).digest('hex');
    expect(doc.sha256).toBe(expected);
    expect(doc.location).toBe(path.join(fixtures, 'params.yaml'));
    expect(doc.source).toBe('params.yaml');
    expect(doc.originalVersion).toBe('3.0.1');
  });

  it('reads an http URL with the same result as the file', async () => {
    const fromFile = await loadDocument('params.yaml', { baseDir: fixtures });
    const fromUrl = await loadDocument(`${base}/params.yaml`);
    expect(fromUrl.location).toBe(`${base}/params.yaml`);
    expect(fromUrl.sha256).toBe(fromFile.sha256);
    expect(fromUrl.operations.map((o) => o.operationId)).toEqual(fromFile.operations.map((o) => o.operationId));
  });

  it('bundles external refs relative to a URL', async () => {
    const doc = await loadDocument(`${base}/external/main.yaml`);
    expect(doc.operations[0].parameters.map((p) => p.name)).toEqual(['limit']);
    expect(JSON.stringify(doc.document)).not.toMatch(/parts\.yaml/);
  });

  it('names the URL and the status when the server refuses', async () => {
    await expect(loadDocument(`${base}/nothing.yaml`)).rejects.toThrow(/nothing\.yaml.*HTTP 404/);
  });

  it('expands ${VAR} in the source', async () => {
    process.env.SPECGATE_TEST_FIXTURES = fixtures;
    const doc = await loadDocument('${SPECGATE_TEST_FIXTURES}/params.yaml');
    expect(doc.location).toBe(path.join(fixtures, 'params.yaml'));
    await expect(loadDocument('${SPECGATE_TEST_UNSET_VAR}/x.yaml')).rejects.toThrow(/SPECGATE_TEST_UNSET_VAR is not set/);
  });

  it('expands from the variables it is given, defaults SPECGATE_OPENAPI_DIR without writing the environment', async () => {
    const doc = await loadDocument('${FIXTURES}/params.yaml', { env: { FIXTURES: fixtures } });
    expect(doc.location).toBe(path.join(fixtures, 'params.yaml'));
    await expect(loadDocument('${SPECGATE_TEST_FIXTURES}/params.yaml', { env: {} })).rejects.toThrow(/SPECGATE_TEST_FIXTURES is not set/);
    const saved = process.env.SPECGATE_OPENAPI_DIR;
    delete process.env.SPECGATE_OPENAPI_DIR;
    try {
      expect(documentVariables().SPECGATE_OPENAPI_DIR).toBe(openapiDir());
      expect(expandEnv('${SPECGATE_OPENAPI_DIR}/x.json')).toBe(`${openapiDir()}/x.json`);
      expect(process.env.SPECGATE_OPENAPI_DIR).toBeUndefined();
      expect(documentVariables({ SPECGATE_OPENAPI_DIR: 'mine' }).SPECGATE_OPENAPI_DIR).toBe('mine');
    } finally {
      if (saved !== undefined) process.env.SPECGATE_OPENAPI_DIR = saved;
    }
  });

  it('bundles external file refs and keeps local ones', async () => {
    const doc = await loadDocument('external/main.yaml', { baseDir: fixtures });
    const op = doc.operations[0];
    expect(op.parameters[0]).toMatchObject({ name: 'limit', in: 'query', schema: { type: 'integer' } });
    expect(JSON.stringify(op.responseSchema)).toContain('$ref');
    expect(doc.notes.some((n) => n.code === 'document/bundled')).toBe(true);
  });

  it('converts Swagger 2.0 to OpenAPI 3.0 and notes it', async () => {
    const doc = await loadDocument(path.join(examples, '2.0/json/petstore.json'));
    expect(doc.originalVersion).toBe('2.0');
    expect(doc.document.openapi).toMatch(/^3\.0\./);
    expect(doc.document.components?.schemas).toBeDefined();
    expect(doc.notes.some((n) => n.code === 'document/converted')).toBe(true);
    const get = doc.operations.find((o) => o.operationId === 'getPetById');
    expect(get?.responseSchema).toEqual({ $ref: '#/components/schemas/Pet' });
  });
});

describe('loadDocument: bad input gets a clear error', () => {
  const cases: Array<[string, RegExp]> = [
    ['bad.json', /^bad\.json:4:13: JSON syntax error: /],
    ['bad.yaml', /^bad\.yaml:4:1: YAML syntax error: /],
    ['not-openapi.yaml', /^not-openapi\.yaml: not an OpenAPI document/],
    ['future.yaml', /^future\.yaml: unsupported OpenAPI version "4\.0\.0"/],
    ['empty.yaml', /^empty\.yaml: the document is empty/],
    ['missing.yaml', /^missing\.yaml: cannot read .*missing\.yaml: no such file/],
    ['external', /^external: cannot read .*: it is a folder/],
    ['external/missing.yaml', /^external\/missing\.yaml: cannot resolve an external \$ref: .*nowhere\.yaml/],
    ['ftp://example.test/x.yaml', /only file paths and http\(s\) URLs/],
  ];
  for (const [source, message] of cases) {
    it(source, async () => {
      await expect(loadDocument(source, { baseDir: fixtures })).rejects.toThrow(message);
    });
  }

  it('rejects binary garbage and a bare scalar', async () => {
    const dir = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'specgate-openapi-'));
    fs.writeFileSync(path.join(dir, 'bin.json'), Buffer.from([0x7b, 0x00, 0xff, 0x13]));
    fs.writeFileSync(path.join(dir, 'scalar.yaml'), 'just text\n');
    fs.writeFileSync(path.join(dir, 'list.json'), '[1, 2]');
    await expect(loadDocument('bin.json', { baseDir: dir })).rejects.toThrow(/bin\.json: not a text document/);
    await expect(loadDocument('scalar.yaml', { baseDir: dir })).rejects.toThrow(/scalar\.yaml: not an OpenAPI document \(the top level is a string/);
    await expect(loadDocument('list.json', { baseDir: dir })).rejects.toThrow(/list\.json: not an OpenAPI document \(the top level is a list/);
    fs.rmSync(dir, { recursive: true });
  });
});

describe('loadDocument: merge and overlays', () => {
  it('merges our own paths and components into the vendor document', async () => {
    const doc = await loadDocument('params.yaml', { baseDir: fixtures, merge: ['merge.yaml'] });
    const extra = doc.operations.find((o) => o.operationId === 'getExtra');
    expect(extra).toMatchObject({ method: 'GET', path: '/extra/{id}', responseSchema: { $ref: '#/components/schemas/Extra' } });
    expect(extra?.parameters.map((p) => `${p.in}:${p.name}`)).toEqual(['path:id']);
    expect(doc.operations.find((o) => o.method === 'HEAD' && o.path === '/api/Tickets')?.operationId).toBe('headTickets');
    expect(doc.document.components?.schemas?.Extra).toBeDefined();
    // The hash is the vendor document's, not the merged result's.
    const plain = await loadDocument('params.yaml', { baseDir: fixtures });
    expect(doc.sha256).toBe(plain.sha256);
  });

  it('refuses a merged operation that the document already has', async () => {
    await expect(loadDocument('params.yaml', { baseDir: fixtures, merge: ['merge-conflict.yaml'] }))
      .rejects.toThrow(/merge-conflict\.yaml: GET \/api\/Tickets is already in the document/);
  });

  it('applies overlay updates and removals (RFC 9535 filters included)', async () => {
    const doc = await loadDocument('params.yaml', { baseDir: fixtures, overlays: ['overlay.yaml'] });
    const list = doc.operations.find((o) => o.method === 'GET' && o.path === '/api/Tickets');
    expect(list).toMatchObject({ operationId: 'listTickets', derivedOperationId: false, summary: 'List tickets' });
    expect(list?.parameters.map((p) => p.name)).toEqual(['ids', 'since', 'ratio']);
    expect(doc.operations.some((o) => o.path === '/a_b')).toBe(false);
    expect(doc.document.info.description).toBe('patched');
    expect(doc.notes.filter((n) => n.code === 'overlay/applied')).toHaveLength(4);
  });

  it('merges updates the Overlay way: objects deep, arrays appended, scalars replaced', () => {
    const doc: Record<string, unknown> = { info: { title: 't', contact: { name: 'a', email: 'e' } }, tags: [{ name: 'x' }], x: 1 };
    const notes = applyOverlay(doc, {
      overlay: '1.0.0',
      actions: [
        { target: '$.info', update: { contact: { name: 'b' }, version: '2' } },
        { target: '$.tags', update: { name: 'y' } },
        { target: '$.x', update: { now: 'object' } },
        { target: '$.tags[?@.name == "x"]', remove: true },
      ],
    }, 'inline');
    expect(doc).toEqual({ info: { title: 't', version: '2', contact: { name: 'b', email: 'e' } }, tags: [{ name: 'y' }], x: { now: 'object' } });
    expect(notes).toHaveLength(4);
    expect(toJsonPathPlus("$.a[?@.b == ']'].c[?(@.d)]")).toBe("$.a[?(@.b == ']')].c[?(@.d)]");
  });

  it('reports an overlay that is not one, and an invalid target', async () => {
    await expect(loadDocument('params.yaml', { baseDir: fixtures, overlays: ['merge.yaml'] }))
      .rejects.toThrow(/merge\.yaml: not an OpenAPI Overlay 1\.x document/);
    const dir = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'specgate-overlay-'));
    fs.writeFileSync(path.join(dir, 'o.yaml'), 'overlay: 1.0.0\ninfo: { title: t, version: "1" }\nactions:\n  - target: paths\n    remove: true\n');
    await expect(loadDocument(path.join(fixtures, 'params.yaml'), { baseDir: dir, overlays: ['o.yaml'] }))
      .rejects.toThrow(/o\.yaml: actions\[0\]\.target must be a JSONPath expression/);
    fs.writeFileSync(path.join(dir, 'o.yaml'), 'overlay: 1.0.0\ninfo: { title: t, version: "1" }\nactions:\n  - target: $.nothing.here\n    update: { x: 1 }\n');
    const doc = await loadDocument(path.join(fixtures, 'params.yaml'), { baseDir: dir, overlays: ['o.yaml'] });
    expect(doc.notes.find((n) => n.code === 'overlay/no-match')?.message).toMatch(/matches nothing/);
    fs.rmSync(dir, { recursive: true });
  });
});
