/** Where things live by default, resolved from the package root rather than the cwd. */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The folder with the vendors' OpenAPI documents: $SPECGATE_OPENAPI_DIR, else `openapi/` in the
 * project (git-ignored: vendor documents are not ours to redistribute), else `../shared/openapi`
 * beside the project (the development and CI layout).
 */
export function openapiDir(): string {
  if (process.env.SPECGATE_OPENAPI_DIR) return path.resolve(process.env.SPECGATE_OPENAPI_DIR);
  const own = path.join(projectRoot, 'openapi');
  if (fs.existsSync(own)) return own;
  return path.resolve(projectRoot, '..', 'shared', 'openapi');
}

export const defaultSpecsDir = path.join(projectRoot, 'specs');
export const defaultGeneratedDir = path.join(projectRoot, 'generated');
