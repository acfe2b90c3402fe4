/**
 * Importing a generated folder's catalog index (index.js) with Node's own loader: generated
 * connectors are JavaScript beside their TypeScript, so no TypeScript loader is needed.
 *
 * A reload must see changed files in nested modules too, and Node caches every module by URL. So
 * the first import of an index is plain (where nothing needs the hook); a later one carries a
 * `?specgate-load=N` query, and a resolve hook (registered on that first reload) gives every
 * relative import of such a module the same query: a fresh module graph, while shared packages (specgate/openapi-fetch) stay cached.
 * The same hook resolves `specgate/...` to this package when the folder is outside any project that
 * has specgate installed (e.g. `generate --out /elsewhere` from a checkout).
 */
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

const QUERY = 'specgate-load';

const HOOK = `
const QUERY = ${JSON.stringify(QUERY)};
const queried = (url) => new RegExp('[?&]' + QUERY + '=').test(url ?? '');
let self;
export function initialize(data) { self = data.self; }
export async function resolve(specifier, context, next) {
  if (!queried(context.parentURL) && !(specifier.startsWith('file:') && queried(specifier))) return next(specifier, context);
  if (specifier.startsWith('specgate/')) {
    try {
      return await next(specifier, context);
    } catch {
      return next(specifier, { ...context, parentURL: self });
    }
  }
  if (!specifier.startsWith('.') && !specifier.startsWith('file:')) return next(specifier, context);
  // A generated module or one it imports: this very file, in the parent's generation, as an ES
  // module (a TypeScript loader in the process must not swap in the .ts beside it).
  const url = new URL(specifier, context.parentURL);
  if (!queried(url.href)) url.searchParams.set(QUERY, new URL(context.parentURL).searchParams.get(QUERY));
  return { url: url.href, format: 'module', shortCircuit: true };
}
`;

let hooked = false;
let loads = 0;
const imported = new Set<string>();

function hook(): void {
  if (hooked) return;
  hooked = true;
  // `self` is a module of this package, from which `specgate/...` resolves by self-reference.
  register(`data:text/javascript,${encodeURIComponent(HOOK)}`, { data: { self: import.meta.url } });
}

/**
 * Run from the sources, tsx may be in the process, and it would load the .ts beside each generated
 * .js: the hook keeps the generated JavaScript what runs there too.
 */
const FROM_SOURCES = import.meta.url.endsWith('.ts');

const nativeImport = createRequire(import.meta.url)('./native-import.cjs') as (url: string) => Promise<unknown>;

/**
 * The module namespace of `indexFile` (an index.js), freshly evaluated with its nested modules
 * when it was imported before in this process.
 */
export async function importGeneratedIndex(indexFile: string): Promise<unknown> {
  const url = pathToFileURL(indexFile).href;
  if (!imported.has(url) && !FROM_SOURCES && resolvesSpecgate(indexFile)) {
    const namespace = await nativeImport(url);
    imported.add(url);
    return namespace;
  }
  hook();
  const namespace = await nativeImport(`${url}?${QUERY}=${++loads}`);
  imported.add(url);
  return namespace;
}

/**
 * Whether `specgate/...` resolves from the generated folder on its own: true in a project that has
 * specgate installed; false outside any, and in specgate's own checkout, where the folder's
 * package.json ends the package scope that self-reference would need.
 */
function resolvesSpecgate(indexFile: string): boolean {
  try {
    createRequire(indexFile).resolve('specgate/openapi-fetch');
    return true;
  } catch {
    return false;
  }
}
