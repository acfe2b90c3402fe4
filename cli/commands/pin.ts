import type { Command } from 'commander';
// Heavy modules load inside the action, so `--help` answers at once.
import path from 'node:path';
import { defaultGeneratedDir } from '../../generator/paths.ts';
import { resolveSpecFiles } from '../specs.ts';
import { printDiagnostics } from '../report.ts';

export function registerPin(program: Command): void {
  program
    .command('pin')
    .description("record each spec's document sha256 (after reviewing a vendor document change with --dry-run)")
    .argument('[specs...]', 'spec files or folders (default: specs/)')
    .option('--dry-run', 'write nothing: show the tools a changed vendor document would add, remove and change, against the connectors in --out')
    .option('--out <dir>', 'generated connectors to compare with (--dry-run)', defaultGeneratedDir)
    .action(async (args: string[], opts: { dryRun?: boolean; out: string }) => {
      const files = resolveSpecFiles(args);
      if (files.length === 0) throw new Error('no spec files found (looked in specs/)');
      if (opts.dryRun) return dryRun(files, opts.out);
      const { pinSpec } = await import('../../generator/pin.ts');
      for (const file of files) {
        const { changed, sha256 } = await pinSpec(file);
        process.stderr.write(`${rel(file)}: ${changed ? `pinned to ${sha256}` : 'already pinned'}\n`);
      }
    });
}

const rel = (file: string) => path.relative(process.cwd(), file);

/**
 * Builds each connector from the vendor document as it is now, ignoring the pin, and compares its
 * tools with the connector generated from the pinned document: the review comes before the pin.
 */
async function dryRun(files: string[], outDir: string): Promise<void> {
  const { buildConnector } = await import('../../generator/pipeline.ts');
  const { diffModels, formatDiff, loadPreviousModel } = await import('../../generator/diff.ts');
  let failed = false;
  for (const file of files) {
    const { build, diagnostics } = await buildConnector(file, { unpinned: true });
    if (!build) {
      printDiagnostics(diagnostics);
      failed = true;
      continue;
    }
    const pinned = build.spec.spec.document.sha256;
    const now = build.document.sha256;
    if (pinned === now) {
      process.stderr.write(`${rel(file)}: the document is unchanged (sha256 ${now}): nothing to pin\n`);
      continue;
    }
    process.stdout.write(`${rel(file)}: ${pinned ? `the document changed: pinned ${pinned}, now ${now}` : `not pinned yet: the document is ${now}`}\n`);
    const previous = await loadPreviousModel(path.resolve(outDir), build.model.name);
    if (!previous) {
      process.stdout.write(`${build.model.name}: no generated connector in ${rel(path.resolve(outDir))} to compare with; the document would give ${build.model.tools.length} tool(s)\n`);
      continue;
    }
    const lines = formatDiff(build.model.name, diffModels(previous, build.model)).filter((l) => !l.endsWith('the vendor document changed'));
    if (lines.length === 0) process.stdout.write(`${build.model.name}: no tool changes (${build.model.tools.length} tools)\n`);
    for (const line of lines) process.stdout.write(`${line}\n`);
  }
  process.stderr.write('dry run: nothing written; run `specgate pin` to record the new document, then `specgate generate`\n');
  if (failed) process.exitCode = 1;
}
