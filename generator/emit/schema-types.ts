/**
 * generated/<connector>/schema.ts: the pruned document as TypeScript types (openapi-typescript),
 * the `paths` the typed client is checked against.
 */
import { astToString, resolveRef, scanDiscriminators, transformSchema, type GlobalContext, type OpenAPI3, type OpenAPITSOptions } from 'openapi-typescript';
import type { OpenApiDocument } from '../openapi/types.ts';
import { resolveRef as resolveLocal, someObject } from '../openapi/normalize.ts';
import { generatedHeader } from './header.ts';
import { hoistNestedSchemaRefs } from './nested-refs.ts';

const OPTIONS = {
  // Warnings would go to the console of whoever runs the generator, not into its report.
  silent: true,
  // Plain unions and interfaces: no runtime code in a types file, nothing a strict tsconfig
  // could reject (enums would need `isolatedModules`-safe emission).
  enum: false,
  exportType: false,
} satisfies OpenAPITSOptions;

export async function emitSchemaFile(pruned: OpenApiDocument, specFile: string): Promise<string> {
  let body: string;
  try {
    checkLocalRefs(pruned);
    // A copy: openapi-typescript writes discriminator enums into the schemas it is given.
    const schema = hoistNestedSchemaRefs(structuredClone(pruned)) as unknown as OpenAPI3;
    body = astToString(transformSchema(schema, context(schema)));
  } catch (e) {
    throw new Error(`openapi-typescript could not type the pruned document of ${specFile}: ${(e as Error).message}`);
  }
  // Only the line endings and trailing blanks could vary with the platform.
  body = body.replace(/\r\n?/g, '\n').replace(/[ \t]+$/gm, '').replace(/\n*$/, '\n');
  return `${generatedHeader(specFile)}\n${body}`;
}

/**
 * What `openapiTS()` builds from OPTIONS before it transforms, minus its Redocly lint and bundle
 * passes: those walk the whole document twice (most of the time on GitHub's description) to
 * bundle refs that are all local already and to validate a document that the loader has
 * normalised. Their one error that matters here, a $ref that points at nothing, is
 * checkLocalRefs. Typed as GlobalContext, so a new required field fails tsc on upgrade.
 */
function context(schema: OpenAPI3): GlobalContext {
  return {
    additionalProperties: false,
    alphabetize: false,
    arrayLength: false,
    defaultNonNullable: true,
    discriminators: scanDiscriminators(schema, OPTIONS),
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
    resolve: ($ref) => resolveRef(schema, $ref, { silent: OPTIONS.silent }),
  };
}

/** A dangling $ref would become a type that does not exist: fail here, naming it. */
function checkLocalRefs(doc: OpenApiDocument): void {
  let missing: string | undefined;
  const resolved = new Set<string>();
  someObject(doc, (node) => {
    if (typeof node.$ref !== 'string' || resolved.has(node.$ref)) return false;
    if (resolveLocal(doc, node.$ref) === undefined) {
      missing = node.$ref;
      return true;
    }
    resolved.add(node.$ref);
    return false;
  });
  if (missing !== undefined) throw new Error(`Can't resolve $ref ${missing}`);
}
