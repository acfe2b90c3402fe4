/**
 * The schema of a JMESPath projection's result, derived from the response schema, so that a
 * tool's outputSchema describes what the model actually receives after shaping.
 *
 * Only the shapes of expression that projections use in practice are followed (fields,
 * sub-expressions, list projections, multi-select hashes and lists, filters, indexes, slices);
 * anything else yields the permissive schema `{}` rather than a wrong one.
 */
import { compile } from '@jmespath-community/jmespath';

type Schema = Record<string, unknown>;
type Node = { type: string; [k: string]: any };

const ANY: Schema = {};

export function projectSchema(expression: string, schema: Schema, defs: Record<string, Schema>): Schema {
  const ast = compile(expression) as unknown as Node;
  return walk(ast, schema, defs, 0);
}

function deref(s: Schema, defs: Record<string, Schema>, depth = 0): Schema {
  const ref = s.$ref;
  if (typeof ref === 'string' && ref.startsWith('#/$defs/') && depth < 32) {
    const target = defs[decodeURIComponent(ref.slice(8))];
    return target ? deref(target, defs, depth + 1) : ANY;
  }
  // allOf of objects: the properties of every member count.
  if (Array.isArray(s.allOf)) {
    const properties: Schema = {};
    for (const part of s.allOf as Schema[]) {
      Object.assign(properties, (deref(part, defs, depth + 1).properties as Schema) ?? {});
    }
    return { ...s, properties: { ...properties, ...((s.properties as Schema) ?? {}) } };
  }
  return s;
}

function field(s: Schema, name: string, defs: Record<string, Schema>): Schema {
  const d = deref(s, defs);
  const props = d.properties as Record<string, Schema> | undefined;
  if (props && name in props) return props[name];
  if (d.additionalProperties && typeof d.additionalProperties === 'object') return d.additionalProperties as Schema;
  return ANY;
}

function items(s: Schema, defs: Record<string, Schema>): Schema | null {
  const d = deref(s, defs);
  if (d.items && typeof d.items === 'object') return d.items as Schema;
  const t = d.type;
  if (t === 'array' || (Array.isArray(t) && t.includes('array'))) return ANY;
  return null;
}

const arrayOf = (item: Schema): Schema => ({ type: ['array', 'null'], items: item });

function walk(node: Node, s: Schema, defs: Record<string, Schema>, depth: number): Schema {
  if (depth > 64) return ANY;
  const next = (n: Node, sch: Schema) => walk(n, sch, defs, depth + 1);
  switch (node.type) {
    case 'Current':
    case 'Identity':
      return s;
    case 'Field':
      return field(s, node.name, defs);
    case 'Subexpression':
      return next(node.right, next(node.left, s));
    case 'Flatten': {
      const inner = items(next(node.child, s), defs);
      if (!inner) return ANY;
      return arrayOf(items(inner, defs) ?? inner);
    }
    case 'Projection': {
      const left = next(node.left, s);
      const it = items(left, defs);
      if (!it) return ANY;
      return arrayOf(node.right ? next(node.right, it) : it);
    }
    case 'FilterProjection': {
      const it = items(next(node.left, s), defs);
      if (!it) return ANY;
      return arrayOf(node.right ? next(node.right, it) : it);
    }
    case 'ValueProjection': {
      const d = deref(next(node.left, s), defs);
      const props = Object.values((d.properties as Record<string, Schema>) ?? {});
      const it = props.length === 1 ? props[0] : ANY;
      return arrayOf(node.right ? next(node.right, it) : it);
    }
    case 'IndexExpression':
      return next(node.right, next(node.left, s));
    case 'Index': {
      const it = items(s, defs);
      return it ?? ANY;
    }
    case 'Slice':
      return items(s, defs) ? arrayOf(items(s, defs)!) : ANY;
    case 'MultiSelectHash': {
      const properties: Record<string, Schema> = {};
      for (const kv of node.children as Node[]) properties[kv.name] = next(kv.value, s);
      return { type: ['object', 'null'], properties };
    }
    case 'MultiSelectList':
      return { type: ['array', 'null'], items: ANY };
    case 'Pipe':
      return next(node.right, next(node.left, s));
    case 'Literal':
      return ANY;
    default:
      return ANY;
  }
}
