/**
 * `specgate generate`: every spec -> generated/<connector>/, written only where the content
 * changed, or compared without writing (`--check`).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ConnectorModel } from '../runtime/model.ts';
import type { OpenApiDocument } from './openapi/types.ts';
import type { Diagnostic } from './spec/types.ts';
import { buildConnector, type ConnectorBuild } from './pipeline.ts';
import { emitCatalog, emitConnector } from './emit/emit.ts';
import { writeGenerated } from './emit/write.ts';
import { SchemaThread } from './emit/schema-thread.ts';
import { diffModels, loadPreviousModel, type ModelDiff } from './diff.ts';
import { isLargeConnector } from './emit/large.ts';
import { HTTP_METHODS } from './openapi/normalize.ts';

export interface GenerateOptions {
  outDir: string;
  check: boolean;
  onProgress?: (event: ProgressEvent) => void;
  /**
   * The thread that types schema.ts files, when the caller started it early so that its modules
   * load while the caller's do (the CLI does); the caller then closes it. Otherwise generate
   * starts and closes one of its own.
   */
  schemaThread?: SchemaThread;
}

export type ProgressEvent =
  | { kind: 'start'; total: number }
  | { kind: 'connector'; index: number; total: number; specFile: string; connector?: string; tools?: number; ms: number; failed: boolean };

export interface GenerateResult {
  diagnostics: Diagnostic[];
  builds: ConnectorBuild[];
  written: string[];
  unchanged: string[];
  stale: string[];
  removed: string[];
  changes: Array<{ connector: string; diff: ModelDiff }>;
  ok: boolean;
}

export async function generate(specFiles: string[], options: GenerateOptions): Promise<GenerateResult> {
  if (options.schemaThread) return generateWith(options.schemaThread, specFiles, options);
  const thread = new SchemaThread();
  try {
    return await generateWith(thread, specFiles, options);
  } finally {
    await thread.close();
  }
}

async function generateWith(thread: SchemaThread, specFiles: string[], options: GenerateOptions): Promise<GenerateResult> {
  const outDir = path.resolve(options.outDir);
  const diagnostics: Diagnostic[] = [];
  const builds: ConnectorBuild[] = [];
  const schemas = new Map<string, Promise<string>>();
  options.onProgress?.({ kind: 'start', total: specFiles.length });
  for (const [index, specFile] of specFiles.entries()) {
    const started = performance.now();
    const outcome = await buildConnector(specFile, {
      onPruned: (pruned) => {
        // A large connector has no schema.ts (emit/large.ts): nothing to type.
        if (isLargeConnector(countOperations(pruned))) return;
        const typed = thread.type(pruned, specRelative(outDir, specFile));
        // Awaited only if the build succeeds; a failed build's job must not surface as unhandled.
        typed.catch(() => {});
        schemas.set(path.resolve(specFile), typed);
      },
    });
    diagnostics.push(...outcome.diagnostics);
    if (outcome.build) builds.push(outcome.build);
    options.onProgress?.({
      kind: 'connector', index: index + 1, total: specFiles.length, specFile,
      connector: outcome.build?.model.name, tools: outcome.build?.model.tools.length,
      ms: performance.now() - started, failed: !outcome.build,
    });
  }

  const seen = new Map<string, string>();
  for (const b of builds) {
    const prev = seen.get(b.model.name);
    if (prev) {
      diagnostics.push({ severity: 'error', code: 'spec/duplicate-connector', message: `connector "${b.model.name}" is also defined by ${path.relative(process.cwd(), prev)}`, ...b.spec.positionOf(['connector']) });
    }
    seen.set(b.model.name, b.specFile);
  }
  const empty = { builds, written: [], unchanged: [], stale: [], removed: [], changes: [] };
  if (diagnostics.some((d) => d.severity === 'error')) return { diagnostics, ...empty, ok: false };

  const files = new Map<string, string>();
  const changes: GenerateResult['changes'] = [];
  for (const b of builds) {
    const emitted = await emitConnector(b.model, b.pruned, { specFile: specRelative(outDir, b.specFile), schema: schemas.get(b.specFile) });
    for (const [f, content] of emitted) files.set(f, content);
    // The pruned document drives the mock upstream (`serve --mock`) without the vendor's file.
    files.set(`${b.model.name}/openapi.json`, `${JSON.stringify(b.pruned, null, 2)}\n`);
    const previous = await loadPreviousModel(outDir, b.model.name);
    if (previous) {
      const diff = diffModels(previous as ConnectorModel, b.model);
      if (diff.added.length || diff.removed.length || diff.changed.length || diff.documentChanged) changes.push({ connector: b.model.name, diff });
    }
  }
  // The catalog index lists every connector the output folder will hold, not only this run's.
  const names = new Set(builds.map((b) => b.model.name));
  if (fs.existsSync(outDir)) {
    for (const entry of fs.readdirSync(outDir, { withFileTypes: true })) {
      if (entry.isDirectory() && fs.existsSync(path.join(outDir, entry.name, 'index.ts'))) names.add(entry.name);
    }
  }
  for (const [f, content] of emitCatalog([...names].sort())) files.set(f, content);

  const result = await writeGenerated(outDir, files, { check: options.check, prune: true });
  return { diagnostics, builds, ...result, changes, ok: !options.check || result.stale.length === 0 };
}

/**
 * The spec as the header names it: relative to the folder holding the output folder (the project
 * root for generated/), so the text is the same whichever folder generate ran from.
 */
function specRelative(outDir: string, specFile: string): string {
  return path.relative(path.dirname(outDir), path.resolve(specFile)).split(path.sep).join('/');
}

function countOperations(doc: OpenApiDocument): number {
  return Object.values(doc.paths).reduce((n, item) => n + HTTP_METHODS.filter((m) => item[m] !== undefined).length, 0);
}
