// A worker thread does not inherit the parent's module loader (Node 20), so a worker written in
// TypeScript starts here: the CommonJS modules named in workerData.preload first (plain
// JavaScript, loaded faster before tsx's loader is in place), then tsx's loader, then the entry.
import { createRequire } from 'node:module';
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

const require = createRequire(import.meta.url);
for (const file of workerData.preload ?? []) require(file);
register();
await import(workerData.entry);
