/**
 * The opaque pagination cursor: base64url JSON holding the vendor's page number, offset, cursor
 * token, Link URL or next-page URL (none for the first page), and how many items of that vendor
 * page the model has already seen, sealed with an HMAC bound to the tool and the caller (tenant
 * and customer). The model only ever passes back what a result gave it, so anything else (a
 * forged, altered or another tool's or caller's cursor) is refused with a clear error, never sent:
 * a Link or next-page URL's query parameters reach the vendor only when the gateway itself issued them.
 */
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { search } from '@jmespath-community/jmespath';
import type { JSONValue } from '@jmespath-community/jmespath';
import type { Pagination } from '../model.ts';
import { loadKeyring, type Keyring } from '../credentials/keyring.ts';
import { InvalidArguments } from './errors.ts';

/** Where a vendor page starts: page number, offset, cursor token, Link URL or next-page URL. */
export type Position = { p: number } | { o: number } | { c: string } | { u: string } | { n: string };
/**
 * A position (absent: the first page) and `s`, the items of that page the model has seen: a page
 * larger than what one result shows is resumed within, never skipped.
 */
export type Cursor = (Position & { s?: number }) | { s: number };

/** The cursor field that carries each style's position. */
export const POSITION_KEY = { page: 'p', offset: 'o', cursor: 'c', link: 'u', 'next-url': 'n' } as const satisfies Record<Pagination['style'], string>;

const MAX_CURSOR = 4096;

/** What a cursor is bound to: it is valid only for this tool, called for this tenant and customer. */
export interface CursorBinding {
  tool: string;
  tenantId?: string;
  /** The caller's customer id in the tool's vendor, when the call has one. */
  customer?: string;
}

/** Seals cursors for the caller and opens them again; the first key signs, every key verifies. */
export interface CursorSigner {
  seal(binding: CursorBinding, payload: string): string;
  /** The payload of a cursor this signer sealed for the same binding; throws InvalidArguments otherwise. */
  open(binding: CursorBinding, cursor: string): string;
}

const TAG_BYTES = 16;
export const CURSOR_KEY_ENV = 'SPECGATE_CURSOR_KEY';
const KEY_INFO = 'specgate pagination cursor v1';

export function createCursorSigner(keys: Buffer[]): CursorSigner {
  if (keys.length === 0) throw new Error('createCursorSigner: at least one key is needed');
  const tag = (key: Buffer, b: CursorBinding, payload: Buffer) =>
    createHmac('sha256', key).update(`v1\n${b.tool}\n${b.tenantId ?? ''}\n${b.customer ?? ''}\n`).update(payload).digest().subarray(0, TAG_BYTES);
  return {
    // One base64url token: the payload's JSON, then the tag.
    seal(binding, payload) {
      const json = Buffer.from(payload, 'base64url');
      return Buffer.concat([json, tag(keys[0]!, binding, json)]).toString('base64url');
    },
    open(binding, cursor) {
      const bad = (why: string) => new InvalidArguments(`Invalid arguments: "cursor" is not a cursor this tool returned (${why}); omit it to start from the first page`);
      if (cursor.length > MAX_CURSOR) throw bad('too long');
      if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad('not base64url');
      const bytes = Buffer.from(cursor, 'base64url');
      if (bytes.length <= TAG_BYTES) throw bad('it is not signed');
      const json = bytes.subarray(0, bytes.length - TAG_BYTES);
      const given = bytes.subarray(bytes.length - TAG_BYTES);
      if (!keys.some((k) => timingSafeEqual(tag(k, binding, json), given))) {
        throw bad('its signature does not match: it was altered, or issued for another tool, tenant or customer');
      }
      return json.toString('base64url');
    },
  };
}

/**
 * The keys cursors are signed with, from configuration, so that every instance behind a load
 * balancer accepts the others' cursors: SPECGATE_CURSOR_KEY (base64, at least 32 bytes), else keys
 * derived (HKDF) from the master keys in SPECGATE_MASTER_KEYS (the current one signs, all verify, so
 * a master key rotation keeps cursors working). Without either, a random key of this process: its
 * cursors work only on this instance and until it restarts.
 */
