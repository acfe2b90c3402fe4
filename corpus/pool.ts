/**
 * Runs the documents through the stages in worker processes: each lane takes a batch of documents
 * from a shared queue, builds them one by one, type-checks the batch as one program, then serves
 * each one. Every request has a deadline; a worker that misses it (or dies) is killed and
 * replaced, and the document it was working on fails with stage `timeout` (or `crash`).
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CorpusDocument } from './directory.ts';
import type { Built, Checked, Job, Served, Stage } from './stages.ts';
import type { Reply, Request } from './worker.ts';

const workerFile = path.join(path.dirname(fileURLToPath(import.meta.url)), 'worker.ts');

export interface PoolOptions {
  /** Where each document's spec and generated code go (emptied first); inside the project, so generated code resolves its imports. */
  workDir: string;
  jobs: number;
  batch: number;
  /** Per document and stage; a batch type-check gets this much per document in it. */
  timeoutMs: number;
  /** Keep the folders of documents that were served (those that failed are always kept). */
  keep: boolean;
  log?: (line: string) => void;
  /** Hears each document as it finishes, so that an interrupted run can still report what it did. */
  onResult?: (result: DocumentResult) => void;
}

/** Why a document did not make it: its own fault (not valid OpenAPI, nothing to serve read-only) or ours. */
export type Cause = 'invalid-openapi' | 'no-reads' | 'specgate';

export interface DocumentResult {
  id: string;
  bytes: number;
  valid?: boolean;
  invalidReason?: string;
  openapi?: string;
  operations?: number;
  reads?: number;
  connector?: string;
  tools?: number;
  generated: boolean;
  problems?: number;
  compiled: boolean;
  listed?: number;
  served: boolean;
  failure?: { stage: Stage; cause: Cause; message: string };
  /** Per stage; typecheck is this document's share of its batch. total is their sum. */
  ms: { validate?: number; scaffold?: number; generate?: number; typecheck?: number; serve?: number; total: number };
}

type Outcome<T> = { ok: true; result: T } | { ok: false; stage: Stage; message: string };

class Worker {
  private child?: ChildProcess;
  private stderr = '';

