/**
 * Tool model + pruned document -> the files of generated/<connector>/ and the catalog index,
 * as a map of relative posix path -> content. Nothing is written here (see write.ts), so that
 * `--check` compares exactly what a write would produce.
 */
import path from 'node:path';
import type { ConnectorModel } from '../../runtime/model.ts';
import type { OpenApiDocument } from '../openapi/types.ts';
import { render, sourceFile } from './source.ts';
import { propertyKey } from './literal.ts';
import { emitModelFile } from './model-file.ts';
import { emitClientFile } from './client-file.ts';
import { javaScriptName, transpiled } from './javascript.ts';
import { isLargeConnector } from './large.ts';

/** The runtime's types, through the package's public exports (package.json), from anywhere. */
export const DEFAULT_RUNTIME_MODEL_IMPORT = 'specgate/model';

export interface EmitOptions {
  /** The spec the connector comes from, relative to the project root, posix separators. */
  specFile: string;
  /** Import specifier of runtime/model.ts as seen from generated/<connector>/ (default: the package export). */
  runtimeModelImport?: string;
  /**
   * schema.ts, already being typed (generate types it on a worker thread while the model is
   * built); typed here, on this thread, when absent.
   */
  schema?: Promise<string>;
}

/** A folder name that is also safe as a path segment and an import specifier. */
const CONNECTOR_NAME = /^[a-z0-9][a-z0-9_-]*$/;

export async function emitConnector(model: ConnectorModel, pruned: OpenApiDocument, options: EmitOptions): Promise<Map<string, string>> {
  const name = checkName(model?.name, 'model.name');
  if (!Array.isArray(model.tools) || model.tools.length === 0) throw new Error(`connector "${name}": the model has no tools to emit`);
  if (!pruned || typeof pruned !== 'object' || !pruned.paths || typeof pruned.paths !== 'object') {
    throw new Error(`connector "${name}": the pruned document has no paths object`);
  }
  const specFile = checkSpecFile(options.specFile);
  const runtimeModelImport = options.runtimeModelImport ?? DEFAULT_RUNTIME_MODEL_IMPORT;
  const large = isLargeConnector(model.tools.length);
  // Loaded on demand: openapi-typescript and its own TypeScript take half a second to load.
  const schema = large ? undefined : options.schema ?? import('./schema-types.ts').then((m) => m.emitSchemaFile(pruned, specFile));
  const client = emitClientFile(model, pruned, specFile, runtimeModelImport, { typed: !large });
  const index = emitIndexFile(specFile, runtimeModelImport);
  const modelFile = emitModelFile(model, specFile, runtimeModelImport);
  // schema.ts holds types only (imported with `import type`): it has no JavaScript twin.
  return new Map([
    [`${name}/client.js`, transpiled('client.ts', client)],
    [`${name}/client.ts`, client],
    [`${name}/index.js`, transpiled('index.ts', index)],
    [`${name}/index.ts`, index],
    [`${name}/model.js`, modelFile.js],
    [`${name}/model.ts`, modelFile.ts],
    ...(modelFile.json ? [[`${name}/model.json`, modelFile.json] as [string, string]] : []),
    ...(schema ? [[`${name}/schema.ts`, await schema] as [string, string]] : []),
  ]);
}

function emitIndexFile(specFile: string, runtimeModelImport: string): string {
  const file = sourceFile('index.ts');
  file.addImportDeclaration({ isTypeOnly: true, namedImports: ['GeneratedConnector'], moduleSpecifier: runtimeModelImport });
  file.addImportDeclaration({ namedImports: ['model'], moduleSpecifier: './model.ts' });
  file.addImportDeclaration({ namedImports: ['createOperations'], moduleSpecifier: './client.ts' });
  file.addExportDeclaration({ namedExports: ['model', { name: 'createOperations', alias: 'createClient' }] });
  file.addExportAssignment({
    isExportEquals: false,
    leadingTrivia: '// The same module as one value: fails to compile if it stops being what the runtime loads.\n',
    expression: '{ model, createClient: createOperations } satisfies GeneratedConnector',
  });
  return render(file, specFile);
}

/**
 * The output root's index.ts: every connector behind a lazy import, so that the runtime parses
 * only the connectors it serves.
 */
export function emitCatalog(connectors: string[], runtimeModelImport: string = DEFAULT_RUNTIME_MODEL_IMPORT): Map<string, string> {
  const names = [...new Set(connectors.map((c, i) => checkName(c, `connectors[${i}]`)))].sort();
  const file = sourceFile('index.ts');
  file.addImportDeclaration({ isTypeOnly: true, namedImports: ['GeneratedConnector'], moduleSpecifier: rootImport(runtimeModelImport) });
  file.addStatements((writer) => {
    writer.write('export const connectors = {').newLine().indent(() => {
      for (const n of names) writer.writeLine(`${propertyKey(n)}: () => import(${JSON.stringify(`./${n}/index.ts`)}),`);
    }).write('} satisfies Record<string, () => Promise<GeneratedConnector>>;').newLine();
  });
  const index = render(file);
  return new Map([
    [javaScriptName('index.ts'), transpiled('index.ts', index)],
    ['index.ts', index],
    // The folder's modules are ES modules whatever the enclosing project's package.json says.
    ['package.json', `${JSON.stringify({ type: 'module' }, null, 2)}\n`],
  ]);
}

/** The connector folders' import of runtime/model.ts, seen one level up (from the output root). */
function rootImport(fromConnector: string): string {
  if (!fromConnector.startsWith('.')) return fromConnector; // a package name or alias: same everywhere
  const rel = path.posix.normalize(path.posix.join('connector', fromConnector));
  return rel.startsWith('.') ? rel : `./${rel}`;
}

function checkName(name: unknown, where: string): string {
  if (typeof name !== 'string' || !CONNECTOR_NAME.test(name)) {
    throw new Error(`${where}: ${JSON.stringify(name)} is not a valid connector name (lower-case letters, digits, "-" and "_", starting with a letter or digit)`);
  }
  return name;
}

function checkSpecFile(specFile: unknown): string {
  if (typeof specFile !== 'string' || !specFile || path.isAbsolute(specFile) || /^[A-Za-z]:/.test(specFile) || specFile.includes('\\')) {
    throw new Error(`specFile: ${JSON.stringify(specFile)} must be a relative posix path (it goes into every generated file's header)`);
  }
  return specFile;
}
