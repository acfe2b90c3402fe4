/**
 * Minimal valid arguments for a tool, from its input schema: what a careful model would send
 * when it only fills in what is required.
 */
type Schema = Record<string, any>;

function resolve(schema: Schema, root: Schema): Schema {
  if (typeof schema?.$ref === 'string' && schema.$ref.startsWith('#/$defs/')) {
    return resolve(root.$defs?.[decodeURIComponent(schema.$ref.slice(8))] ?? {}, root);
  }
  return schema ?? {};
}

export function sampleValue(schema: Schema, root: Schema, depth = 0): unknown {
  const s = resolve(schema, root);
  if (s.default !== undefined) return s.default;
  if (s.const !== undefined) return s.const;
  if (Array.isArray(s.enum) && s.enum.length) return s.enum.find((v: unknown) => v !== null) ?? s.enum[0];
  // Vendors' examples are sometimes invalid for their own formats (a UUID one digit short).
  if (s.format === 'uuid') return '00000000-0000-4000-8000-000000000001';
  if (Array.isArray(s.examples) && s.examples.length) return s.examples[0];
  for (const k of ['oneOf', 'anyOf'] as const) if (Array.isArray(s[k]) && s[k].length) return sampleValue(s[k][0], root, depth + 1);
  if (Array.isArray(s.allOf) && s.allOf.length) return sampleValue(Object.assign({}, ...s.allOf.map((x: Schema) => resolve(x, root))), root, depth + 1);
  const type = Array.isArray(s.type) ? s.type.find((t: string) => t !== 'null') : s.type;
  switch (type) {
    case 'integer':
      return Math.max(1, typeof s.minimum === 'number' ? Math.ceil(s.minimum) : 1);
    case 'number':
      return Math.max(1, typeof s.minimum === 'number' ? s.minimum : 1);
    case 'boolean':
      return true;
    case 'array':
      return depth > 4 ? [] : [sampleValue(s.items ?? {}, root, depth + 1)];
    case 'object':
      return depth > 4 ? {} : sampleObject(s, root, depth + 1);
    case 'string':
    default:
      switch (s.format) {
        case 'date-time': return '2024-01-01T00:00:00Z';
        case 'date': return '2024-01-01';
        case 'uuid': return '00000000-0000-4000-8000-000000000001';
        case 'email': return 'tech@example.com';
        case 'uri': return 'https://example.com/';
        default: return type === 'string' || type === undefined ? 'sample' : null;
      }
  }
}

function sampleObject(s: Schema, root: Schema, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of (s.required ?? []) as string[]) out[name] = sampleValue(s.properties?.[name] ?? {}, root, depth);
  return out;
}

export function sampleArguments(inputSchema: Schema): Record<string, unknown> {
  return sampleObject(inputSchema, inputSchema, 0);
}
