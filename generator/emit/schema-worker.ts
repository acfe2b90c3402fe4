/** Worker-thread entry of SchemaThread (schema-thread.ts): types one pruned document per message. */
import { parentPort } from 'node:worker_threads';
import { emitSchemaFileFrom } from './schema-types.ts';
import type { SchemaJob, SchemaReply } from './schema-thread.ts';

parentPort!.on('message', ({ id, input, specFile }: SchemaJob) => {
  let reply: SchemaReply;
  try {
    // The message is this thread's own copy of typingInput(), so openapi-typescript may write into it.
    reply = { id, text: emitSchemaFileFrom(input, specFile) };
  } catch (e) {
    reply = { id, error: (e as Error).message };
  }
  parentPort!.postMessage(reply);
});
