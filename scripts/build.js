// `npm run build` (also `prepare` and `prepack`): the TypeScript of cli/, generator/ and runtime/
// compiled into dist/ (tsconfig.build.json), with the JSON and JavaScript files they read beside
// them. Skipped when dist/ is already a build of the current sources (`--force` rebuilds). The
// build goes to a temporary folder and replaces dist/ in one rename, so a CLI started meanwhile
// runs either the old build or the new one, never half of one.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildState, STAMP } from '../bin/build-state.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const force = process.argv.includes('--force');
const state = buildState(root);
if (state === 'installed') process.exit(0); // nothing to build from
if (state === 'fresh' && !force) {
  process.stderr.write('specgate build: dist/ is up to date\n');
  process.exit(0);
}

const started = performance.now();
const temp = path.join(root, `dist.${process.pid}.tmp`);
fs.rmSync(temp, { recursive: true, force: true });
try {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json'), '--outDir', temp], { cwd: root, stdio: 'inherit' });
  for (const folder of ['cli', 'generator', 'runtime']) copyAssets(path.join(root, folder), path.join(temp, folder));
  fs.writeFileSync(path.join(temp, path.basename(STAMP)), '');
  const old = path.join(root, `dist.${process.pid}.old`);
  if (fs.existsSync(path.join(root, 'dist'))) fs.renameSync(path.join(root, 'dist'), old);
  fs.renameSync(temp, path.join(root, 'dist'));
  fs.rmSync(old, { recursive: true, force: true });
} catch (e) {
  fs.rmSync(temp, { recursive: true, force: true });
  process.stderr.write(`specgate build failed: ${e.message}\n`);
  process.exit(1);
}
process.stderr.write(`specgate build: dist/ written in ${Math.round(performance.now() - started)} ms\n`);

/** Files the compiled modules read beside themselves (JSON schemas, the worker boot script). */
function copyAssets(from, to) {
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    if (entry.isDirectory()) copyAssets(source, path.join(to, entry.name));
    else if (!entry.name.endsWith('.ts')) {
      fs.mkdirSync(to, { recursive: true });
      fs.copyFileSync(source, path.join(to, entry.name));
    }
  }
}
