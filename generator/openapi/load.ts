/**
 * Reads a vendor's OpenAPI document (file or URL, YAML or JSON, Swagger 2.0 or OpenAPI 3.x) and
 * hands on one normalised OpenAPI 3.x document with its $refs kept, plus its operations.
 *
 * Order: read -> sha256 of the raw bytes -> parse -> bundle external $refs -> Swagger 2.0 to 3.0
 * -> merge our own documents -> overlays -> normalise -> list operations.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { DocumentNote, LoadedDocument, OpenApiDocument } from './types.ts';
import { HTTP_METHODS, isObject, normalizeDocument, someObject } from './normalize.ts';
import { analyzeOperations } from './operations.ts';
import { applyOverlay } from './overlay.ts';
import { documentVariables } from '../paths.ts';

type Obj = Record<string, unknown>;

// The bundler and the converter load only for the documents that need them (external refs,
// Swagger 2.0): most do not, and the two take a tenth of a second or more to load.
const require = createRequire(import.meta.url);
// swagger2openapi ships no types; this is the one call we make.
type Swagger2OpenApi = { convertObj(doc: unknown, options: Obj): Promise<{ openapi: OpenApiDocument; patches?: number }> };

const FETCH_TIMEOUT_MS = 30_000;

export interface LoadOptions {
  /** Folder that relative paths are resolved from (default: the working directory). */
  baseDir?: string;
  /** OpenAPI Overlay 1.0 documents, applied in order after conversion and merging. */
  overlays?: string[];
  /** Our own OpenAPI documents whose paths and components fill gaps in the vendor's. */
  merge?: string[];
  /** What `${VAR}` in a source expands from (default: documentVariables()). */
  env?: Readonly<Record<string, string | undefined>>;
}

export async function loadDocument(source: string, options: LoadOptions = {}): Promise<LoadedDocument> {
  const baseDir = options.baseDir ?? process.cwd();
  const env = options.env ?? documentVariables();
  const main = await readOpenApi(source, baseDir, env);
  const document = main.document;
  const notes: DocumentNote[] = [...main.notes];

  for (const extra of options.merge ?? []) {
    const merged = await readOpenApi(extra, baseDir, env);
    notes.push(...merged.notes);
    mergeDocument(document, merged.document, extra);
    notes.push({ severity: 'info', code: 'document/merged', message: `merged ${extra}` });
  }
  for (const overlayFile of options.overlays ?? []) {
    const raw = await readSource(overlayFile, baseDir, env);
    const overlay = parseText(raw.bytes, overlayFile);
    notes.push(...applyOverlay(document, overlay, overlayFile));
  }
  if (!isObject(document) || (typeof document.openapi === 'string' && !document.openapi.startsWith('3.'))) {
    throw new Error(`${source}: the overlays left no OpenAPI 3.x document`);
  }

  notes.push(...normalizeDocument(document));
  const { operations, notes: opNotes } = analyzeOperations(document);
  notes.push(...opNotes);
  return {
    source,
    location: main.location,
    sha256: main.sha256,
    originalVersion: main.originalVersion,
    document,
    operations,
    notes,
  };
}

interface ReadDocument {
  location: string;
  sha256: string;
  originalVersion: string;
  document: OpenApiDocument;
  notes: DocumentNote[];
}

/** Read, parse, bundle and convert one OpenAPI document, without normalising it. */
type Variables = Readonly<Record<string, string | undefined>>;

