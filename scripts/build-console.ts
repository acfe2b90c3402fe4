/**
 * Bundles the operator console (console/src, Preact + htm + uPlot) into console/dist with esbuild:
 * one script, one stylesheet and the page, no CDN and nothing fetched at run time. Type-checks
 * the sources first, so a broken console fails the build rather than the browser.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.join(root, 'console');
const out = path.join(dir, 'dist');

execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(dir, 'tsconfig.json')], { stdio: 'inherit' });
fs.rmSync(out, { recursive: true, force: true });
await build({
  entryPoints: { app: path.join(dir, 'src', 'main.ts') },
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  outdir: out,
  logLevel: 'warning',
  // Deterministic output: no absolute paths or timestamps in the bundle.
  legalComments: 'none',
});
fs.copyFileSync(path.join(dir, 'index.html'), path.join(out, 'index.html'));
process.stdout.write(`console built into ${path.relative(root, out)}/\n`);
