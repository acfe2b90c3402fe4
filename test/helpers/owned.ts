/**
 * Vendor answers with owners, generated from a tool's raw response schema (the pruned vendor
 * document in generated/<connector>/openapi.json) and its ownership declaration: records of any
 * customer, single or in the list where the ownership check reads them. Nothing here is written per
 * tool, so every tool of a catalog can be answered with records of customers A and B.
 */
import { getAt, replaceAt } from '../../runtime/execution/shape.ts';
import { simplePath, typedOwner, withValueAt } from '../../runtime/execution/ownership.ts';
import type { ToolModel } from '../../runtime/model.ts';

type Doc = Record<string, any>;

function deref(doc: Doc, s: any, depth = 0): any {
  while (s && typeof s.$ref === 'string' && s.$ref.startsWith('#/') && depth++ < 20) {
    s = s.$ref.slice(2).split('/').map((k: string) => decodeURIComponent(k.replace(/~1/g, '/').replace(/~0/g, '~'))).reduce((o: any, k: string) => o?.[k], doc);
  }
  return s ?? {};
}

/** A plausible value for a schema: every property to a few levels, arrays of one item. */
export function sampleFromSchema(doc: Doc, schema: any, depth = 0, marker = 'x'): unknown {
  const s = deref(doc, schema);
  if (s.example !== undefined && typeof s.example !== 'object') return s.example;
  for (const k of ['allOf', 'oneOf', 'anyOf'] as const) {
    if (Array.isArray(s[k]) && s[k].length) {
      if (k !== 'allOf') return sampleFromSchema(doc, s[k][0], depth + 1, marker);
      return Object.assign({}, ...s.allOf.map((x: any) => sampleFromSchema(doc, x, depth + 1, marker)));
    }
  }
  const type = Array.isArray(s.type) ? s.type.find((t: string) => t !== 'null') : s.type ?? (s.properties ? 'object' : s.items ? 'array' : undefined);
  switch (type) {
    case 'integer': case 'number': return 7;
    case 'boolean': return true;
    case 'array': return depth > 4 ? [] : [sampleFromSchema(doc, s.items ?? {}, depth + 1, marker)];
    case 'object': {
      if (depth > 4) return {};
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(s.properties ?? {})) out[k] = sampleFromSchema(doc, v, depth + 1, marker);
      return out;
    }
    default: return `${marker}-text`;
  }
}

/** The raw 2xx response schema of a tool's operation in the (pruned) vendor document. */
export function responseSchema(doc: Doc, tool: ToolModel): unknown {
  const op = doc.paths?.[tool.operation.path]?.[tool.operation.method.toLowerCase()];
  // As the generator picks it: the first 2xx, else `default` (NinjaOne puts its bodies there).
  const ok = (Object.entries(op?.responses ?? {}).find(([code]) => /^2/.test(code))?.[1] ?? op?.responses?.default) as any;
  const r = deref(doc, ok);
  const content = r?.content ? Object.values(r.content)[0] as any : undefined;
  return content?.schema ?? {};
}

/** One record of `owner`, marked so that a leak of it can be found in any output. */
export function record(doc: Doc, tool: ToolModel, itemSchema: unknown, owner: string, marker: string): unknown {
  const field = simplePath(tool.ownership!.field)!;
  const base = sampleFromSchema(doc, itemSchema, 0, marker);
  const obj = base && typeof base === 'object' && !Array.isArray(base) ? base : {};
  return withValueAt(obj, field, typedOwner(getPath(obj, field) ?? 7, owner));
}

function getPath(v: unknown, path: string[]): unknown {
  let n = v;
  for (const k of path) {
    if (!n || typeof n !== 'object') return undefined;
    n = (n as Record<string, unknown>)[k];
  }
  return n;
}

/**
 * The raw answer of a verified tool: for a list, the sampled envelope with its item list replaced
 * by `owners.length` records (one per owner, in order); for one record, a record of `owners[0]`.
 */
export function answer(doc: Doc, tool: ToolModel, owners: string[], marker: (i: number) => string): unknown {
  const schema = deref(doc, responseSchema(doc, tool));
  const o = tool.ownership!;
  const itemsAt = o.items !== undefined ? simplePath(o.items) : deref(doc, schema).type === 'array' || Array.isArray(sampleFromSchema(doc, schema)) ? [] : undefined;
  if (itemsAt) {
    const envelope = itemsAt.length ? sampleFromSchema(doc, schema, 0, 'envelope') : [];
    const listSchema = itemsAt.reduce<any>((s, k) => deref(doc, deref(doc, s).properties?.[k]), schema);
    const itemSchema = deref(doc, listSchema).items ?? {};
    const items = owners.map((owner, i) => record(doc, tool, itemSchema, owner, marker(i)));
    return itemsAt.length ? withValueAt(envelope, itemsAt, items) : items;
  }
  return record(doc, tool, schema, owners[0]!, marker(0));
}

export { getAt, replaceAt };

/** The tool of `tools` whose operation a request is for (path templates matched segment by segment). */
export function toolForRequest(tools: ToolModel[], method: string, path: string): ToolModel | undefined {
  return tools.find((t) => t.operation.method === method.toUpperCase()
    && new RegExp(`^${t.operation.path.split(/\{[^}]*\}/).map((s) => s.replace(/[.*+?^$()|[\]\\]/g, '\\$&')).join('[^/]+')}$`).test(path));
}