export function cursorKeysFrom(env: NodeJS.ProcessEnv = process.env, masterKeys?: Buffer[]): Buffer[] {
  const configured = env[CURSOR_KEY_ENV];
  if (configured !== undefined && configured !== '') {
    const key = Buffer.from(configured, 'base64');
    if (key.length < 32) throw new Error(`${CURSOR_KEY_ENV} must be at least 32 bytes in base64 (it decodes to ${key.length} bytes)`);
    return [key];
  }
  const master = masterKeys ?? masterKeysOf(loadKeyring({ env }));
  if (master.length) return master.map((k) => Buffer.from(hkdfSync('sha256', k, Buffer.alloc(0), KEY_INFO, 32)));
  return [PROCESS_KEY];
}

const PROCESS_KEY = randomBytes(32);

function masterKeysOf(keyring: Keyring | undefined): Buffer[] {
  return keyring ? keyring.ids.map((id) => keyring.get(id)!) : [];
}

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
  const { s, ...rest } = value as Record<string, unknown>;
  const keys = Object.keys(rest);
  if (keys.length > 1 || (keys.length === 0 && s === undefined)) throw bad('unexpected fields');
  let seen: { s?: number } = {};
  if (s !== undefined) {
    if (typeof s !== 'number' || !Number.isSafeInteger(s) || s < 1) throw bad('not a positive item count');
    seen = { s };
    if (keys.length === 0) return { s };
  }
  const v = rest;
  if ('p' in v || 'o' in v) {
    const n = v.p ?? v.o;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw bad('not a non-negative integer');
    return 'p' in v ? { p: n, ...seen } : { o: n, ...seen };
  }
  if ('c' in v) {
    if (typeof v.c !== 'string' || !v.c) throw bad('empty token');
    return { c: v.c, ...seen };
  }
  if ('u' in v || 'n' in v) {
    const url = v.u ?? v.n;
    if (typeof url !== 'string' || !/^https?:\/\//i.test(url)) throw bad('not a URL');
    try {
      new URL(url);
    } catch {
      throw bad('not a URL');
    }
    return 'u' in v ? { u: url, ...seen } : { n: url, ...seen };
  }
  throw bad('unknown kind');
}

/** Where this page started, as sent to the vendor. */
export interface PageState {
  style: Pagination['style'];
  size: number;
  page?: number;
  offset?: number;
  /** The position this page was fetched from (absent: the first page), to come back to it. */
  at?: Position;
  /** Items at the start of this vendor page the model saw in an earlier result. */
  skip?: number;
}

/**
 * What shaping observed: items in the vendor's page before any cap, and how far into it the model
 * has now seen (the skipped items included).
 */
export interface PageCounts {
  available: number;
  returned: number;
  /**
   * The same counts in the list shaping saw, when the ownership check withheld items of other
   * customers from it (then `available` and `returned` above are positions in the vendor's list).
   */
  shown?: { available: number; returned: number };
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
  // Items of this vendor page are left (a cap or the token budget cut it): come back to the same
  // page and go on after them, rather than to the next page, which would skip them. Offsets already
  // continue right after what the model saw.
  const shown = counts?.shown ?? counts;
  if (pagination.style !== 'offset' && shown && shown.returned < shown.available) {
    // An item too large for the token budget on its own is passed over, not offered forever.
    return encodeCursor({ ...state.at, s: Math.max(shown.returned, (state.skip ?? 0) + 1) });
  }
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
    case 'link':
      return urlCursor('u', parseLinkHeader(response.headers.get('link')).next, baseUrl);
    case 'next-url': {
      if (!pagination.nextUrlPath) return undefined;
      let next: unknown;
      try {
        next = search(raw as JSONValue, pagination.nextUrlPath);
      } catch {
        return undefined;
      }
      // Checked when it is followed (runtime/upstream/next-url.ts), with the request it would become.
      return typeof next === 'string' ? urlCursor('n', next, baseUrl) : undefined;
    }
  }
}

function urlCursor(key: 'u' | 'n', next: string | undefined, baseUrl: string | undefined): string | undefined {
  if (!next) return undefined;
  let url: URL;
  try {
    url = new URL(next, baseUrl);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  return encodeCursor(key === 'u' ? { u: url.toString() } : { n: url.toString() });
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
