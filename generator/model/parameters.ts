/**
 * The vendor parameters a tool can have: the operation's, less those the credential broker and
 * HTTP own. A spec override naming none of them is an error (a misspelt name would silently
 * leave the real parameter to the model).
 */
import type { OperationInfo, ParameterInfo } from '../openapi/types.ts';
import type { ToolSpec } from '../spec/types.ts';
import { suggest } from '../select.ts';
import { isOwnedParameter } from './auth.ts';
import { issueList, type Issue, type Path } from './issues.ts';

export function toolParameters(
  op: Pick<OperationInfo, 'method' | 'path' | 'parameters'>, t: ToolSpec | undefined, credentialKeys: ReadonlySet<string>, at: Path,
): { params: ParameterInfo[]; issues: Issue[] } {
  const { issues, error } = issueList();
  const params = op.parameters.filter((p) => !isOwnedParameter(credentialKeys, p));
  for (const key of Object.keys(t?.parameters ?? {})) {
    if (!params.some((p) => p.name === key)) {
      error([...at, 'parameters', key], 'tool/unknown-parameter', `${op.method} ${op.path} has no parameter "${key}"`,
        suggest(key, params.map((p) => p.name), 'parameter'));
    }
  }
  return { params, issues };
}
