/**
 * Before any test file: the launch catalog generated into generated/ (git-ignored, so a fresh
 * clone has none), for the tests that hold policies, discovery and compaction against the real
 * catalog. Only what changed is written, so a checkout that is up to date pays a second or two.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  execFileSync(process.execPath, [path.join(root, 'bin', 'specgate.js'), 'generate'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
}
