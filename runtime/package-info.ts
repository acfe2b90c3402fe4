/**
 * specgate's own package: its root folder and version, found from this module whether it runs
 * from the sources (runtime/) or from the compiled build (dist/runtime/).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let found: { root: string; version: string } | undefined;

function find(): { root: string; version: string } {
  if (found) return found;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest)) {
      const pkg = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'specgate') return (found = { root: dir, version: pkg.version ?? '0.0.0' });
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error('specgate: its package.json was not found above runtime/');
    dir = up;
  }
}

export const packageRoot = (): string => find().root;
export const packageVersion = (): string => find().version;
