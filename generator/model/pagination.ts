/**
 * A tool's pagination: the spec's declaration (the tool's, else the connector default where it
 * fits) checked against the operation's query parameters, and the role each paging parameter
 * plays, so that the runtime fills it and the model only sees `limit` and `cursor`.
 */
import { compile as compileJmespath } from '@jmespath-community/jmespath';
import type { Pagination, ParameterBinding } from '../../runtime/model.ts';
import type { OperationInfo, ParameterInfo } from '../openapi/types.ts';
import type { ConnectorSpec, PaginationSpec, ToolSpec } from '../spec/types.ts';
import { suggest } from '../select.ts';
import { issueList, type Issue, type Path } from './issues.ts';

export type PagingRole = NonNullable<ParameterBinding['pagination']>;

const NEEDS: Record<PaginationSpec['style'], Array<keyof PaginationSpec>> = {
  page: ['page'], offset: ['offset'], cursor: ['cursor', 'nextCursor'], link: [], 'next-url': ['nextUrl'],
};

export function paginationOf(
  spec: Pick<ConnectorSpec, 'defaults'>, t: ToolSpec | undefined, op: Pick<OperationInfo, 'method' | 'path'>, params: readonly ParameterInfo[], at: Path,
): { pagination?: Pagination; issues: Issue[] } {
  const { issues, error } = issueList();
  if (t?.pagination === false) return { issues };
  const explicit = t?.pagination;
  const ps: PaginationSpec | undefined = explicit ?? spec.defaults?.pagination;
  if (!ps) return { issues };
  const has = (n?: string) => n === undefined || params.some((p) => p.name === n && p.in !== 'path');
  const roles = (['page', 'size', 'offset', 'limit', 'cursor'] as const).filter((r) => ps[r] !== undefined);
  const missing = roles.filter((r) => !has(ps[r]));
  if (missing.length) {
    // Defaults apply only where they fit; an explicit declaration that does not fit is a mistake.
    if (explicit) {
      for (const r of missing) {
        error([...at, 'pagination', r], 'pagination/unknown-parameter', `${op.method} ${op.path} has no query parameter "${ps[r]}" for pagination ${r}`,
          suggest(ps[r]!, params.map((p) => p.name), 'parameter'));
      }
    }
    return { issues };
  }
  for (const r of NEEDS[ps.style]) {
    if (ps[r] === undefined) {
      if (explicit) error([...at, 'pagination'], 'pagination/incomplete', `pagination style "${ps.style}" needs \`${r}\``);
      return { issues };
    }
  }
  for (const r of ['nextCursor', 'nextUrl'] as const) {
    const expr = ps[r];
    if (expr === undefined) continue;
    try {
      compileJmespath(expr);
    } catch (e) {
      error(explicit ? [...at, 'pagination', r] : ['defaults', 'pagination', r], 'pagination/jmespath', `invalid JMESPath "${expr}": ${(e as Error).message}`,
        r === 'nextUrl' ? 'quote a name with characters such as @ or -: \'"@odata.nextLink"\'' : 'see https://jmespath.org/specification.html');
      return { issues };
    }
  }
  const sizeName = ps.size ?? ps.limit;
  const sizeParam = sizeName ? params.find((p) => p.name === sizeName) : undefined;
  const schemaMax = typeof sizeParam?.schema?.maximum === 'number' ? sizeParam.schema.maximum : undefined;
  const maxLimit = ps.maxLimit ?? schemaMax ?? 100;
  const p: Pagination = { style: ps.style, defaultLimit: Math.min(ps.defaultLimit ?? 25, maxLimit), maxLimit };
  if (ps.page) p.pageParam = ps.page;
  if (ps.size) p.sizeParam = ps.size;
  if (ps.offset) p.offsetParam = ps.offset;
  if (ps.limit) p.limitParam = ps.limit;
  if (ps.cursor) p.cursorParam = ps.cursor;
  if (ps.nextCursor) p.nextCursorPath = ps.nextCursor;
  if (ps.nextUrl) p.nextUrlPath = ps.nextUrl;
  if (ps.style === 'page') p.firstPage = ps.firstPage ?? 1;
  return { pagination: p, issues };
}

/** The vendor parameter that plays each paging role. */
export function pagingRoles(pagination: Pagination | undefined): Map<string, PagingRole> {
  const roles = new Map<string, PagingRole>();
  if (!pagination) return roles;
  for (const [role, name] of [['page', pagination.pageParam], ['size', pagination.sizeParam], ['offset', pagination.offsetParam], ['limit', pagination.limitParam], ['cursor', pagination.cursorParam]] as const) {
    if (name) roles.set(name, role);
  }
  return roles;
}
