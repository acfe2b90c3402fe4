#!/usr/bin/env node
// The compiled CLI (dist/) when it is a build of the current sources, as in an installed package;
// in a checkout whose sources changed since `npm run build`, the sources through tsx's loader
// (bin/build-state.js says which). SPECGATE_SOURCE=1 forces the sources.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildState } from './build-state.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
if (process.env.SPECGATE_SOURCE !== '1' && buildState(root) !== 'stale') {
  await import('../dist/cli/main.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
}
