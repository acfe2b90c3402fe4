/**
 * Warnings about what clients may reject or what looks wrong in the vendor document; none of
 * them stops the build (a spec silences one with `lint: { ignore: [...] }`).
 */
import type { OperationInfo } from '../openapi/types.ts';
import type { ToolSpec } from '../spec/types.ts';
import { looksLikeWrite } from '../select.ts';
import { TOOL_NAME_RE } from './naming.ts';
import { issueList, type Issue, type Path } from './issues.ts';

/** The name's characters and length, and a read that looks like a write. */
export function operationLint(name: string, t: ToolSpec | undefined, op: Pick<OperationInfo, 'method' | 'path' | 'operationId' | 'derivedOperationId'>, at: Path): Issue[] {
  const { issues, warning } = issueList();
  if (!TOOL_NAME_RE.test(name)) {
    warning(t?.name ? [...at, 'name'] : at, 'lint/tool-name',
      `tool name "${name}" ${name.length > 64 ? `is ${name.length} characters (clients allow 64)` : 'has characters outside ^[a-zA-Z0-9_-]+$'}`,
      'some clients reject such names; set a shorter `name:`');
  }
  const write = looksLikeWrite(op);
  if (write) {
    warning(at, 'lint/get-looks-like-write', `${op.method} ${op.path} looks like a write ("${write}")`,
      'check the vendor documentation: if it changes state, exclude it; otherwise add `lint: { ignore: [lint/get-looks-like-write] }`');
  }
  return issues;
}

export function inputSchemaLint(name: string, schema: Record<string, unknown>, at: Path): Issue[] {
  const { issues, warning } = issueList();
  if (schema.oneOf || schema.anyOf) warning(at, 'lint/top-level-union', `the input schema of "${name}" has a top-level oneOf/anyOf`, 'some clients reject it');
  return issues;
}
