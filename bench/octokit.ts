/**
 * GitHub's REST description, from the npm package @octokit/openapi. It is large (~100 MB
 * unpacked), so it is installed on demand into bench/.cache/ (git-ignored), never as a project
 * dependency; later runs reuse it.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { benchDir } from './child.ts';

export const cacheDir = path.join(benchDir, '.cache');
const PACKAGE = '@octokit/openapi';
/** The package ships one document per GitHub flavour; api.github.com is the public cloud one. */
const DOCUMENT = path.join('generated', 'api.github.com.json');

export interface OctokitDocument {
  file: string;
  version: string;
  installed: boolean;
}

export function ensureOctokitDocument(log: (line: string) => void): OctokitDocument {
  const packageDir = path.join(cacheDir, 'node_modules', ...PACKAGE.split('/'));
  const file = path.join(packageDir, DOCUMENT);
  let installed = false;
  if (!fs.existsSync(file)) {
    log(`installing ${PACKAGE} into ${path.relative(process.cwd(), cacheDir)}/ (once; it is not a project dependency)`);
    fs.mkdirSync(cacheDir, { recursive: true });
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    execFileSync(npm, ['install', '--prefix', cacheDir, '--no-save', '--no-audit', '--no-fund', '--loglevel=error', PACKAGE], {
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 300_000,
    });
    installed = true;
  }
  if (!fs.existsSync(file)) throw new Error(`${PACKAGE} installed, but ${file} is missing: has the package layout changed?`);
  const { version } = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { version: string };
  return { file, version, installed };
}
