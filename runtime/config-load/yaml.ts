/**
 * One YAML reader for every file the project reads (connector specs, the runtime configuration,
 * policies and their tests): the text is parsed into a document tree, not straight to data, so
 * that any part of it, down to a character inside a string, can be reported as file:line:column
 * from the `yaml` library's node ranges.
 */
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node, type Scalar } from 'yaml';
import type { SourcePosition } from './diagnostics.ts';

export type JsonPath = ReadonlyArray<string | number>;

/**
 * Where a position points: `value`, a scalar's value but a collection's or an empty value's key
 * (the line an author looks for); `key`, the key (an unknown key); `node`, the node itself, a
 * collection included (a policy test's inline `{ ... }` that names something unknown).
 */
export type Aim = 'value' | 'key' | 'node';

export interface YamlFile {
  file: string;
  text: string;
  doc: Document;
  /** The position of a source offset. */
  at(offset: number): SourcePosition;
  /** The source offset of the node at a path, or of its nearest existing parent. */
  offsetOf(path: JsonPath, aim?: Aim): number;
  /** The position of the node at a path; with `inner`, of that character inside a string scalar. */
  positionOf(path: JsonPath, aim?: Aim, inner?: number): SourcePosition;
}

export interface ParseOptions {
  /** Keep yaml's source excerpt in its messages (the spec loader reformats them). */
  prettyErrors?: boolean;
  /** Honour `<<` merge keys. */
  merge?: boolean;
}

export function parseYaml(file: string, text: string, options: ParseOptions = {}): YamlFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: options.prettyErrors ?? false, merge: options.merge ?? false });
  const at = (offset: number): SourcePosition => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, column: col };
  };
  const offset = (p: JsonPath, aim: Aim = 'value') => offsetOf(doc, p, aim);
  const positionOf = (p: JsonPath, aim: Aim = 'value', inner?: number): SourcePosition => {
    if (inner === undefined) return at(offset(p, aim));
    const node = doc.getIn(p, true) as Node | undefined;
    return at(isScalar(node) ? innerOffset(text, node, inner) : offset(p, aim));
  };
  return { file, text, doc, at, offsetOf: offset, positionOf };
}

/** yaml's messages may end in " at line L, column C:" and a source excerpt; the position is the caller's to print. */
export function yamlErrorLine(message: string): string {
  return message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '').replace(/:$/, '');
}

/** Source offset of the node at a JSON path, or of the nearest existing parent, aimed as asked. */
function offsetOf(doc: Document, p: JsonPath, aim: Aim): number {
  let node: Node | null = doc.contents as Node | null;
  let key: Node | null = null;
  for (const seg of p) {
    if (isAlias(node)) node = node.resolve(doc) ?? null;
    if (isMap(node)) {
      const pair = node.items.find((it) => isScalar(it.key) && String(it.key.value) === String(seg));
      if (!pair) break;
      key = pair.key as Node;
      node = pair.value as Node | null;
    } else if (isSeq(node) && /^\d+$/.test(String(seg)) && node.items[Number(seg)]) {
      key = null;
      node = node.items[Number(seg)] as Node;
    } else {
      break;
    }
  }
  const emptyValue = !node || (isScalar(node) && node.value === null && node.range?.[0] === node.range?.[1]);
  const preferKey = aim === 'key' || emptyValue || (aim === 'value' && (isMap(node) || isSeq(node)));
  const chosen = key && preferKey ? key : node;
  return chosen?.range?.[0] ?? 0;
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
