/**
 * Where things live by default. The user's project is the current folder: its specs/, generated/,
 * policies/ and docs/ (specgate may be installed in it, or run from its own checkout, which is then
 * the project). The package root holds what ships with specgate (the default policy, the schema).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: dist/generator/ and generator/ are both one level below it. */
export const projectRoot = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(from, '..');
  }
}

/**
 * The folder with the vendors' OpenAPI documents: $SPECGATE_OPENAPI_DIR, else `openapi/` in the
 * project (git-ignored: vendor documents are not ours to redistribute), else `../shared/openapi`
 * beside the project (the development and CI layout).
 */
export function openapiDir(): string {
  if (process.env.SPECGATE_OPENAPI_DIR) return path.resolve(process.env.SPECGATE_OPENAPI_DIR);
  const project = path.resolve('openapi');
  if (fs.existsSync(project)) return project;
  const own = path.join(projectRoot, 'openapi');
  if (fs.existsSync(own)) return own;
  return path.resolve(projectRoot, '..', 'shared', 'openapi');
}

/**
 * The variables a document source's `${VAR}` is expanded from: the environment, with
 * SPECGATE_OPENAPI_DIR defaulted to openapiDir(), since specs point at
 * `${SPECGATE_OPENAPI_DIR}/<vendor>.json` so that a user's own copy of a vendor document lives
 * outside the repository. The environment itself is left as it is.
 */
export function documentVariables(env: NodeJS.ProcessEnv = process.env): Readonly<Record<string, string | undefined>> {
  return env.SPECGATE_OPENAPI_DIR === undefined ? { ...env, SPECGATE_OPENAPI_DIR: openapiDir() } : env;
}

export const defaultSpecsDir = path.resolve('specs');
export const defaultGeneratedDir = path.resolve('generated');
export const defaultDocsDir = path.resolve('docs');

/** The project's policies/ when it has one, else the policy that ships with specgate. */
export function defaultPoliciesDir(): string {
  const project = path.resolve('policies');
  return fs.existsSync(project) ? project : path.join(projectRoot, 'policies');
}
