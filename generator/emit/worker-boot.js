// A worker thread does not inherit the parent's module loader (Node 20), so a worker written in
// TypeScript starts here: tsx's loader first, then the entry named in workerData.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
