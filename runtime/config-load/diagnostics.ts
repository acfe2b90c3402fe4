/**
 * What every file the project reads (connector specs, the runtime configuration, policies) says
 * about its mistakes: positioned diagnostics, printed as `file:line:column`.
 */

/** A position in a source file, 1-based. */
export interface SourcePosition {
  file: string;
  line: number;
  column: number;
}

export interface Diagnostic extends SourcePosition {
  severity: 'error' | 'warning';
  /** Stable code such as `spec/schema`, `select/write-operation`, `lint/name-length`. */
  code: string;
  message: string;
  hint?: string;
}
