// Whether dist/ holds a build of the current sources. In an installed package there are no
// sources, only dist/: it is what runs. In a checkout, dist/ runs only when it is newer than every
// source file; otherwise the sources run through tsx, so an edit never meets a stale build.
import fs from 'node:fs';
import path from 'node:path';

/** Folders and files whose change makes a build stale. */
export const SOURCES = ['cli', 'generator', 'runtime', 'package.json', 'tsconfig.json', 'tsconfig.build.json'];
export const STAMP = path.join('dist', '.built');

/** 'installed' (no sources: run dist), 'fresh' (checkout, dist up to date) or 'stale'. */
export function buildState(root) {
  if (!fs.existsSync(path.join(root, 'cli', 'main.ts'))) return 'installed';
  let built;
  try {
    built = fs.statSync(path.join(root, STAMP)).mtimeMs;
  } catch {
    return 'stale';
  }
  return newestSource(root) <= built ? 'fresh' : 'stale';
}

function newestSource(root) {
  let newest = 0;
  const visit = (file) => {
    const stat = fs.statSync(file, { throwIfNoEntry: false });
    if (!stat) return;
    if (stat.mtimeMs > newest) newest = stat.mtimeMs;
    if (stat.isDirectory()) for (const name of fs.readdirSync(file)) visit(path.join(file, name));
  };
  for (const s of SOURCES) visit(path.join(root, s));
  return newest;
}
