// A worker thread does not inherit the parent's module loader (Node 20), so a worker starts here:
// the CommonJS modules named in workerData.preload first (plain JavaScript, loaded faster before
// tsx's loader is in place), then, for an entry in TypeScript (run from the sources), tsx's
// loader, then the entry. The build (dist/) needs no loader.
import { createRequire } from 'node:module';
import { workerData } from 'node:worker_threads';

const require = createRequire(import.meta.url);
for (const file of workerData.preload ?? []) require(file);
if (workerData.entry.endsWith('.ts')) (await import('tsx/esm/api')).register();
await import(workerData.entry);
