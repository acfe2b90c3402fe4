import type { Command } from 'commander';
// Heavy modules load inside the action, so `--help` answers at once.
import path from 'node:path';
import { resolveSpecFiles } from '../specs.ts';
import { printDiagnostics, writeDiagnosticsFile } from '../report.ts';
import type { Diagnostic } from '../../generator/spec/types.ts';

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('validate specs against their documents without writing anything')
    .argument('[specs...]', 'spec files or folders (default: specs/)')
    .option('--tokens', 'print each tool with the tokens its definition costs in a client')
    .option('--strict', 'fail on warnings too')
    .option('--verbose', 'list every warning, also when a rule has many (default: one summary line per rule)')
    .option('--diagnostics-file <file>', 'write every error and warning, one per line, to this file')
    .action(async (args: string[], opts: { tokens?: boolean; strict?: boolean; verbose?: boolean; diagnosticsFile?: string }) => {
      const { buildConnector } = await import('../../generator/pipeline.ts');
      const { describeScope } = await import('../../runtime/scope.ts');
      const files = resolveSpecFiles(args);
      if (files.length === 0) throw new Error('no spec files found (looked in specs/)');
      let errors = 0;
      let warnings = 0;
      const all: Diagnostic[] = [];
      for (const file of files) {
        const { build, diagnostics } = await buildConnector(file);
        all.push(...diagnostics);
        const counts = printDiagnostics(diagnostics, process.stderr, { verbose: opts.verbose, detailsFile: opts.diagnosticsFile });
        errors += counts.errors;
        warnings += counts.warnings;
        const rel = path.relative(process.cwd(), file);
        if (build) {
          const total = build.model.tools.reduce((n, t) => n + t.definitionTokens, 0);
          process.stdout.write(`${rel}: ${build.model.name}, ${build.model.tools.length} tools, ${total} definition tokens in all\n`);
          if (opts.tokens) {
            for (const t of build.model.tools) process.stdout.write(`  ${String(t.definitionTokens).padStart(6)}  ${t.name}  ${describeScope(t).replace(/`/g, '')}\n`);
          }
          for (const s of build.skipped) process.stdout.write(`  skipped ${s.method} ${s.path}: ${s.reason}\n`);
        } else {
          process.stdout.write(`${rel}: failed\n`);
        }
      }
      if (opts.diagnosticsFile) writeDiagnosticsFile(opts.diagnosticsFile, all);
      process.stderr.write(`${files.length} spec(s): ${errors} error(s), ${warnings} warning(s)\n`);
      if (errors || (opts.strict && warnings)) process.exitCode = 1;
    });
}
