/**
 * How the runtime shapes a tool's response (projection, items, caps, redaction, caching): the tool's
 * `response:` over the connector's `defaults.response`, each JMESPath compiled once here so a
 * bad expression is a build error rather than a failing call.
 */
import { compile as compileJmespath } from '@jmespath-community/jmespath';
import type { Shape } from '../../runtime/model.ts';
import type { ConnectorSpec, ResponseShape, ToolSpec } from '../spec/types.ts';
import { issueList, type Issue, type Path } from './issues.ts';

export function responseShape(spec: Pick<ConnectorSpec, 'defaults'>, t: ToolSpec | undefined, at: Path): { shape: Shape; issues: Issue[] } {
  const { issues, error } = issueList();
  const d: ResponseShape = spec.defaults?.response ?? {};
  const r: ResponseShape = t?.response ?? {};
  const pick = <K extends keyof ResponseShape>(k: K) => (r[k] !== undefined ? r[k] : d[k]);
  const shape: Shape = {};
  for (const [k, target] of [['project', 'project'], ['items', 'itemsPath']] as const) {
    const expr = pick(k) as string | undefined;
    if (expr === undefined) continue;
    try {
      compileJmespath(expr);
      shape[target] = expr;
    } catch (e) {
      const where: Path = r[k] !== undefined ? [...at, 'response', k] : ['defaults', 'response', k];
      error(where, 'shape/jmespath', `invalid JMESPath "${expr}": ${(e as Error).message}`, 'see https://jmespath.org/specification.html');
    }
  }
  const maxItems = pick('maxItems');
  if (maxItems !== undefined) shape.maxItems = maxItems;
  const tokenBudget = pick('tokenBudget');
  if (tokenBudget !== undefined) shape.tokenBudget = tokenBudget;
  const cacheMs = pick('cacheMs');
  // 0 turns a connector default off for one tool.
  if (cacheMs !== undefined && cacheMs > 0) shape.cacheMs = cacheMs;
  const redact = [...new Set([...(d.redact ?? []), ...(r.redact ?? [])])].sort();
  if (redact.length) shape.redact = redact;
  return { shape, issues };
}
