/**
 * What happens to one document, step by step, inside a worker process: the same functions
 * `specgate init --all-reads`, `generate`, `generate --typecheck` and `serve` run, and the official
 * MCP client listing the served tools.
 */
import fs from 'node:fs';
import path from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import { generate } from '../generator/generate.ts';
import { loadDocument } from '../generator/openapi/load.ts';
import { connectorNameFor, scaffoldSpec } from '../generator/scaffold.ts';
import { READ_METHODS } from '../generator/select.ts';
import { typecheckGenerated } from '../generator/emit/typecheck.ts';
import { listAll, modernClient, serve } from '../test/helpers/e2e.ts';

/** Where a failure happened; `timeout` and `crash` are decided by the parent, which watches the worker. */
export type Stage = 'validate' | 'load' | 'scaffold' | 'generate' | 'typecheck' | 'serve' | 'timeout' | 'crash';

export interface Job {
  id: string;
  file: string;
  /** This document's own folder: spec.yaml and generated/. */
  dir: string;
}

export interface Built {
  /** swagger-parser's verdict; the pipeline runs either way, so that an invalid document's failure shows its message. */
  valid: boolean;
  invalidReason?: string;
  /** The name `specgate init` picks; each document is served alone, so names need not be unique across the run. */
  connector?: string;
  openapi?: string;
  operations?: number;
  reads?: number;
  toolNames?: string[];
  /** The generated .ts files, for the batch type-check. */
  files?: string[];
  failure?: { stage: Stage; message: string; noReads?: boolean };
  ms: { validate: number; scaffold?: number; generate?: number };
}

const ms = (since: number) => Math.round(performance.now() - since);
const firstLine = (message: string) => message.split('\n').map((l) => l.trim()).find(Boolean) ?? message;

export function specFile(job: Job): string {
  return path.join(job.dir, 'spec.yaml');
}

export function generatedDir(job: Job): string {
  return path.join(job.dir, 'generated');
}

export async function build(job: Job): Promise<Built> {
  let started = performance.now();
  let valid = true;
  let invalidReason: string | undefined;
  try {
    // validate() dereferences in place: give it the file, never an object we reuse.
    await SwaggerParser.validate(job.file);
  } catch (error) {
    valid = false;
    // swagger-parser's first line is a heading ("Swagger schema validation failed."); the next one says what.
    invalidReason = (error as Error).message.split('\n').map((l) => l.trim()).filter(Boolean).slice(0, 3).join(' ').slice(0, 500);
  }
  const out: Built = { valid, ...(invalidReason !== undefined && { invalidReason }), ms: { validate: ms(started) } };

  started = performance.now();
  let text: string;
  try {
    const doc = await loadDocument(job.file);
    out.openapi = doc.originalVersion;
    out.operations = doc.operations.length;
    out.reads = doc.operations.filter((o) => READ_METHODS.has(o.method)).length;
    out.connector = connectorNameFor(doc, job.file);
    try {
      text = scaffoldSpec(doc, { specFile: specFile(job), source: job.file, allReads: true });
    } catch (error) {
      return { ...out, failure: { stage: 'scaffold', message: (error as Error).message, noReads: out.reads === 0 }, ms: { ...out.ms, scaffold: ms(started) } };
    }
  } catch (error) {
    return { ...out, failure: { stage: 'load', message: (error as Error).message }, ms: { ...out.ms, scaffold: ms(started) } };
  }
  fs.mkdirSync(job.dir, { recursive: true });
  fs.writeFileSync(specFile(job), text);
  out.ms.scaffold = ms(started);

  started = performance.now();
  let result: Awaited<ReturnType<typeof generate>>;
  try {
    result = await generate([specFile(job)], { outDir: generatedDir(job), check: false });
  } catch (error) {
    return { ...out, failure: { stage: 'generate', message: `the generator threw: ${firstLine((error as Error).message)}` }, ms: { ...out.ms, generate: ms(started) } };
  }
  out.ms.generate = ms(started);
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  const built = result.builds[0];
  if (errors.length || !built) {
    const message = errors.slice(0, 3).map((d) => `${d.code}: ${d.message}${d.line ? ` (spec line ${d.line})` : ''}`).join('; ');
    return { ...out, failure: { stage: 'generate', message: message || 'the generator produced nothing and reported no error' } };
  }
  out.toolNames = built.model.tools.map((t) => t.name);
  out.files = (fs.readdirSync(generatedDir(job), { recursive: true, encoding: 'utf8' }) as string[])
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(generatedDir(job), f));
  return out;
}

export interface Checked {
  /** Problems by job id; a job without an entry compiles. */
  problems: Record<string, { count: number; first: string }>;
  ms: number;
}

/** One TypeScript program over every connector of the batch: the fixed cost (lib, node types, runtime/model.ts) is paid once. */
export function typecheckBatch(jobs: Array<{ job: Job; files: string[] }>): Checked {
  const started = performance.now();
  const files = jobs.flatMap((j) => j.files);
  const root = path.dirname(jobs[0]?.job.dir ?? '.');
  const problems: Checked['problems'] = {};
  for (const p of files.length ? typecheckGenerated(root, { files }) : []) {
    // A problem outside every connector's folder (the compiler's options) fails them all.
    const owners = jobs.filter((j) => p.file === '' || p.file.startsWith(j.job.dir + path.sep));
    for (const { job } of owners.length ? owners : jobs) {
      const where = p.file ? `${path.relative(job.dir, p.file)}:${p.line}:${p.column}` : 'compiler';
      const entry = (problems[job.id] ??= { count: 0, first: `${where} ${firstLine(p.message)}` });
      entry.count++;
    }
  }
  return { problems, ms: ms(started) };
}

export interface Served {
  listed: number;
  /** Generated tools that tools/list did not show, or the other way round (first few). */
  mismatch?: string;
  ms: number;
}

/**
 * The connector alone in a runtime over real HTTP, listed by the official MCP client. Its upstream
 * is a closed local port: tools/list needs no upstream, and no call is made.
 */
export async function serveAndList(job: Job, connector: string, expected: string[]): Promise<Served> {
  const started = performance.now();
  const served = await serve(generatedDir(job), { upstreams: { [connector]: { baseUrl: 'http://127.0.0.1:9' } } });
  try {
    const client = await modernClient(served.url);
    try {
      const names = (await listAll(client)).map((t) => t.name);
      const listed = new Set(names);
      const missing = expected.filter((n) => !listed.has(n));
      const wanted = new Set(expected);
      const extra = names.filter((n) => !wanted.has(n));
      const mismatch = missing.length || extra.length || names.length !== expected.length
        ? `listed ${names.length} of ${expected.length} generated tools${missing.length ? `; missing ${missing.slice(0, 3).join(', ')}` : ''}${extra.length ? `; unexpected ${extra.slice(0, 3).join(', ')}` : ''}`
        : undefined;
      return { listed: names.length, ...(mismatch && { mismatch }), ms: ms(started) };
    } finally {
      await client.close();
    }
  } finally {
    await served.close();
  }
}
