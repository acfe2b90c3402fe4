/**
 * The catalog: every generated connector's tools, indexed once so that serving a request never
 * walks or rebuilds anything. The generated JavaScript loads with Node's own loader, each reload in
 * a fresh module graph (generated-import.ts), so hot reload sees changes in nested modules too.
 */
import { createHash } from 'node:crypto';
import { existsSync, watch, type FSWatcher } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Tool } from '@modelcontextprotocol/server';
import type { GeneratedConnector, ToolModel } from './model.ts';
import { importGeneratedIndex } from './generated-import.ts';

export interface CatalogEntry {
  tool: ToolModel;
  connector: GeneratedConnector;
}

export interface Catalog {
  /** Sorted by connector name. */
  connectors: GeneratedConnector[];
  /** Sorted by tool name. */
  tools: ToolModel[];
  byName: Map<string, CatalogEntry>;
  /** The MCP `tools/list` entries, in the order of `tools`. */
  listEntries: Tool[];
  /** Content hash: of the generated files when loaded from disk, else of the models. */
  version: string;
}

export class CatalogError extends Error {
  override name = 'CatalogError';
}

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks just the shape the runtime relies on, so a broken generated module fails here, by name. */
function checkConnector(connector: unknown, where: string): asserts connector is GeneratedConnector {
  if (!isObject(connector) || !isObject(connector.model)) {
    throw new CatalogError(`${where}: not a generated connector (expected an object with a 'model')`);
  }
  const { model } = connector;
  if (typeof model.name !== 'string' || model.name === '') {
    throw new CatalogError(`${where}: model.name must be a non-empty string`);
  }
  if (!Array.isArray(model.tools)) {
    throw new CatalogError(`${where} (connector '${model.name}'): model.tools must be an array`);
  }
  model.tools.forEach((tool: unknown, index: number) => {
    if (!isObject(tool) || typeof tool.name !== 'string' || tool.name === '') {
      throw new CatalogError(`${where} (connector '${model.name}'): tools[${index}] has no name`);
    }
  });
}

/** JSON Schema `true`/`{}` means "anything": MCP has no way to say that, so it is left out. */
function outputSchemaOf(tool: ToolModel): Tool['outputSchema'] {
  const schema = tool.outputSchema;
  if (!isObject(schema) || Object.keys(schema).length === 0) return undefined;
  return schema as Tool['outputSchema'];
}

function inputSchemaOf(tool: ToolModel): Tool['inputSchema'] {
  // MCP requires an object root; the generator always emits one, this guards hand-made models.
  return (isObject(tool.inputSchema) ? tool.inputSchema : { type: 'object' }) as Tool['inputSchema'];
}

export function toListEntry(tool: ToolModel): Tool {
  const outputSchema = outputSchemaOf(tool);
  return {
    name: tool.name,
    ...(tool.title !== undefined && { title: tool.title }),
    description: tool.description,
    inputSchema: inputSchemaOf(tool),
    ...(outputSchema !== undefined && { outputSchema }),
    annotations: { ...tool.annotations },
  };
}

export function buildCatalog(connectors: GeneratedConnector[], version?: string): Catalog {
  if (!Array.isArray(connectors)) throw new CatalogError('buildCatalog: connectors must be an array');
  connectors.forEach((c, i) => checkConnector(c, `connectors[${i}]`));
  const sortedConnectors = [...connectors].sort((a, b) => byString(a.model.name, b.model.name));
  const byName = new Map<string, CatalogEntry>();
  for (const connector of sortedConnectors) {
    for (const tool of connector.model.tools) {
      const existing = byName.get(tool.name);
      if (existing) {
        throw new CatalogError(
          `Duplicate tool name '${tool.name}': defined by connector '${existing.connector.model.name}' and by connector '${connector.model.name}'`,
        );
      }
      byName.set(tool.name, { tool, connector });
    }
  }
  const tools = [...byName.values()].map((e) => e.tool).sort((a, b) => byString(a.name, b.name));
  return {
    connectors: sortedConnectors,
    tools,
    byName,
    listEntries: tools.map(toListEntry),
    version:
      version ??
      createHash('sha256')
        .update(JSON.stringify(sortedConnectors.map((c) => c.model)))
        .digest('hex')
        .slice(0, 16),
  };
}

