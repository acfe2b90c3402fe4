/**
 * generated/<connector>/client.ts: one openapi-fetch call per selected operation, keyed by
 * operationId. The call is checked against `paths` (a wrong path or method fails tsc); only the
 * arguments are cast, since the runtime has validated them against the tool's input schema.
 */
import { StructureKind, SyntaxKind, type CodeBlockWriter, type StatementStructures } from 'ts-morph';
import type { ConnectorModel, HttpMethod, ParameterLocation } from '../../runtime/model.ts';
import type { OpenApiDocument } from '../openapi/types.ts';
import { render, sourceFile } from './source.ts';
import { propertyKey } from './literal.ts';

interface Operation {
  operationId: string;
  method: HttpMethod;
  path: string;
  tools: string[];
  summary?: string;
  /** Parameter locations the tools fill, in openapi-fetch's order. */
  locations: Set<ParameterLocation>;
  hasBody: boolean;
}

const LOCATIONS: ParameterLocation[] = ['path', 'query', 'header', 'cookie'];
const METHODS: ReadonlySet<string> = new Set<HttpMethod>(['GET', 'HEAD', 'POST']);

/**
 * `typed: false` (a large connector, see large.ts): no schema.ts behind the calls; the client is
 * openapi-fetch's without its `paths` type, each call still checked for its method and fields.
 */
export function emitClientFile(model: ConnectorModel, pruned: OpenApiDocument, specFile: string, runtimeModelImport: string, options: { typed?: boolean } = {}): string {
  const typed = options.typed ?? true;
  const operations = collectOperations(model, pruned);
  const statements: StatementStructures[] = [
    // openapi-fetch through specgate's own export: the user's project need not depend on it.
    { kind: StructureKind.ImportDeclaration, namedImports: ['createClient'], moduleSpecifier: 'specgate/openapi-fetch' },
    {
      kind: StructureKind.ImportDeclaration,
      isTypeOnly: true,
      namedImports: ['ClientOptions', 'OperationCall', 'UpstreamRequest', 'UpstreamResult'],
      moduleSpecifier: runtimeModelImport,
    },
    typed
      ? { kind: StructureKind.ImportDeclaration, isTypeOnly: true, namedImports: ['paths'], moduleSpecifier: './schema.ts' }
      : {
        kind: StructureKind.TypeAlias,
        name: 'UntypedClient',
        docs: ['The calls of an openapi-fetch client, without a `paths` type to check paths and parameters against.'],
        type: 'Record<"GET" | "HEAD" | "POST", (path: string, init: { params?: Record<string, unknown>; headers?: Record<string, string>; body?: unknown; parseAs: "text"; signal?: AbortSignal; fetch?: (input: Request) => Promise<Response> }) => Promise<{ data?: unknown; error?: unknown; response: Response }>>',
      },
    {
      kind: StructureKind.Function,
      isExported: true,
      name: 'createOperations',
      docs: [`The ${operations.length} selected operation(s) of ${commentText(model.title)}, keyed by operationId.`],
      parameters: [{ name: 'options', type: 'ClientOptions' }],
      returnType: 'Record<string, OperationCall>',
      statements: [
        typed
          ? 'const client = createClient<paths>({ baseUrl: options.baseUrl, fetch: options.fetch });'
          : 'const client = createClient({ baseUrl: options.baseUrl, fetch: options.fetch }) as unknown as UntypedClient;',
        'return {};',
      ],
    },
    {
      kind: StructureKind.Function,
      name: 'asText',
      isAsync: true,
      docs: ['openapi-fetch parses an error body as JSON when it can; the runtime expects text (UpstreamResult).'],
      parameters: [{ name: 'call', type: 'Promise<{ data?: unknown; error?: unknown; response: Response }>' }],
      returnType: 'Promise<UpstreamResult>',
      statements: [
        'const { data, error, response } = await call;',
        "if (error !== undefined) return { error: typeof error === 'string' ? error : JSON.stringify(error), response };",
        "return { data: typeof data === 'string' ? data : undefined, response };",
      ],
    },
  ];
  if (operations.some((op) => op.locations.has('cookie'))) {
    statements.push({
      kind: StructureKind.Function,
      name: 'cookieHeader',
      docs: ['openapi-fetch does not send cookie parameters; they go in one Cookie header.'],
      parameters: [{ name: 'cookies', type: 'Record<string, string>' }],
      returnType: 'Record<string, string>',
      statements: [
        'const pairs = Object.entries(cookies).map(([name, value]) => `${name}=${encodeURIComponent(value)}`);',
        "return pairs.length ? { Cookie: pairs.join('; ') } : {};",
      ],
    });
  }
  // One structure, printed and parsed once: each add*() call would re-parse the growing file.
  const file = sourceFile('client.ts', { statements });
  // The operations go in as text in place of the `{}` returned: parsed by ts-morph, one object
  // member per operation (GitHub: 639) was most of this file's emission time, for an AST that
  // nothing reads.
  const returned = file.getFunctionOrThrow('createOperations').getStatementByKindOrThrow(SyntaxKind.ReturnStatement).getExpressionOrThrow();
  const writer = file.getProject().createWriter().setIndentationLevel(1);
  writer.write('{').newLine().indent(() => {
    for (const op of operations) writeOperation(writer, op, typed);
  }).write('}');
  return render(file, specFile, { node: returned, text: writer.toString().trimStart() });
}

