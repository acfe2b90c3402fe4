/**
 * A corpus worker process: it runs one request at a time for the parent (pool.ts), over the IPC
 * channel. A document that hangs or exhausts memory takes only this process down; the parent
 * kills it on a timeout and starts another.
 */
import { build, serveAndList, typecheckBatch, type Job } from './stages.ts';

export type Request =
  | { kind: 'build'; job: Job }
  | { kind: 'typecheck'; jobs: Array<{ job: Job; files: string[] }> }
  | { kind: 'serve'; job: Job; connector: string; expected: string[] };

export type Reply = { ok: true; result: unknown } | { ok: false; error: string };

async function handle(request: Request): Promise<unknown> {
  switch (request.kind) {
    case 'build': return build(request.job);
    case 'typecheck': return typecheckBatch(request.jobs);
    case 'serve': return serveAndList(request.job, request.connector, request.expected);
  }
}

process.on('message', (request: Request) => {
  handle(request).then(
    (result) => process.send!({ ok: true, result } satisfies Reply),
    (error: unknown) => process.send!({ ok: false, error: error instanceof Error ? error.message : String(error) } satisfies Reply),
  );
});

// The parent is gone (killed, interrupted): nothing will ask for more.
process.on('disconnect', () => process.exit(0));
