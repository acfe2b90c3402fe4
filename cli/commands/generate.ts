import type { Command } from 'commander';
import type { SchemaThread } from '../../generator/emit/schema-thread.ts';
// Heavy modules load inside the action, so `--help` answers at once.
import path from 'node:path';
import { defaultGeneratedDir } from '../../generator/paths.ts';
import { resolveSpecFiles } from '../specs.ts';
import { printDiagnostics, writeDiagnosticsFile } from '../report.ts';

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('turn specs into typed connectors in generated/')
    .argument('[specs...]', 'spec files or folders (default: specs/)')
    .option('--out <dir>', 'output folder', defaultGeneratedDir)
    .option('--check', 'write nothing; fail when the output folder is stale')
    .option('--typecheck', 'also run the TypeScript compiler over the output')
    .option('--verbose', 'list every warning, also when a rule has many (default: one summary line per rule)')
    .option('--diagnostics-file <file>', 'write every error and warning, one per line, to this file')
    .action(async (args: string[], opts: GenerateFlags) => {
      // Started before the generator loads, so that the typing thread's own loading overlaps it.
      const { SchemaThread } = await import('../../generator/emit/schema-thread.ts');
      const schemaThread = new SchemaThread();
      try {
        await generateCommand(args, opts, schemaThread);
      } finally {
        await schemaThread.close();
      }
    });
}

interface GenerateFlags { out: string; check?: boolean; typecheck?: boolean; verbose?: boolean; diagnosticsFile?: string }

async function generateCommand(args: string[], opts: GenerateFlags, schemaThread: SchemaThread): Promise<void> {
  const { generate } = await import('../../generator/generate.ts');
  const { formatDiff } = await import('../../generator/diff.ts');
  const files = resolveSpecFiles(args);
  if (files.length === 0) throw new Error('no spec files found (looked in specs/)');
  const started = performance.now();
  const result = await generate(files, {
    outDir: opts.out,
    check: !!opts.check,
    schemaThread,
    onProgress: (e) => {
      if (e.kind !== 'connector') return;
      const what = e.failed ? 'failed' : `${e.connector}: ${e.tools} tools`;
      process.stderr.write(`[${e.index}/${e.total}] ${path.relative(process.cwd(), e.specFile)} -> ${what} (${Math.round(e.ms)} ms)\n`);
    },
  });
  if (opts.diagnosticsFile) writeDiagnosticsFile(opts.diagnosticsFile, result.diagnostics);
  const { errors } = printDiagnostics(result.diagnostics, process.stderr, { verbose: opts.verbose, detailsFile: opts.diagnosticsFile });
  if (errors) {
    process.stderr.write(`generation failed: ${errors} error(s)\n`);
    process.exitCode = 1;
    return;
  }
  for (const c of result.changes) for (const line of formatDiff(c.connector, c.diff)) process.stdout.write(`${line}\n`);
  const rel = (f: string) => path.relative(process.cwd(), path.join(opts.out, f));
  if (opts.check) {
    if (result.stale.length) {
      for (const f of result.stale) process.stderr.write(`stale: ${rel(f)}\n`);
      process.stderr.write(`${result.stale.length} generated file(s) out of date: run \`specgate generate\`\n`);
      process.exitCode = 1;
      return;
    }
    process.stderr.write(`generated/ is up to date (${result.builds.length} connector(s))\n`);
  } else {
    process.stderr.write(`${result.written.length} file(s) written, ${result.unchanged.length} unchanged, ${result.removed.length} removed in ${Math.round(performance.now() - started)} ms\n`);
  }
  if (opts.typecheck) {
    // Loaded only when asked for: TypeScript takes most of a second to load.
    const { typecheckGenerated } = await import('../../generator/emit/typecheck.ts');
    const problems = typecheckGenerated(opts.out);
    for (const p of problems) process.stderr.write(`${path.relative(process.cwd(), p.file)}:${p.line}:${p.column}: ${p.message}\n`);
    if (problems.length) {
      process.exitCode = 1;
      return;
    }
    process.stderr.write('type check passed\n');
  }
}