async function readOpenApi(source: string, baseDir: string, env: Variables): Promise<ReadDocument> {
  const { location, bytes } = await readSource(source, baseDir, env);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  // Decoded once: a vendor document can be tens of megabytes.
  const text = bytes.toString('utf8');
  const parsed = parseText(text, source);
  const notes: DocumentNote[] = [];
  if (!isObject(parsed)) throw new Error(`${source}: not an OpenAPI document (the top level is ${describe(parsed)}, not an object)`);
  let doc: Obj = parsed;

  const version = doc.openapi ?? doc.swagger;
  if (typeof version === 'number') {
    // YAML reads `openapi: 3.0` as a number.
    notes.push({ severity: 'warning', code: 'document/version-number', message: `the version is written as the number ${version}; read as "${version.toFixed(1)}"`, pointer: doc.openapi !== undefined ? '/openapi' : '/swagger' });
    if (doc.openapi !== undefined) doc.openapi = version.toFixed(1);
    else doc.swagger = version.toFixed(1);
  }
  const originalVersion = String(doc.openapi ?? doc.swagger ?? '');
  const isSwagger2 = doc.openapi === undefined && /^2(\.0)?$/.test(String(doc.swagger));
  if (!isSwagger2 && !(typeof doc.openapi === 'string' && /^3\.[01](\.|$)/.test(doc.openapi))) {
    if (doc.openapi !== undefined || doc.swagger !== undefined) {
      throw new Error(`${source}: unsupported OpenAPI version "${originalVersion}" (supported: Swagger 2.0, OpenAPI 3.0 and 3.1)`);
    }
    throw new Error(`${source}: not an OpenAPI document (no "openapi: 3.x" or "swagger: \\"2.0\\"" field at the top level)`);
  }

  if (doc.$ref !== undefined) {
    // Not a field of the OpenAPI object; Hudu's export carries a dangling `./info.json#/info` here.
    notes.push({ severity: 'warning', code: 'document/root-ref', message: `the top level has a "$ref" (${JSON.stringify(doc.$ref)}), which OpenAPI does not allow there: ignored`, pointer: '/$ref' });
    delete doc.$ref;
  }
  if (mayHaveExternalRefs(text) && hasExternalRefs(doc)) {
    try {
      const { default: SwaggerParser } = await import('@apidevtools/swagger-parser');
      doc = (await SwaggerParser.bundle(location, doc as never, {
        // The resolver refuses private addresses (against SSRF), unless the document itself came from one.
        resolve: { http: { timeout: FETCH_TIMEOUT_MS, safeUrlResolver: !isPrivateUrl(location) } },
        validate: { schema: false, spec: false },
      } as never)) as unknown as Obj;
    } catch (e) {
      throw new Error(`${source}: cannot resolve an external $ref: ${firstLine((e as Error).message)}`);
    }
    notes.push({ severity: 'info', code: 'document/bundled', message: 'external $refs were bundled into the document' });
  }

  if (isSwagger2) {
    if (doc.swagger !== '2.0') doc.swagger = '2.0';
    try {
      const swagger2openapi = require('swagger2openapi') as Swagger2OpenApi;
      const converted = await swagger2openapi.convertObj(doc, { patch: true, warnOnly: true, resolve: false });
      doc = converted.openapi as unknown as Obj;
      notes.push({ severity: 'info', code: 'document/converted', message: `converted from Swagger 2.0 to OpenAPI ${String(doc.openapi)}${converted.patches ? ` (${converted.patches} repairs)` : ''}` });
    } catch (e) {
      throw new Error(`${source}: cannot convert Swagger 2.0 to OpenAPI 3: ${firstLine((e as Error).message)}`);
    }
  }
  return { location, sha256, originalVersion, document: doc as OpenApiDocument, notes };
}

/** `${VAR}` expansion; a missing variable is an error, not an empty string. */
export function expandEnv(source: string, env: Variables = documentVariables()): string {
  return source.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const value = env[name];
    if (value === undefined) throw new Error(`${source}: environment variable ${name} is not set`);
    return value;
  });
}

async function readSource(source: string, baseDir: string, env: Variables): Promise<{ location: string; bytes: Buffer }> {
  const expanded = expandEnv(source, env);
  if (/^https?:\/\//i.test(expanded)) {
    let response: Response;
    try {
      response = await fetch(expanded, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'follow' });
    } catch (e) {
      const cause = (e as { cause?: { message?: string } }).cause?.message;
      throw new Error(`${source}: cannot fetch ${expanded}: ${cause ?? (e as Error).message}`);
    }
    if (!response.ok) throw new Error(`${source}: fetching ${expanded} answered HTTP ${response.status} ${response.statusText}`.trim());
    return { location: expanded, bytes: Buffer.from(await response.arrayBuffer()) };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(expanded)) throw new Error(`${source}: only file paths and http(s) URLs can be read`);
  const location = path.resolve(baseDir, expanded);
  try {
    return { location, bytes: await readFile(location) };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new Error(`${source}: cannot read ${location}: ${why}`);
  }
}

