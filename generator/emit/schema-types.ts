/**
 * generated/<connector>/schema.ts: the pruned document as TypeScript types (openapi-typescript),
 * the `paths` the typed client is checked against.
 */
import type { GlobalContext, OpenAPI3, OpenAPITSOptions } from 'openapi-typescript';
import type { OpenApiDocument } from '../openapi/types.ts';
import { resolveRef as resolveLocal, someObject } from '../openapi/normalize.ts';
import { generatedHeader } from './header.ts';
import { hoistNestedSchemaRefs } from './nested-refs.ts';
import { loadTyping } from './openapi-typescript.ts';
import { typingInput } from './typing-input.ts';

const { astToString, resolveRef, scanDiscriminators, transformSchema } = loadTyping();

const OPTIONS = {
  // Warnings would go to the console of whoever runs the generator, not into its report.
  silent: true,
  // Plain unions and interfaces: no runtime code in a types file, nothing a strict tsconfig
  // could reject (enums would need `isolatedModules`-safe emission).
  enum: false,
  exportType: false,
} satisfies OpenAPITSOptions;

/** schema.ts for a pruned document, typed on this thread. */
export function emitSchemaFile(pruned: OpenApiDocument, specFile: string): string {
  // A copy: openapi-typescript writes discriminator enums into the schemas it is given.
  return emitSchemaFileFrom(structuredClone(typingInput(pruned)), specFile);
}

/**
 * schema.ts from typingInput()'s result when it is the caller's own copy (a worker's message),
 * which openapi-typescript may write into.
 */
export function emitSchemaFileFrom(input: OpenApiDocument, specFile: string): string {
  let body: string;
  try {
    const { discriminators } = checkLocalRefs(input);
    const schema = hoistNestedSchemaRefs(input) as unknown as OpenAPI3;
    body = astToString(transformSchema(schema, context(schema, discriminators)));
  } catch (e) {
    throw new Error(`openapi-typescript could not type the pruned document of ${specFile}: ${(e as Error).message}`);
  }
  // Only the line endings and trailing blanks could vary with the platform. (Written so that no
  // pattern is tried at every position of a 2.5 MB text.)
  body = body.replace(/\r\n?/g, '\n').replace(/[ \t]+\n/g, '\n');
  let end = body.length;
  while (end > 0 && /\s/.test(body[end - 1])) end--;
  return `${generatedHeader(specFile)}\n${body.slice(0, end)}\n`;
}

/**
 * What `openapiTS()` builds from OPTIONS before it transforms, minus its Redocly lint and bundle
 * passes: those walk the whole document twice (most of the time on GitHub's description) to
 * bundle refs that are all local already and to validate a document that the loader has
 * normalised. Their one error that matters here, a $ref that points at nothing, is
 * checkLocalRefs. Typed as GlobalContext, so a new required field fails tsc on upgrade.
 */
function context(schema: OpenAPI3, discriminators: boolean): GlobalContext {
  return {
    additionalProperties: false,
    alphabetize: false,
    arrayLength: false,
    defaultNonNullable: true,
    // Two walks of the whole document, for nothing in a document without discriminators.
    discriminators: discriminators ? scanDiscriminators(schema, OPTIONS) : { objects: {}, refsHandled: [] },
    emptyObjectsUnknown: false,
    enum: OPTIONS.enum,
    enumValues: false,
    conditionalEnums: false,
    dedupeEnums: false,
    excludeDeprecated: false,
    exportType: OPTIONS.exportType,
    immutable: false,
    injectFooter: [],
    pathParamsAsTypes: false,
    postTransform: undefined,
    propertiesRequiredByDefault: false,
    rootTypes: false,
    rootTypesNoSchemaPrefix: false,
    rootTypesKeepCasing: false,
    // Read only by the lint and bundle passes that are skipped.
    redoc: undefined as unknown as GlobalContext['redoc'],
    silent: OPTIONS.silent,
    transform: undefined,
    transformProperty: undefined,
    makePathsEnum: false,
    generatePathParams: false,
    readWriteMarkers: false,
    resolve: memoized(($ref) => resolveRef(schema, $ref, { silent: OPTIONS.silent })),
  };
}

/** openapi-typescript resolves the same few hundred refs tens of thousands of times. */
function memoized<T>(resolve: (ref: string) => T): (ref: string) => T {
  const known = new Map<string, T>();
  return (ref) => {
    if (known.has(ref)) return known.get(ref)!;
    const target = resolve(ref);
    known.set(ref, target);
    return target;
  };
}

/**
 * A dangling $ref would become a type that does not exist: fail here, naming it. The same walk
 * tells whether the document uses discriminators at all.
 */
function checkLocalRefs(doc: OpenApiDocument): { discriminators: boolean } {
  let missing: string | undefined;
  let discriminators = false;
  const resolved = new Set<string>();
  someObject(doc, (node) => {
    if (node.discriminator !== undefined) discriminators = true;
    if (typeof node.$ref !== 'string' || resolved.has(node.$ref)) return false;
    if (resolveLocal(doc, node.$ref) === undefined) {
      missing = node.$ref;
      return true;
    }
    resolved.add(node.$ref);
    return false;
  });
  if (missing !== undefined) throw new Error(`Can't resolve $ref ${missing}`);
  return { discriminators };
}
