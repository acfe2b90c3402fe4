/**
 * schema.ts files typed on a worker thread. openapi-typescript's load, its transform and the
 * TypeScript printer are half of a large connector's generation; on their own thread they run
 * while the tool model is built on the other core, and the main thread never loads them.
 */
import { Worker } from 'node:worker_threads';
import type { OpenApiDocument } from '../openapi/types.ts';
import { typingInput } from './typing-input.ts';
import { typingModules } from './openapi-typescript.ts';

/** `.ts` when this runs from the sources, `.js` from the build (dist/). */
const SOURCE_EXTENSION = import.meta.url.slice(import.meta.url.lastIndexOf('.'));

export interface SchemaJob { id: number; input: OpenApiDocument; specFile: string }
export type SchemaReply = { id: number; text: string } | { id: number; error: string };

export class SchemaThread {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (text: string) => void; reject: (e: Error) => void }>();
  #next = 0;
  /** Why no more jobs are taken: closed by its owner, or the thread failed (kept for every later job). */
  #ended?: Error;

  /** Starts the thread at once, so that its modules load while the caller reads documents. */
  constructor() {
    this.#worker = new Worker(new URL('./worker-boot.js', import.meta.url), {
      workerData: { entry: new URL(`./schema-worker${SOURCE_EXTENSION}`, import.meta.url).href, preload: typingModules() },
    });
    // Idle, it must not keep the process alive; a pending job does (see type()).
    this.#worker.unref();
    this.#worker.on('message', (reply: SchemaReply) => {
      const job = this.#pending.get(reply.id);
      if (!job) return;
      this.#settled(reply.id);
      if ('text' in reply) job.resolve(reply.text);
      else job.reject(new Error(reply.error));
    });
    this.#worker.on('error', (e) => this.#failAll(new Error(`the schema typing thread failed: ${e.message}`)));
    this.#worker.on('exit', (code) => this.#failAll(new Error(`the schema typing thread exited (code ${code})`)));
  }

  /** schema.ts for a pruned document: emitSchemaFile's text and errors, computed off-thread. */
  type(pruned: OpenApiDocument, specFile: string): Promise<string> {
    if (this.#ended) return Promise.reject(this.#ended);
    const id = this.#next++;
    const result = new Promise<string>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    try {
      this.#worker.postMessage({ id, input: typingInput(pruned), specFile } satisfies SchemaJob);
    } catch (e) {
      // A value that cannot be copied (not JSON data) is refused here, before the thread sees it.
      this.#settled(id);
      return Promise.reject(new Error(`the pruned document of ${specFile} cannot be handed to the typing thread: ${(e as Error).message}`));
    }
    if (this.#pending.size === 1) this.#worker.ref();
    return result;
  }

  async close(): Promise<void> {
    this.#ended ??= new Error('the schema typing thread is closed');
    await this.#worker.terminate();
  }

  #settled(id: number): void {
    this.#pending.delete(id);
    if (this.#pending.size === 0) this.#worker.unref();
  }

  #failAll(error: Error): void {
    this.#ended ??= error;
    for (const job of this.#pending.values()) job.reject(error);
    this.#pending.clear();
  }
}
