/**
 * The cursor of the page after the one shaped, from the vendor's answer and the counts shaping saw
 * (mapped back to the vendor's own positions when the ownership check withheld items), sealed for
 * the call's binding so that only the same tool, tenant and customer can hand it back.
 */
import type { ToolModel } from '../model.ts';
import { nextCursor, type CursorBinding, type PageCounts, type PageState } from '../upstream/cursor.ts';
import type { ConnectorRuntime } from './connector-runtime.ts';
import { vendorCounts } from './ownership.ts';
import type { Answer } from './send.ts';

/** `list`: the ownership check's kept items of the vendor's list, when it filtered one. */
export function sealedNextCursor(
  rt: Pick<ConnectorRuntime, 'cursors' | 'baseUrl'>, tool: ToolModel, binding: CursorBinding, page: PageState | undefined, answer: Answer,
  list: { rawCount: number; kept: number[] } | undefined, counts: PageCounts | undefined,
): string | undefined {
  if (!tool.pagination || !page) return undefined;
  const next = nextCursor(tool.pagination, page, answer.raw, answer.response, list && counts ? { ...vendorCounts(list, counts), shown: counts } : counts, rt.baseUrl);
  return next === undefined ? undefined : rt.cursors.seal(binding, next);
}
