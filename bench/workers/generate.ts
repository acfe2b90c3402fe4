/**
 * Child process of the generator bench: `generate <spec> <outDir>` or `typecheck <outDir>`.
 * Times only the step itself (not Node or tsx start-up) and reports its own peak memory too.
 */
import fs from 'node:fs';
import { generate } from '../../generator/generate.ts';
import { typecheckGenerated } from '../../generator/emit/typecheck.ts';
import { report } from '../child.ts';

const [mode, ...args] = process.argv.slice(2);

if (mode === 'generate' && args.length === 2) {
  const [specFile, outDir] = args;
  // A fresh folder each run: the figure is a first generation, not an "unchanged" comparison.
  fs.rmSync(outDir, { recursive: true, force: true });
  const started = performance.now();
  const result = await generate([specFile], { outDir, check: false });
  const ms = performance.now() - started;
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new Error(`generation failed:\n${errors.map((e) => `${e.file}:${e.line}:${e.column} ${e.message}`).join('\n')}`);
  report({ ms, tools: result.builds.reduce((n, b) => n + b.model.tools.length, 0), files: result.written.length, maxRssKiB: process.resourceUsage().maxRSS });
} else if (mode === 'typecheck' && args.length === 1) {
  const started = performance.now();
  const problems = typecheckGenerated(args[0]);
  const ms = performance.now() - started;
  report({ ms, problems: problems.length, firstProblems: problems.slice(0, 3), maxRssKiB: process.resourceUsage().maxRSS });
} else {
  throw new Error(`usage: generate.ts generate <spec> <outDir> | typecheck <outDir> (got: ${process.argv.slice(2).join(' ')})`);
}
