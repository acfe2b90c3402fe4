/** Printing diagnostics the same way in every command. */
import fs from 'node:fs';
import type { Diagnostic } from '../generator/spec/types.ts';
import { formatDiagnostic, sortDiagnostics } from '../generator/spec/diagnostics.ts';

/** More warnings of one rule than this are one summary line (a whole-document spec has tens of thousands). */
export const SUMMARY_THRESHOLD = 5;

export interface PrintOptions {
  /** Every warning on its own line, however many. */
  verbose?: boolean;
  /** Where the caller writes every diagnostic (writeDiagnosticsFile): named in the summary. */
  detailsFile?: string;
}

export interface RuleSummary {
  code: string;
  count: number;
  /** The first of them in file order, as an example. */
  first: Diagnostic;
}

/**
 * Errors always one by one; warnings one by one unless a rule has more than SUMMARY_THRESHOLD of
 * them, then one line for that rule with its count and first occurrence.
 */
export function summarizeDiagnostics(diagnostics: readonly Diagnostic[], verbose = false): { listed: Diagnostic[]; summaries: RuleSummary[] } {
  const sorted = sortDiagnostics(diagnostics);
  if (verbose) return { listed: sorted, summaries: [] };
  const byRule = new Map<string, Diagnostic[]>();
  for (const d of sorted) {
    if (d.severity !== 'warning') continue;
    const list = byRule.get(d.code);
    if (list) list.push(d);
    else byRule.set(d.code, [d]);
  }
  const summarised = new Set([...byRule].filter(([, list]) => list.length > SUMMARY_THRESHOLD).map(([code]) => code));
  const summaries = [...summarised].sort().map((code) => ({ code, count: byRule.get(code)!.length, first: byRule.get(code)![0] }));
  return { listed: sorted.filter((d) => d.severity === 'error' || !summarised.has(d.code)), summaries };
}

export function printDiagnostics(diagnostics: Diagnostic[], stream: NodeJS.WritableStream = process.stderr, options: PrintOptions = {}): { errors: number; warnings: number } {
  const { listed, summaries } = summarizeDiagnostics(diagnostics, options.verbose);
  for (const d of listed) stream.write(`${formatDiagnostic(d, process.cwd())}\n`);
  for (const s of summaries) {
    const first = formatDiagnostic(s.first, process.cwd()).replace(/^([^\n]*?): warning \[[^\]]+\] /, '$1: ');
    stream.write(`warning [${s.code}] ${s.count} times, first at ${first}\n`);
  }
  if (summaries.length) {
    const where = options.detailsFile ? `each one is in ${options.detailsFile}` : 'run with --verbose to list each one, or --diagnostics-file <file> to write them to a file';
    stream.write(`${summaries.reduce((n, s) => n + s.count, 0)} warning(s) summarised by rule: ${where}\n`);
  }
  return {
    errors: diagnostics.filter((d) => d.severity === 'error').length,
    warnings: diagnostics.filter((d) => d.severity === 'warning').length,
  };
}

/** Every diagnostic, one per line with its hint, as `--verbose` would print them. */
export function writeDiagnosticsFile(file: string, diagnostics: readonly Diagnostic[]): void {
  fs.writeFileSync(file, sortDiagnostics(diagnostics).map((d) => `${formatDiagnostic(d, process.cwd())}\n`).join(''));
}
