/**
 * The tool's output schema: the vendor's response schema (projected when the tool projects),
 * wrapped in the envelope the runtime returns (`result`, `truncated`, `nextCursor`).
 */
import type { Shape } from '../../runtime/model.ts';
import type { LoadedDocument, OperationInfo } from '../openapi/types.ts';
import { SchemaConverter } from '../schema/json-schema.ts';
import { projectSchema } from '../schema/project-schema.ts';
import { asObject } from './text.ts';

/**
 * Output schemas describe, they are not enforced upstream: a bounded expansion keeps a tool whose
 * response reaches half the vendor's schemas (GitHub's repository object) affordable in a
 * client's context. Deeper definitions become `{}` (any value).
 */
const OUTPUT_MAX_DEFS = 12;

export function outputSchema(
  doc: Pick<LoadedDocument, 'document'>, op: Pick<OperationInfo, 'method' | 'responseSchema'>, shape: Pick<Shape, 'project'>, paginated: boolean,
): Record<string, unknown> {
  const converter = new SchemaConverter(doc.document, { mode: 'output', maxDefs: OUTPUT_MAX_DEFS });
  const raw = op.method === 'HEAD' || !op.responseSchema ? {} : asObject(converter.convert(op.responseSchema));
  const allDefs = converter.defs();
  let result: Record<string, unknown> = raw;
  if (shape.project) {
    try {
      result = projectSchema(shape.project, raw, allDefs);
    } catch {
      result = {};
    }
  }
  // A projection usually inlines what it keeps: carry only the definitions still referenced.
  const defs = reachableDefs(result, allDefs);
  return {
    type: 'object',
    properties: {
      result,
      truncated: {
        type: 'object',
        description: 'Present when items were left out to fit the size limits.',
        properties: { reason: { type: 'string' }, returned: { type: 'integer' }, available: { type: 'integer' }, withheld: { type: 'integer' } },
      },
      ...(paginated ? { nextCursor: { type: 'string', description: 'Pass as `cursor` to get the next page.' } } : {}),
    },
    required: ['result'],
    ...(Object.keys(defs).length ? { $defs: defs } : {}),
  };
}

/** The $defs entries that a schema reaches through #/$defs/ references, transitively. */
export function reachableDefs(schema: unknown, defs: Record<string, unknown>): Record<string, unknown> {
  const keep = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string' && v.startsWith('#/$defs/')) {
        const name = decodeURIComponent(v.slice(8));
        if (!keep.has(name) && name in defs) {
          keep.add(name);
          visit(defs[name]);
        }
      } else visit(v);
    }
  };
  visit(schema);
  return Object.fromEntries(Object.keys(defs).filter((n) => keep.has(n)).sort().map((n) => [n, defs[n]]));
}
