/**
 * The opaque pagination cursor: base64url JSON holding exactly one of the vendor's page number,
 * offset, cursor token or Link URL. The model only ever passes back what a result gave it, so
 * anything else is a malformed cursor with a clear error, never a crash.
 */
import { search } from '@jmespath-community/jmespath';
import type { JSONValue } from '@jmespath-community/jmespath';
import type { Pagination } from '../model.ts';
import { InvalidArguments } from './errors.ts';

export type Cursor = { p: number } | { o: number } | { c: string } | { u: string };

const MAX_CURSOR = 4096;

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor), 'utf8').toString('base64url');
}

export function decodeCursor(text: string): Cursor {
  const bad = (why: string) => new InvalidArguments(`Invalid arguments: "cursor" is not a cursor this tool returned (${why}); omit it to start from the first page`);
  if (text.length > MAX_CURSOR) throw bad('too long');
  if (!/^[A-Za-z0-9_-]+$/.test(text)) throw bad('not base64url');
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw bad('not JSON');
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw bad('not an object');
  const keys = Object.keys(value);
  if (keys.length !== 1) throw bad('unexpected fields');
  const v = value as Record<string, unknown>;
  if ('p' in v || 'o' in v) {
    const n = v.p ?? v.o;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw bad('not a non-negative integer');
    return 'p' in v ? { p: n } : { o: n };
  }
  if ('c' in v) {
    if (typeof v.c !== 'string' || !v.c) throw bad('empty token');
    return { c: v.c };
  }
  if ('u' in v) {
    if (typeof v.u !== 'string' || !/^https?:\/\//i.test(v.u)) throw bad('not a URL');
    try {
      new URL(v.u);
    } catch {
      throw bad('not a URL');
    }
    return { u: v.u };
  }
  throw bad('unknown kind');
}

/** Where this page started, as sent to the vendor. */
export interface PageState {
  style: Pagination['style'];
  size: number;
  page?: number;
  offset?: number;
}

/** What shaping observed: items in the page before any cap, and how many were kept. */
export interface PageCounts {
  available: number;
  returned: number;
}

/** The cursor for the page after this one, or undefined at the end. */
export function nextCursor(
  pagination: Pagination,
  state: PageState,
  raw: unknown,
  response: Response,
  counts: PageCounts | undefined,
  /** Resolves a relative Link URL. */
  baseUrl?: string,
): string | undefined {
  switch (pagination.style) {
    case 'page': {
      if (!counts || counts.available < state.size) return undefined;
      return encodeCursor({ p: (state.page ?? pagination.firstPage ?? 1) + 1 });
    }
    case 'offset': {
      if (!counts) return undefined;
      const offset = state.offset ?? 0;
      // Continue right after what the model saw, so items cut for size are not lost.
      if (counts.returned < counts.available) return encodeCursor({ o: offset + counts.returned });
      return counts.available >= state.size ? encodeCursor({ o: offset + counts.available }) : undefined;
    }
    case 'cursor': {
      if (!pagination.nextCursorPath) return undefined;
      let token: unknown;
      try {
        token = search(raw as JSONValue, pagination.nextCursorPath);
      } catch {
        return undefined;
      }
      if ((typeof token === 'string' && token) || (typeof token === 'number' && Number.isFinite(token))) {
        return encodeCursor({ c: String(token) });
      }
      return undefined;
    }
    case 'link': {
      const next = parseLinkHeader(response.headers.get('link')).next;
      if (!next) return undefined;
      try {
        return encodeCursor({ u: new URL(next, baseUrl).toString() });
      } catch {
        return undefined;
      }
    }
  }
}

/** RFC 8288 Link header -> rel -> URL (first wins), tolerant of spacing and quoting. */
export function parseLinkHeader(header: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const m of header.matchAll(/<([^>]*)>((?:\s*;\s*[^;,]+)*)/g)) {
    const rel = /;\s*rel\s*=\s*"?([^";,]+)"?/i.exec(m[2] ?? '');
    if (!rel) continue;
    for (const r of rel[1]!.trim().toLowerCase().split(/\s+/)) if (!(r in out)) out[r] = m[1]!;
  }
  return out;
}
