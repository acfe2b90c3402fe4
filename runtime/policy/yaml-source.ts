/**
 * YAML file -> plain data validated against a JSON Schema, keeping the document tree so any part
 * (down to a character inside a scalar) can be reported as file:line:col.
 */
import { Ajv, type ErrorObject, type SchemaObject } from 'ajv';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Document, type Node, type Scalar } from 'yaml';
import type { Diagnostic, SourcePosition } from '../../generator/spec/types.ts';

export type JsonPath = Array<string | number>;

export interface YamlSource<T> {
  file: string;
  data?: T;
  diagnostics: Diagnostic[];
  /** Position of the node at a path; with `inner`, of that character offset inside a string scalar. */
  positionOf(path: JsonPath, inner?: number): SourcePosition;
}

const ajv = new Ajv({ allErrors: true, strict: false });
const validators = new Map<SchemaObject, ReturnType<typeof ajv.compile>>();

export function readYamlSource<T>(file: string, text: string, schema: SchemaObject, code: string): YamlSource<T> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const at = (offset: number): SourcePosition => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, column: col };
  };
  const positionOf = (p: JsonPath, inner?: number): SourcePosition => {
    const node = nodeAt(doc, p);
    const start = node?.range?.[0] ?? 0;
    if (inner === undefined || !node || !isScalar(node)) return at(start);
    return at(innerOffset(text, node, inner));
  };
  const diagnostics: Diagnostic[] = [];
  for (const e of doc.errors) {
    diagnostics.push({ ...at(e.pos[0]), severity: 'error', code: `${code}/yaml`, message: e.message.split('\n')[0] });
  }
  if (diagnostics.length) return { file, diagnostics, positionOf };
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return { file, diagnostics: [{ ...at(0), severity: 'error', code: `${code}/yaml`, message: (e as Error).message }], positionOf };
  }
  let validate = validators.get(schema);
  if (!validate) validators.set(schema, (validate = ajv.compile(schema)));
  if (!validate(data)) {
    for (const err of validate.errors ?? []) {
      const p = pointerToPath(err.instancePath);
      diagnostics.push({ ...positionOf(p), severity: 'error', code: `${code}/schema`, message: schemaMessage(err) });
    }
    return { file, diagnostics, positionOf };
  }
  return { file, data: data as T, diagnostics, positionOf };
}

function schemaMessage(err: ErrorObject): string {
  const where = err.instancePath ? err.instancePath.slice(1).replaceAll('/', '.') : 'the file';
  if (err.keyword === 'additionalProperties') return `${where}: unknown key "${(err.params as { additionalProperty: string }).additionalProperty}"`;
  if (err.keyword === 'enum') return `${where}: must be one of ${(err.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
  return `${where} ${err.message ?? 'is invalid'}`;
}

function pointerToPath(pointer: string): JsonPath {
  if (!pointer) return [];
  return pointer.slice(1).split('/').map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** The node at a path, or the deepest existing parent: an error is better placed near than nowhere. */
function nodeAt(doc: Document, p: JsonPath): Node | undefined {
  let node = doc.contents as Node | null;
  for (const seg of p) {
    let next: Node | null | undefined;
    if (isMap(node)) next = node.items.find((it) => isScalar(it.key) && String(it.key.value) === String(seg))?.value as Node | null;
    else if (isSeq(node)) next = node.items[Number(seg)] as Node | undefined;
    if (!next) break;
    node = next;
  }
  return node ?? undefined;
}

/**
 * Source offset of character `inner` of a string scalar's value. Exact for single-line plain and
 * quoted scalars (without escapes before the spot) and for literal block scalars (`|`), which is
 * how multi-line conditions are written; folded forms land on the right line at worst.
 */
function innerOffset(text: string, node: Scalar, inner: number): number {
  const [start, end] = node.range ?? [0, 0];
  const type = node.type;
  if (type === 'BLOCK_LITERAL' || type === 'BLOCK_FOLDED') {
    const value = String(node.value);
    const before = value.slice(0, inner);
    const lineIdx = before.split('\n').length - 1;
    const col = inner - (before.lastIndexOf('\n') + 1);
    // Content lines start after the header line (`|`, `|-`, `>` ...).
    const body = text.slice(start, end);
    const headerEnd = body.indexOf('\n') + 1;
    const lines = body.slice(headerEnd).split('\n');
    const indent = /^ */.exec(lines.find((l) => l.trim() !== '') ?? '')![0].length;
    let offset = start + headerEnd;
    let seen = 0;
    for (const line of lines) {
      if (line.trim() !== '' || seen > 0) {
        if (seen === lineIdx) return offset + indent + col;
        seen++;
      }
      offset += line.length + 1;
    }
    return start;
  }
  const quote = type === 'QUOTE_DOUBLE' || type === 'QUOTE_SINGLE' ? 1 : 0;
  return Math.min(start + quote + inner, Math.max(start, end));
}
