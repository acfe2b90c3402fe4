/** Printing diagnostics the same way in every command. */
import type { Diagnostic } from '../generator/spec/types.ts';
import { formatDiagnostic } from '../generator/spec/diagnostics.ts';

export function printDiagnostics(diagnostics: Diagnostic[], stream: NodeJS.WritableStream = process.stderr): { errors: number; warnings: number } {
  const sorted = [...diagnostics].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
  for (const d of sorted) stream.write(`${formatDiagnostic(d, process.cwd())}\n`);
  return {
    errors: diagnostics.filter((d) => d.severity === 'error').length,
    warnings: diagnostics.filter((d) => d.severity === 'warning').length,
  };
}
