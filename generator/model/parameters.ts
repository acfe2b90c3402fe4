/**
 * The vendor parameters a tool can have: the operation's, less those the credential broker and
 * HTTP own, each with the spec's override (its own, or `"*"`'s for an optional one). An override
 * naming none of them is an error (a misspelt name would silently leave the real parameter to
 * the model).
 */
import type { OperationInfo, ParameterInfo } from '../openapi/types.ts';
import { ALL_PARAMETERS, type ParameterOverride, type ToolSpec } from '../spec/types.ts';
import { suggest } from '../select.ts';
import { isOwnedParameter } from './auth.ts';
import { issueList, type Issue, type Path } from './issues.ts';

export function toolParameters(
  op: Pick<OperationInfo, 'method' | 'path' | 'parameters'>, t: ToolSpec | undefined, credentialKeys: ReadonlySet<string>, at: Path,
): { params: ParameterInfo[]; overrides: Map<string, ParameterOverride>; issues: Issue[] } {
  const { issues, error } = issueList();
  const params = op.parameters.filter((p) => !isOwnedParameter(credentialKeys, p));
  // `"*"` reaches every optional parameter the spec does not name: hiding all but a few.
  const { [ALL_PARAMETERS]: every, ...named } = t?.parameters ?? {};
  if (every) {
    const extra = Object.keys(every).filter((k) => k !== 'hide');
    if (extra.length) {
      error([...at, 'parameters', ALL_PARAMETERS, extra[0]!], 'tool/wildcard-override', `"${ALL_PARAMETERS}" can only set \`hide\`, not \`${extra[0]}\``,
        'name the parameter to give it a value, a name or a description');
    }
  }
  for (const key of Object.keys(named)) {
    if (!params.some((p) => p.name === key)) {
      error([...at, 'parameters', key], 'tool/unknown-parameter', `${op.method} ${op.path} has no parameter "${key}"`,
        suggest(key, params.map((p) => p.name), 'parameter'));
    }
  }
  const overrides = new Map<string, ParameterOverride>();
  for (const p of params) {
    // Overrides go by name: a name a required parameter also has (a path and a query `id`) stays.
    const required = params.some((q) => q.name === p.name && q.required);
    const o = named[p.name] ?? (every?.hide !== undefined && !required ? { hide: every.hide } : undefined);
    if (o) overrides.set(p.name, o);
  }
  return { params, overrides, issues };
}