/** A stable hash of every file under `dir` (relative path + content), so unchanged trees are not reloaded. */
export async function hashDirectory(dir: string): Promise<string> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name))
    .sort(byString);
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(path.relative(dir, file)).update('\0').update(await readFile(file)).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

type ConnectorLoader = () => Promise<unknown>;

/** A loader may resolve to the connector or to its module namespace (default export). */
function unwrapConnector(value: unknown): unknown {
  if (isObject(value) && !('model' in value) && isObject(value.default)) return value.default;
  return value;
}

export async function loadCatalog(generatedDir: string): Promise<Catalog> {
  const dir = path.resolve(generatedDir);
  const tsIndex = path.join(dir, 'index.ts');
  const indexFile = path.join(dir, 'index.js');
  if (!existsSync(indexFile)) {
    throw new CatalogError(existsSync(tsIndex)
      ? `${dir} has no index.js (made by an older specgate, which emitted TypeScript only): run \`specgate generate\` again`
      : `No generated connector index at ${indexFile}: run the generator first`);
  }
  const version = await hashDirectory(dir);
  let index: unknown;
  try {
    index = await importGeneratedIndex(indexFile);
  } catch (error) {
    throw new CatalogError(`Importing ${indexFile} failed: ${(error as Error).message}`);
  }
  const loaders = isObject(index) ? index.connectors : undefined;
  if (!isObject(loaders)) {
    throw new CatalogError(`${indexFile} must export 'connectors': Record<string, () => Promise<GeneratedConnector>>`);
  }
  const connectors: GeneratedConnector[] = [];
  for (const key of Object.keys(loaders).sort(byString)) {
    const loader = loaders[key];
    if (typeof loader !== 'function') {
      throw new CatalogError(`${indexFile}: connectors['${key}'] is not a function`);
    }
    let connector: unknown;
    try {
      connector = unwrapConnector(await (loader as ConnectorLoader)());
    } catch (error) {
      throw new CatalogError(`Loading connector '${key}' from ${dir} failed: ${(error as Error).message}`);
    }
    checkConnector(connector, `${indexFile}: connectors['${key}']`);
    connectors.push(connector);
  }
  return buildCatalog(connectors, version);
}

export interface CatalogWatcher {
  /** The catalog to serve now; in-flight calls keep the reference they started with. */
  current(): Catalog;
  /** Reloads now (also what the watcher calls); resolves with the catalog in force afterwards. */
  reload(): Promise<Catalog>;
  close(): void;
}

export interface WatchCatalogOptions {
  debounceMs?: number;
  onReload?: (catalog: Catalog, previous: Catalog) => void;
  /** A failed reload keeps the previous catalog; this hears why. */
  onError?: (error: Error) => void;
}

/**
 * Hot reload: watches `generatedDir` and swaps in a freshly loaded catalog when its content hash
 * changes. A broken intermediate state (the generator half-way through writing) only logs.
 */
export async function watchCatalog(generatedDir: string, options: WatchCatalogOptions = {}): Promise<CatalogWatcher> {
  let catalog = await loadCatalog(generatedDir);
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<Catalog> | undefined;
  let again = false;

  const reloadOnce = async (): Promise<Catalog> => {
    const version = await hashDirectory(path.resolve(generatedDir));
    if (version === catalog.version) return catalog;
    const next = await loadCatalog(generatedDir);
    const previous = catalog;
    catalog = next;
    options.onReload?.(next, previous);
    return next;
  };
  // One reload at a time; a change during a reload schedules exactly one more.
  const reload = (): Promise<Catalog> => {
    if (running) {
      again = true;
      return running;
    }
    running = reloadOnce()
      .catch((error: Error) => {
        options.onError?.(error);
        return catalog;
      })
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          void reload();
        }
      });
    return running;
  };

  const watcher: FSWatcher = watch(path.resolve(generatedDir), { recursive: true }, () => {
    clearTimeout(timer);
    timer = setTimeout(() => void reload(), options.debounceMs ?? 200);
  });
  watcher.on('error', (error) => options.onError?.(error));
  return {
    current: () => catalog,
    reload,
    close() {
      clearTimeout(timer);
      watcher.close();
    },
  };
}