/** JSON or YAML; errors carry line and column. */
export function parseText(bytes: Buffer | string, source: string): unknown {
  let text = typeof bytes === 'string' ? bytes : bytes.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const first = /\S/.exec(text)?.[0];
  if (first === undefined) throw new Error(`${source}: the document is empty`);
  if (text.includes('\u0000')) throw new Error(`${source}: not a text document (it holds NUL bytes)`);
  if (first === '{' || first === '[') {
    try {
      return JSON.parse(text);
    } catch (e) {
      const message = (e as Error).message;
      const pos = /position (\d+)/.exec(message);
      const where = pos ? lineColumn(text, Number(pos[1])) : undefined;
      const lineCol = /line (\d+) column (\d+)/.exec(message);
      const at = where ?? (lineCol ? { line: Number(lineCol[1]), column: Number(lineCol[2]) } : undefined);
      const short = message.replace(/ in JSON at position \d+.*$/s, '').replace(/\s*\(line \d+ column \d+\)/, '');
      throw new Error(`${source}${at ? `:${at.line}:${at.column}` : ''}: JSON syntax error: ${short}`);
    }
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: false, strict: false });
  if (doc.errors.length) {
    const err = doc.errors[0];
    const pos = err.linePos?.[0];
    throw new Error(`${source}${pos ? `:${pos.line}:${pos.col}` : ''}: YAML syntax error: ${firstLine(err.message).replace(/ at line \d+, column \d+:?$/, '')}`);
  }
  try {
    return doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    throw new Error(`${source}: cannot read the YAML: ${firstLine((e as Error).message)}`);
  }
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let last = -1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      last = i;
    }
  }
  return { line, column: offset - last };
}

function isPrivateUrl(location: string): boolean {
  if (!/^https?:\/\//i.test(location)) return false;
  const host = new URL(location).hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^(127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/.test(host);
}

function firstLine(message: string): string {
  return message.split('\n')[0].trim();
}

function describe(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'a list' : `a ${typeof value}`;
}

/** A quick look at the raw text, so the common document without external refs skips the walk. */
function mayHaveExternalRefs(text: string): boolean {
  return /\$ref['"]?\s*:\s*(?!['"]?#)/.test(text);
}

function hasExternalRefs(root: unknown): boolean {
  return someObject(root, (node) => typeof node.$ref === 'string' && !node.$ref.startsWith('#'));
}

/**
 * Adds our own document's paths and components to the vendor's. Two descriptions of one
 * operation, or two different components of one name, are an error: neither may silently win.
 */
function mergeDocument(target: OpenApiDocument, extra: OpenApiDocument, name: string): void {
  if (!isObject(target.paths)) target.paths = {};
  for (const [p, item] of Object.entries(isObject(extra.paths) ? extra.paths : {})) {
    if (!isObject(item)) continue;
    const existing = target.paths[p];
    if (!isObject(existing)) {
      target.paths[p] = item;
      continue;
    }
    const pathParams = Array.isArray(item.parameters) ? item.parameters : [];
    for (const m of HTTP_METHODS) {
      const op = item[m];
      if (!isObject(op)) continue;
      if (existing[m] !== undefined) throw new Error(`${name}: ${m.toUpperCase()} ${p} is already in the document; a merged document may only add operations`);
      // The merged path item's own parameters would otherwise be lost on an existing path.
      const opParams = Array.isArray(op.parameters) ? op.parameters : [];
      existing[m] = pathParams.length ? { ...op, parameters: [...pathParams, ...opParams] } : op;
    }
  }
  if (isObject(extra.components)) {
    target.components ??= {};
    for (const [section, entries] of Object.entries(extra.components)) {
      if (!isObject(entries)) continue;
      const into = (target.components[section] ??= {}) as Obj;
      for (const [key, value] of Object.entries(entries)) {
        if (into[key] !== undefined && JSON.stringify(into[key]) !== JSON.stringify(value)) {
          throw new Error(`${name}: components.${section}.${key} differs from the one the document already has; rename it in the merged document`);
        }
        into[key] = value;
      }
    }
  }
}
