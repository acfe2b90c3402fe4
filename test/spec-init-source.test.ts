/**
 * `init` names a document inside the OpenAPI folder through ${SPECGATE_OPENAPI_DIR}, so the spec
 * it writes works wherever the documents are kept; other files stay relative to the spec.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { loadDocument } from '../generator/openapi/load.ts';
import { scaffoldSpec } from '../generator/scaffold.ts';
import { buildConnector } from '../generator/pipeline.ts';

const root = path.resolve(import.meta.dirname, '..');
const fixture = path.join(root, 'test/fixtures/generator/helpdesk.yaml');
const tmp = fs.mkdtempSync(path.join(root, 'test/.tmp-init-source-'));
const saved = process.env.SPECGATE_OPENAPI_DIR;
afterEach(() => {
  if (saved === undefined) delete process.env.SPECGATE_OPENAPI_DIR;
  else process.env.SPECGATE_OPENAPI_DIR = saved;
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('init: the document source it writes', () => {
  it('uses ${SPECGATE_OPENAPI_DIR} for a document in the OpenAPI folder (nested too), and the spec generates', async () => {
    const dir = path.join(tmp, 'vendor-docs');
    fs.mkdirSync(path.join(dir, 'rmm'), { recursive: true });
    const doc = path.join(dir, 'rmm', 'helpdesk.yaml');
    fs.copyFileSync(fixture, doc);
    process.env.SPECGATE_OPENAPI_DIR = dir;
    const specFile = path.join(tmp, 'specs', 'helpdesk.yaml');
    const text = scaffoldSpec(await loadDocument(doc), { specFile, source: doc, allReads: true });
    expect(text).toContain('source: ${SPECGATE_OPENAPI_DIR}/rmm/helpdesk.yaml\n');
    fs.mkdirSync(path.dirname(specFile), { recursive: true });
    fs.writeFileSync(specFile, text);
    const built = await buildConnector(specFile);
    expect(built.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(built.build!.model.document.source).toBe('${SPECGATE_OPENAPI_DIR}/rmm/helpdesk.yaml');
  });

  it('keeps a document outside the OpenAPI folder relative to the spec, and a URL as given', async () => {
    process.env.SPECGATE_OPENAPI_DIR = path.join(tmp, 'elsewhere');
    const loaded = await loadDocument(fixture);
    const specFile = path.join(tmp, 'specs', 'x.yaml');
    expect(scaffoldSpec(loaded, { specFile, source: fixture, allReads: true })).toContain(`source: ${path.relative(path.dirname(specFile), fixture).split(path.sep).join('/')}\n`);
    // A sibling folder whose name starts like the OpenAPI folder's is not inside it.
    process.env.SPECGATE_OPENAPI_DIR = path.join(root, 'test/fixtures/gen');
    expect(scaffoldSpec(loaded, { specFile, source: fixture, allReads: true })).not.toContain('SPECGATE_OPENAPI_DIR');
    expect(scaffoldSpec(loaded, { specFile, source: 'https://vendor.example/openapi.yaml', allReads: true })).toContain('source: https://vendor.example/openapi.yaml\n');
  });
});
