/** What a tool's definition costs in a client's context, warned about above the spec's limit. */
import type { ConnectorSpec } from '../spec/types.ts';
import { definitionTokens } from '../tokens.ts';
import { issueList, type Issue, type Path } from './issues.ts';

export const DEFAULT_MAX_DEFINITION_TOKENS = 1500;

export function tokenCost(
  spec: Pick<ConnectorSpec, 'lint'>, def: Parameters<typeof definitionTokens>[0], at: Path,
): { tokens: number; issues: Issue[] } {
  const { issues, warning } = issueList();
  const tokens = definitionTokens(def);
  const maxTokens = spec.lint?.maxDefinitionTokens ?? DEFAULT_MAX_DEFINITION_TOKENS;
  if (tokens > maxTokens) {
    warning(at, 'lint/token-cost', `tool "${def.name}" costs ${tokens} tokens of a client's context (limit ${maxTokens})`,
      'hide parameters the model does not need, or project the response to fewer fields');
  }
  return { tokens, issues };
}
