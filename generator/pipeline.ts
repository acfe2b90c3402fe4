/**
 * The build half, end to end for one spec: load + validate -> resolve OpenAPI -> select
 * operations -> tool model -> prune the document to what the tools use. Emission is separate
 * (generator/generate.ts) so that `check` runs everything but the writing.
 */
import path from 'node:path';
import type { AuthModel, ConnectorModel } from '../runtime/model.ts';
import type { Diagnostic, LoadedSpec } from './spec/types.ts';
import type { LoadedDocument, OpenApiDocument } from './openapi/types.ts';
import { loadSpec } from './spec/load.ts';
import { loadDocument } from './openapi/load.ts';
import { pruneDocument } from './openapi/prune.ts';
import { findDanglingRefs, locateRefs } from './openapi/dangling-refs.ts';
import { selectOperations, type Selection, type Skipped } from './select.ts';
import { buildModel } from './build-model.ts';
import { authModel, credentialHeaders } from './auth.ts';
import { isOwnedParameter } from './model/auth.ts';

export interface ConnectorBuild {
  specFile: string;
  spec: LoadedSpec;
  document: LoadedDocument;
  model: ConnectorModel;
  /** The vendor document cut down to the selected operations: input of the typed client. */
  pruned: OpenApiDocument;
  skipped: Skipped[];
}

export interface BuildOptions {
  /**
   * Called with the pruned document as soon as the selection is known, before the tool model is
   * built: its typing (the slowest step of a large connector) can start on another thread.
   */
  onPruned?: (pruned: OpenApiDocument) => void;
  /** Build from the document as it is now even when it differs from the pinned sha256: `pin --dry-run` reviews the change this way. */
  unpinned?: boolean;
}

export interface BuildOutcome {
  build?: ConnectorBuild;
  diagnostics: Diagnostic[];
}

/**
 * Credentials that a document also declares as parameters (an `x-api-key` header) are the
 * credential broker's, not the caller's: they leave the typed client and the mock's document,
 * which would otherwise demand them of every request. So do the Accept, Content-Type and
 * Authorization headers, which OpenAPI says to ignore (and the tool model does): typed as required
 * by openapi-typescript, they made the generated client fail to compile (vtex.local's documents).
 */
function withoutCredentialParameters(doc: OpenApiDocument, auth: AuthModel): OpenApiDocument {
  const credentialKeys = credentialHeaders(auth);
  const parameterLists = (d: OpenApiDocument) => Object.values(d.paths).flatMap((item) => Object.entries(item).flatMap(([key, value]) => {
    if (key === 'parameters') return Array.isArray(value) ? [{ holder: item as Record<string, unknown>, key }] : [];
    const params = value && typeof value === 'object' ? (value as { parameters?: unknown }).parameters : undefined;
    return Array.isArray(params) ? [{ holder: value as Record<string, unknown>, key: 'parameters' }] : [];
  }));
  const dropped = (d: OpenApiDocument) => (p: unknown) => {
    // A null entry (a broken vendor document) is left for validation downstream, not crashed on.
    const param = (p ?? {}) as { in?: string; name?: string; $ref?: string };
    const resolved = param.$ref?.startsWith('#/components/parameters/')
      ? ((d.components?.parameters ?? {}) as Record<string, { in?: string; name?: string }>)[param.$ref.slice('#/components/parameters/'.length)]
      : param;
    return !!resolved && isOwnedParameter(credentialKeys, { in: String(resolved.in), name: String(resolved.name) });
  };
  // Most documents have none of these: no copy then.
  if (!parameterLists(doc).some(({ holder, key }) => (holder[key] as unknown[]).some(dropped(doc)))) return doc;
  doc = structuredClone(doc); // the pruned document may share objects with the loaded one
  const drop = dropped(doc);
  for (const { holder, key } of parameterLists(doc)) holder[key] = (holder[key] as unknown[]).filter((p) => !drop(p));
  return doc;
}

