/**
 * generated/<connector>/schema.ts: the pruned document as TypeScript types (openapi-typescript),
 * the `paths` the typed client is checked against.
 */
import openapiTS, { astToString, type OpenAPI3 } from 'openapi-typescript';
import type { OpenApiDocument } from '../openapi/types.ts';
import { generatedHeader } from './header.ts';

export async function emitSchemaFile(pruned: OpenApiDocument, specFile: string): Promise<string> {
  let body: string;
  try {
    // A copy: openapi-typescript's bundler (Redocly) annotates the document it is given.
    const nodes = await openapiTS(structuredClone(pruned) as unknown as OpenAPI3, {
      // Warnings would go to the console of whoever runs the generator, not into its report.
      silent: true,
      // Plain unions and interfaces: no runtime code in a types file, nothing a strict
      // tsconfig could reject (enums would need `isolatedModules`-safe emission).
      enum: false,
      exportType: false,
    });
    body = astToString(nodes);
  } catch (e) {
    throw new Error(`openapi-typescript could not type the pruned document of ${specFile}: ${(e as Error).message}`);
  }
  // Only the line endings and trailing blanks could vary with the platform.
  body = body.replace(/\r\n?/g, '\n').replace(/[ \t]+$/gm, '').replace(/\n*$/, '\n');
  return `${generatedHeader(specFile)}\n${body}`;
}
