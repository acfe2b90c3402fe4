/**
 * generated/<connector>/model.ts: the tool model as one typed object literal. Model keys come
 * in the order runtime/model.ts declares them, so that a builder reordering its assignments does
 * not churn the output; free-form data (JSON Schemas, fixed and default values) keeps its own
 * order, which carries meaning for clients (the order arguments are shown in).
 */
import { StructureKind, VariableDeclarationKind } from 'ts-morph';
import type { ConnectorModel } from '../../runtime/model.ts';
import { render, sourceFile } from './source.ts';
import { literalText, type KeyOrder } from './literal.ts';
import { generatedHeader } from './header.ts';
import { isLargeConnector } from './large.ts';

interface Order {
  keys?: string[];
  /** Keys of a Record: sorted, they have no meaningful order. */
  sorted?: boolean;
  children?: Record<string, Order>;
  item?: Order;
}

const TOOL: Order = {
  keys: ['name', 'title', 'description', 'connector', 'operation', 'effect', 'effectReason', 'riskTier', 'sensitivity', 'tags',
    'annotations', 'inputSchema', 'outputSchema', 'parameters', 'body', 'keyMapping', 'pagination',
    'customerParameters', 'scope', 'ownership', 'ownerParent', 'shape', 'definitionTokens'],
  children: {
    operation: { keys: ['method', 'path', 'operationId', 'derivedOperationId'] },
    annotations: { keys: ['title', 'readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'] },
    parameters: {
      item: { keys: ['name', 'in', 'argument', 'required', 'fixed', 'default', 'customer', 'customerTemplate', 'customerId', 'pagination', 'style', 'explode'] },
    },
    body: { keys: ['argument', 'contentType', 'required', 'customerFields'], children: { customerFields: { item: { keys: ['path', 'customerId'] } } } },
    scope: { keys: ['kind', 'bound', 'verified', 'parent', 'credential', 'reason', 'customerRecords'] },
    ownership: { keys: ['field', 'items', 'customerId', 'optionalReason'] },
    ownerParent: { keys: ['tool', 'arguments'], children: { arguments: { sorted: true } } },
    keyMapping: { sorted: true },
    pagination: {
      keys: ['style', 'pageParam', 'sizeParam', 'offsetParam', 'limitParam', 'cursorParam', 'nextCursorPath',
        'nextUrlPath', 'firstPage', 'defaultLimit', 'maxLimit'],
    },
    shape: { keys: ['project', 'itemsPath', 'maxItems', 'tokenBudget', 'redact', 'cacheMs'] },
  },
};

const CONNECTOR: Order = {
  keys: ['name', 'title', 'description', 'document', 'servers', 'auth', 'customer', 'tools', 'allowList'],
  children: {
    document: { keys: ['source', 'sha256', 'version', 'openapi'] },
    auth: {
      keys: ['schemes', 'apiKey', 'oauth2'],
      children: {
        schemes: { item: { keys: ['name', 'type', 'in', 'paramName', 'scheme', 'tokenUrl'] } },
        apiKey: { keys: ['header', 'prefix'] },
        oauth2: { keys: ['grant', 'tokenUrl', 'scope', 'clientId'] },
      },
    },
    customer: { keys: ['description', 'ids'] },
    tools: { item: TOOL },
    allowList: { item: { keys: ['method', 'path'] } },
  },
};

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export const modelKeyOrder: KeyOrder = (path, keys) => {
  let node: Order | undefined = CONNECTOR;
  for (const segment of path) {
    node = typeof segment === 'number' ? node.item : node.children?.[segment];
    if (!node) return keys;
  }
  if (node.sorted) return [...keys].sort(byCodeUnit);
  if (!node.keys) return keys;
  const known = node.keys.filter((k) => keys.includes(k));
  const rest = keys.filter((k) => !node.keys!.includes(k)).sort(byCodeUnit);
  return [...known, ...rest];
};

/** tools[i].inputSchema and tools[i].outputSchema: the bulk of a model, as JSON text (see literal.ts). */
const isSchema = (path: ReadonlyArray<string | number>) =>
  path.length === 3 && path[0] === 'tools' && (path[2] === 'inputSchema' || path[2] === 'outputSchema');

/**
 * model.ts (typed, for tsc) and model.js (what the runtime loads): the same literal text, made
 * once. The data is most of a connector, too large to be worth a second pass of the transpiler.
 * A large connector's model is model.json instead, with model.ts declaring its type (large.ts).
 */
export function emitModelFile(model: ConnectorModel, specFile: string, runtimeModelImport: string): { ts: string; js: string; json?: string } {
  if (isLargeConnector(model.tools.length)) return emitLargeModel(model, specFile, runtimeModelImport);
  const file = sourceFile('model.ts', {
    statements: [
      { kind: StructureKind.ImportDeclaration, isTypeOnly: true, namedImports: ['ConnectorModel'], moduleSpecifier: runtimeModelImport },
      {
        kind: StructureKind.VariableStatement,
        isExported: true,
        declarationKind: VariableDeclarationKind.Const,
        declarations: [{ name: 'model', type: 'ConnectorModel', initializer: '{}' }],
      },
    ],
  });
  // The module's code comes from ts-morph; the data goes in as text, in place of the `{}`
  // initializer. Given to ts-morph, megabytes of literal (GitHub: 4 MB) would be scanned by its
  // writer and parsed into an AST that nothing reads, most of the emission time.
  const initializer = file.getVariableDeclarationOrThrow('model').getInitializerOrThrow();
  const data = literalText(model, { order: modelKeyOrder, asJsonText: isSchema, where: 'model' });
  return { ts: render(file, specFile, { node: initializer, text: data }), js: `${generatedHeader(specFile)}\nexport const model = ${data};\n` };
}

function emitLargeModel(model: ConnectorModel, specFile: string, runtimeModelImport: string): { ts: string; js: string; json: string } {
  const header = generatedHeader(specFile);
  const why = '// The model is in model.json, which loads far faster than a module of literal this large: model.js reads it.\n';
  return {
    ts: `${header}\nimport type { ConnectorModel } from ${JSON.stringify(runtimeModelImport)};\n\n${why}export declare const model: ConnectorModel;\n`,
    js: `${header}\nimport { readFileSync } from "node:fs";\n\n${why}export const model = JSON.parse(readFileSync(new URL("./model.json", import.meta.url), "utf8"));\n`,
    json: `${JSON.stringify(ordered(model, []))}\n`,
  };
}

/** The model with its keys in modelKeyOrder (schemas as they are), for JSON.stringify. */
function ordered(value: unknown, path: Array<string | number>): unknown {
  if (Array.isArray(value)) return value.map((v, i) => ordered(v, [...path, i]));
  if (value === null || typeof value !== 'object' || (path.length && isSchema(path))) return value;
  const obj = value as Record<string, unknown>;
  // fromEntries defines own properties: a `__proto__` key stays data.
  return Object.fromEntries(modelKeyOrder(path, Object.keys(obj)).filter((k) => obj[k] !== undefined).map((k) => [k, ordered(obj[k], [...path, k])]));
}