export async function buildConnector(specFile: string, options: BuildOptions = {}): Promise<BuildOutcome> {
  const file = path.resolve(specFile);
  const { loaded, diagnostics } = await loadSpec(file);
  if (!loaded || diagnostics.some((d) => d.severity === 'error')) return { diagnostics };
  const { spec } = loaded;

  let document: LoadedDocument;
  try {
    document = await loadDocument(spec.document.source, {
      baseDir: path.dirname(file),
      overlays: spec.document.overlays,
      merge: spec.document.merge,
    });
  } catch (e) {
    diagnostics.push({
      severity: 'error', code: 'document/load', message: (e as Error).message,
      hint: 'the path is relative to the spec file; set SPECGATE_OPENAPI_DIR to the folder holding the vendor documents',
      ...loaded.positionOf(['document', 'source']),
    });
    return { diagnostics };
  }

  if (!options.unpinned && spec.document.sha256 && spec.document.sha256 !== document.sha256) {
    diagnostics.push({
      severity: 'error', code: 'document/changed',
      message: `the document changed: the spec records sha256 ${spec.document.sha256}, the document now has ${document.sha256}`,
      hint: 'review the tools it adds, removes and changes with `specgate pin --dry-run`, then run `specgate pin`',
      ...loaded.positionOf(['document', 'sha256']),
    });
  } else if (!spec.document.sha256) {
    diagnostics.push({
      severity: 'warning', code: 'document/unpinned',
      message: 'document.sha256 is not recorded, so a change of the vendor document would go unnoticed',
      hint: `add \`sha256: ${document.sha256}\` (or run \`specgate pin\`)`,
      ...loaded.positionOf(['document']),
    });
  }

  const selection = selectOperations(loaded, document);
  diagnostics.push(...selection.diagnostics);
  diagnostics.push(...danglingRefDiagnostics(loaded, document, selection.selections));
  if (diagnostics.some((d) => d.severity === 'error')) return { diagnostics };
  // The tools are exactly the selected operations whenever the build succeeds (a tool that fails
  // is an error), so the typed client's input is known before the model is built.
  const pruned = withoutCredentialParameters(pruneDocument(document.document, selection.selections.map((s) => s.op)), authModel(document, loaded.spec.auth));
  if (selection.selections.length && !diagnostics.some((d) => d.severity === 'error')) options.onPruned?.(pruned);
  const { model, diagnostics: modelDiagnostics } = buildModel(loaded, document, selection);
  diagnostics.push(...modelDiagnostics);
  if (model.tools.length === 0 && !diagnostics.some((d) => d.severity === 'error')) {
    diagnostics.push({ severity: 'error', code: 'select/no-tools', message: 'the spec selects no operation', hint: 'add `select:` or `tools:` entries', ...loaded.positionOf([]) });
  }
  if (diagnostics.some((d) => d.severity === 'error')) return { diagnostics };

  return { build: { specFile: file, spec: loaded, document, model, pruned, skipped: selection.skipped }, diagnostics };
}

/** A `$ref` to nothing among what the tools reach: the typed client could not be built. */
function danglingRefDiagnostics(loaded: LoadedSpec, document: LoadedDocument, selections: Selection[]): Diagnostic[] {
  const dangling = findDanglingRefs(document.document, selections.map((s) => s.op));
  if (dangling.length === 0) return [];
  const local = !/^https?:/i.test(document.location) && !(loaded.spec.document.overlays?.length || loaded.spec.document.merge?.length);
  const located = local ? locateRefs(document.location, dangling) : new Map<string, { line: number; column: number }>();
  const selectedBy = new Map(selections.map((s) => [`${s.op.method} ${s.op.path}`, s.specPath]));
  return dangling.map((d) => {
    const at = located.get(d.pointer);
    return {
      severity: 'error' as const, code: 'document/dangling-ref',
      message: `$ref "${d.ref}" at ${d.pointer} points at nothing in the document (reached from ${d.operation})`,
      hint: 'add the missing component or drop the reference with an overlay (document.overlays), or leave the operation out',
      ...(at ? { file: document.location, ...at } : loaded.positionOf(selectedBy.get(d.operation) ?? [])),
    };
  });
}
