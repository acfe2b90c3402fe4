/**
 * Diagnostics as people read them: `file:line:column: severity [code] message`, the way compilers
 * print them, so terminals and editors turn them into links.
 */
import path from 'node:path';
import type { Diagnostic } from './types.ts';

/** `specs/x.yaml:12:5: error [spec/schema] message` plus an indented `hint:` line when there is one. */
export function formatDiagnostic(d: Diagnostic, cwd: string = process.cwd()): string {
  const file = path.isAbsolute(d.file) ? path.relative(cwd, d.file) || d.file : d.file;
  const head = `${file}:${d.line}:${d.column}: ${d.severity} [${d.code}] ${d.message}`;
  return d.hint ? `${head}\n    hint: ${d.hint}` : head;
}

/** Orders by file, line, column, then errors before warnings, so output is stable. */
export function sortDiagnostics(list: readonly Diagnostic[]): Diagnostic[] {
  return [...list].sort(
    (a, b) =>
      compare(a.file, b.file) ||
      a.line - b.line ||
      a.column - b.column ||
      compare(a.severity, b.severity) ||
      compare(a.code, b.code) ||
      compare(a.message, b.message),
  );
}

/** All diagnostics, sorted, one per line (hints on their own indented line). */
export function formatDiagnostics(list: readonly Diagnostic[], cwd?: string): string {
  return sortDiagnostics(list).map((d) => formatDiagnostic(d, cwd)).join('\n');
}

export function hasErrors(list: readonly Diagnostic[]): boolean {
  return list.some((d) => d.severity === 'error');
}

/** For callers that throw: the message is the formatted list, the diagnostics stay inspectable. */
export class DiagnosticError extends Error {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: readonly Diagnostic[], cwd?: string) {
    super(formatDiagnostics(diagnostics, cwd));
    this.name = 'DiagnosticError';
    this.diagnostics = sortDiagnostics(diagnostics);
  }
}

// Plain code-unit order: locale-independent, so output is identical on every machine.
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
