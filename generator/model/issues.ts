/**
 * What a model step finds wrong, as plain data: each step returns its issues instead of reporting
 * them, so it stays a pure function of its inputs. The composition (generator/build-model.ts)
 * turns them into positioned diagnostics.
 */
export type Path = Array<string | number>;

export interface Issue {
  severity: 'error' | 'warning';
  path: Path;
  code: string;
  message: string;
  hint?: string;
}

export type Report = (path: Path, code: string, message: string, hint?: string) => void;

/** A step's own list, with the two ways of adding to it (`error` matches scope.ts's `fail`). */
export function issueList(): { issues: Issue[]; error: Report; warning: Report } {
  const issues: Issue[] = [];
  const add = (severity: Issue['severity']): Report => (path, code, message, hint) => {
    issues.push({ severity, path, code, message, hint });
  };
  return { issues, error: add('error'), warning: add('warning') };
}

export function hasError(issues: readonly Issue[]): boolean {
  return issues.some((i) => i.severity === 'error');
}
