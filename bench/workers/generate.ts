/**
 * Child process of the generator bench: `generate <spec> <outDir>` or `typecheck <outDir>`.
 * Times only the step itself (not Node or tsx start-up, nor module loading) and reports its own
 * peak memory too.
 */
import fs from 'node:fs';
import { report } from '../child.ts';

const [mode, ...args] = process.argv.slice(2);

if (mode === 'generate' && args.length === 2) {
  const [specFile, outDir] = args;
  // As `specgate generate` does: the typing thread starts before the generator loads.
  const { SchemaThread } = await import('../../generator/emit/schema-thread.ts');
  const schemaThread = new SchemaThread();
  const { generate } = await import('../../generator/generate.ts');
  // A fresh folder each run: the figure is a first generation, not an "unchanged" comparison.
  fs.rmSync(outDir, { recursive: true, force: true });
  const started = performance.now();
  const result = await generate([specFile], { outDir, check: false, schemaThread });
  const ms = performance.now() - started;
  await schemaThread.close();
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new Error(`generation failed:\n${errors.map((e) => `${e.file}:${e.line}:${e.column} ${e.message}`).join('\n')}`);
  report({ ms, tools: result.builds.reduce((n, b) => n + b.model.tools.length, 0), files: result.written.length, maxRssKiB: process.resourceUsage().maxRSS });
} else if (mode === 'typecheck' && args.length === 1) {
  const { typecheckGenerated } = await import('../../generator/emit/typecheck.ts');
  const started = performance.now();
  const problems = typecheckGenerated(args[0]);
  const ms = performance.now() - started;
  report({ ms, problems: problems.length, firstProblems: problems.slice(0, 3), maxRssKiB: process.resourceUsage().maxRSS });
} else {
  throw new Error(`usage: generate.ts generate <spec> <outDir> | typecheck <outDir> (got: ${process.argv.slice(2).join(' ')})`);
}
