/**
 * The four functions of openapi-typescript that schema-types.ts uses, required from the package's
 * own CommonJS modules. Its entry point also loads Redocly's whole toolkit, for the lint and
 * bundle passes that the generator skips (a third of the load time), and its ES build makes Node
 * scan all of typescript.js for export names (half a second more). Should an upgrade move these
 * modules, the entry point is used instead; test/schema-typing.test.ts checks that both give the
 * same functions, so a move is noticed rather than silently slower.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

type OpenApiTs = typeof import('openapi-typescript');
export type Typing = Pick<OpenApiTs, 'astToString' | 'resolveRef' | 'scanDiscriminators' | 'transformSchema'>;

const require = createRequire(import.meta.url);
const entry = require.resolve('openapi-typescript');
const dist = path.dirname(entry);
const MODULES = { ts: path.join(dist, 'lib', 'ts.cjs'), utils: path.join(dist, 'lib', 'utils.cjs'), transform: path.join(dist, 'transform', 'index.cjs') };

/**
 * The files loadTyping() will require, for a worker to load before its TypeScript loader is in
 * place (which would otherwise inspect each of them, typescript.js included, on the way in).
 */
export function typingModules(): string[] {
  const files = Object.values(MODULES);
  return files.every((f) => fs.existsSync(f)) ? files : [entry];
}

export function loadTyping(): Typing & { from: 'modules' | 'entry' } {
  try {
    const { astToString } = require(MODULES.ts) as Pick<OpenApiTs, 'astToString'>;
    const { resolveRef, scanDiscriminators } = require(MODULES.utils) as Pick<OpenApiTs, 'resolveRef' | 'scanDiscriminators'>;
    const transformSchema = require(MODULES.transform) as OpenApiTs['transformSchema'];
    const typing = { astToString, resolveRef, scanDiscriminators, transformSchema };
    if (Object.values(typing).every((f) => typeof f === 'function')) return { ...typing, from: 'modules' };
  } catch {
    // the layout changed: the entry point below
  }
  return { ...(require(entry) as OpenApiTs), from: 'entry' };
}

/** The package's entry point, for the test that it exports the same functions. */
export function loadEntry(): OpenApiTs {
  return require(entry) as OpenApiTs;
}