function writeOperation(writer: CodeBlockWriter, op: Operation, typed: boolean): void {
  const path = JSON.stringify(op.path);
  const method = op.method.toLowerCase();
  writer.writeLine(`/** ${commentText([...op.tools].sort().join(', '))}${op.summary ? `: ${commentText(op.summary)}` : ''} */`);
  writer.write(`${propertyKey(op.operationId)}: (req: UpstreamRequest) => asText(client.${op.method}(${path}, {`).newLine();
  writer.indent(() => {
    const locations = LOCATIONS.filter((l) => op.locations.has(l));
    if (locations.length) {
      // Through unknown: the runtime's string maps are not comparable with every declared type.
      const params = locations.map((l) => `${l}: req.${l}`).join(', ');
      writer.writeLine(typed ? `params: { ${params} } as unknown as paths[${path}][${JSON.stringify(method)}]["parameters"],` : `params: { ${params} },`);
    }
    if (op.locations.has('cookie')) writer.writeLine('headers: cookieHeader(req.cookie),');
    // The body type lives in the schema; `never` fits whichever it is (validated upstream of here).
    if (op.hasBody) writer.writeLine(typed ? 'body: req.body as never,' : 'body: req.body,');
    writer.writeLine('parseAs: "text",');
    writer.writeLine('signal: req.signal,');
    writer.writeLine('fetch: req.fetch,');
  });
  writer.writeLine('})),');
}

function collectOperations(model: ConnectorModel, pruned: OpenApiDocument): Operation[] {
  const byId = new Map<string, Operation>();
  for (const tool of model.tools) {
    const { operationId, method, path } = tool.operation;
    const where = `tool "${tool.name}" (${method} ${path}, operationId "${operationId}")`;
    if (!METHODS.has(method)) throw new Error(`${where}: method ${method} cannot be emitted (GET, HEAD or POST only)`);
    const item = pruned.paths?.[path];
    const docOp = item?.[method.toLowerCase()] as { summary?: unknown; requestBody?: unknown } | undefined;
    if (!docOp || typeof docOp !== 'object') {
      throw new Error(`${where}: the pruned document has no ${method} ${path}; the typed client could not be checked against it`);
    }
    const known = byId.get(operationId);
    if (known && (known.method !== method || known.path !== path)) {
      throw new Error(`${where}: operationId "${operationId}" is also ${known.method} ${known.path} (tools ${known.tools.join(', ')})`);
    }
    const op = known ?? {
      operationId, method, path, tools: [],
      summary: typeof docOp.summary === 'string' && docOp.summary.trim() ? docOp.summary : tool.title ?? tool.description,
      locations: new Set<ParameterLocation>(),
      hasBody: false,
    };
    op.tools.push(tool.name);
    for (const p of tool.parameters) op.locations.add(p.in);
    op.hasBody ||= tool.body !== undefined || (method === 'POST' && docOp.requestBody !== undefined);
    byId.set(operationId, op);
  }
  return [...byId.values()].sort((a, b) => (a.operationId < b.operationId ? -1 : a.operationId > b.operationId ? 1 : 0));
}

/** One line, safe inside a block comment. */
function commentText(text: string): string {
  const line = oneLine(text);
  const short = line.length > 160 ? `${line.slice(0, 157)}...` : line;
  return short.replace(/\*\//g, '*\\/');
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