  async request<T>(request: Request, timeoutMs: number): Promise<Outcome<T>> {
    const child = (this.child ??= this.spawn());
    return new Promise<Outcome<T>>((resolve) => {
      const done = (outcome: Outcome<T>) => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(outcome);
      };
      const onMessage = (reply: Reply) => done(reply.ok ? { ok: true, result: reply.result as T } : { ok: false, stage: stageOf(request), message: reply.error });
      const onExit = (code: number | null, signal: string | null) => {
        this.child = undefined;
        const why = signal ? `signal ${signal}` : `exit code ${code}`;
        const tail = this.stderr.trim().split('\n').slice(-3).join(' | ');
        done({ ok: false, stage: 'crash', message: `the worker died during ${describeRequest(request)} (${why})${tail ? `: ${tail}` : ''}` });
      };
      const timer = setTimeout(() => {
        child.off('exit', onExit);
        this.kill();
        done({ ok: false, stage: 'timeout', message: `${describeRequest(request)} took longer than ${timeoutMs / 1000} s` });
      }, timeoutMs);
      child.on('message', onMessage);
      child.on('exit', onExit);
      child.send(request);
    });
  }

  private spawn(): ChildProcess {
    this.stderr = '';
    const child = fork(workerFile, [], {
      execArgv: ['--import', 'tsx', '--max-old-space-size=6144'],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    child.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    return child;
  }

  kill(): void {
    this.child?.kill('SIGKILL');
    this.child = undefined;
  }
}

function stageOf(request: Request): Stage {
  return request.kind === 'build' ? 'generate' : request.kind;
}

function describeRequest(request: Request): string {
  return request.kind === 'build' ? 'validate, load and generate' : request.kind === 'typecheck' ? `the type-check of ${request.jobs.length} connector(s)` : 'serve and list';
}

function causeOf(result: DocumentResult, noReads = false): Cause {
  if (result.valid === false) return 'invalid-openapi';
  return noReads ? 'no-reads' : 'specgate';
}

export async function runDocuments(documents: CorpusDocument[], options: PoolOptions): Promise<DocumentResult[]> {
  fs.rmSync(options.workDir, { recursive: true, force: true });
  fs.mkdirSync(options.workDir, { recursive: true });
  const results = new Map<string, DocumentResult>();
  const queue = [...documents];
  let finished = 0;
  const started = performance.now();
  const log = options.log ?? (() => {});

  const finish = (result: DocumentResult, job: Job) => {
    result.ms.total = ['validate', 'scaffold', 'generate', 'typecheck', 'serve'].reduce((sum, k) => sum + (result.ms[k as keyof DocumentResult['ms']] ?? 0), 0);
    finished++;
    options.onResult?.(result);
    const what = result.served
      ? `served ${result.listed} tools`
      : `failed at ${result.failure?.stage} (${result.failure?.cause}): ${result.failure?.message.slice(0, 160)}`;
    log(`[corpus ${Math.round((performance.now() - started) / 1000)}s] ${finished}/${documents.length} ${result.id}: ${what} (${(result.ms.total / 1000).toFixed(1)} s)`);
    if (result.served && !options.keep) fs.rmSync(job.dir, { recursive: true, force: true });
  };

  const lane = async () => {
    const worker = new Worker();
    try {
      while (queue.length) {
        const batch = queue.splice(0, options.batch);
        const built: Array<{ job: Job; result: DocumentResult; names: string[]; files: string[] }> = [];
        for (const doc of batch) {
          const job: Job = { id: doc.id, file: doc.file, dir: path.join(options.workDir, doc.id.replaceAll('/', '__')) };
          const result: DocumentResult = { id: doc.id, bytes: doc.bytes, generated: false, compiled: false, served: false, ms: { total: 0 } };
          results.set(doc.id, result);
          const outcome = await worker.request<Built>({ kind: 'build', job }, options.timeoutMs);
          if (!outcome.ok) {
            result.failure = { stage: outcome.stage, cause: 'specgate', message: outcome.message };
            finish(result, job);
            continue;
          }
          const b = outcome.result;
          Object.assign(result, {
            valid: b.valid, invalidReason: b.invalidReason, openapi: b.openapi, operations: b.operations, reads: b.reads,
            connector: b.connector, tools: b.toolNames?.length,
          });
          Object.assign(result.ms, b.ms);
          if (b.failure) {
            result.failure = { stage: b.failure.stage, cause: causeOf(result, b.failure.noReads), message: b.failure.message };
            finish(result, job);
            continue;
          }
          result.generated = true;
          built.push({ job, result, names: b.toolNames ?? [], files: b.files ?? [] });
        }
        if (built.length === 0) continue;

        const checked = await worker.request<Checked>({ kind: 'typecheck', jobs: built.map(({ job, files }) => ({ job, files })) }, options.timeoutMs * built.length);
        const share = checked.ok ? Math.round(checked.result.ms / built.length) : undefined;
        for (const item of built) {
          const { job, result } = item;
          result.ms.typecheck = share;
          if (!checked.ok) {
            result.failure = { stage: checked.stage, cause: causeOf(result), message: checked.message };
            finish(result, job);
            continue;
          }
          const problems = checked.result.problems[job.id];
          if (problems) {
            result.problems = problems.count;
            result.failure = { stage: 'typecheck', cause: causeOf(result), message: `${problems.count} type error(s), first: ${problems.first}` };
            finish(result, job);
            continue;
          }
          result.compiled = true;
          const served = await worker.request<Served>({ kind: 'serve', job, connector: result.connector!, expected: item.names }, options.timeoutMs);
          if (!served.ok) {
            result.failure = { stage: served.stage, cause: causeOf(result), message: served.message };
          } else {
            result.ms.serve = served.result.ms;
            result.listed = served.result.listed;
            if (served.result.mismatch) result.failure = { stage: 'serve', cause: causeOf(result), message: served.result.mismatch };
            else result.served = true;
          }
          finish(result, job);
        }
      }
    } finally {
      worker.kill();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.jobs) }, lane));
  return documents.map((d) => results.get(d.id)!);
}
