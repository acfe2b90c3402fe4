/**
 * list_changed for the sessions that listen: each listening session is followed by what its
 * caller's lists show (tools/list, prompts/list, resources/list for its headers), and told only
 * when its own lists change. Changes come from outside the process as often as from inside it (the
 * admin API, `specgate` commands in another process, another instance on the same PostgreSQL), so
 * the store's visibility state is polled through a cheap fingerprint, and the lists are worked out
 * again only when it moved, or when the catalog was reloaded.
 *
 * Sessions with the same credentials, customer and pinned toolsets see the same lists: they are
 * followed as one group and worked out once.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { ServerEvent, ServerEventBus } from '@modelcontextprotocol/server';
import type { Kysely } from 'kysely';
import type { Catalog } from '../catalog.ts';
import type { ToolModel } from '../model.ts';
import type { ListTools, McpLogger } from '../mcp/types.ts';
import { sha256Hex } from '../store/canonical.ts';
import { discoveryActive, type DiscoveryOptions } from './mode.ts';
import { META_TOOL_ENTRIES } from './meta-tools.ts';
import { parseToolsets, toolsInToolsets, TOOLSETS_HEADER } from './toolsets.ts';

export type ListKind = 'tools' | 'prompts' | 'resources';
export const LIST_KINDS: readonly ListKind[] = ['tools', 'prompts', 'resources'];

type Headers = Record<string, string | undefined>;
type Hashes = Record<ListKind, string>;

/** How often the store's fingerprint is read while anyone listens; the credential watch's pace. */
export const DEFAULT_POLL_MS = 5_000;

export interface VisibilityWatchOptions {
  getCatalog: () => Catalog;
  /** Per-caller visibility (the governance chain); default: the whole catalog. */
  listTools?: ListTools;
  discovery?: DiscoveryOptions;
  /** Changes whenever something a caller's visible tools depend on changes in the store. */
  fingerprint?: () => Promise<string>;
  /** Poll interval of `fingerprint`, ms. */
  intervalMs?: number;
  logger?: McpLogger;
}

export interface VisibilityWatch {
  /** Follows one listening session; `notify` hears which of its lists changed. Returns the unfollow. */
  follow(headers: Headers, notify: (kinds: ListKind[]) => void): () => void;
  /** Works every followed group's lists out again now and notifies those that changed. */
  check(): Promise<void>;
  /** Sessions followed (open subscriptions and stdio connections). */
  readonly followers: number;
  close(): void;
}

interface Group {
  headers: Headers;
  members: Set<(kinds: ListKind[]) => void>;
  /** What the group's lists were when last worked out; set once the first answer is in. */
  hashes?: Promise<Hashes>;
}

/** The headers that decide what a caller sees: its credential, its customer, its pinned toolsets. */
function groupKey(headers: Headers): string {
  return sha256Hex([headers.authorization ?? '', headers['specgate-customer'] ?? '', headers[TOOLSETS_HEADER] ?? ''].join('\n'));
}

export function createVisibilityWatch(options: VisibilityWatchOptions): VisibilityWatch {
  const groups = new Map<string, Group>();
  let followers = 0;
  let lastFingerprint: string | undefined;
  let running: Promise<void> | undefined;
  let again = false;

  async function visibleFor(catalog: Catalog, headers: Headers): Promise<ToolModel[]> {
    if (!options.listTools) return catalog.tools;
    try {
      // A fresh request id: the identity is looked up again, so a revoked key is seen as revoked.
      return await options.listTools({ requestId: `list-changed-${randomUUID()}`, signal: new AbortController().signal, headers });
    } catch {
      // A caller refused outright (revoked key, customer withdrawn) may list nothing.
      return [];
    }
  }

  /** A digest of exactly what the caller's tools/list, prompts/list and resources lists show. */
  async function hashesOf(headers: Headers): Promise<Hashes> {
    const catalog = options.getCatalog();
    const visible = await visibleFor(catalog, headers);
    const names = new Set(visible.map((t) => t.name));
    let listed: unknown[];
    if (discoveryActive(options.discovery, visible.length)) {
      const pinned = toolsInToolsets(catalog, parseToolsets(headers[TOOLSETS_HEADER], catalog).names);
      listed = [...META_TOOL_ENTRIES, ...catalog.listEntries.filter((_, i) => pinned.has(catalog.tools[i].name) && names.has(catalog.tools[i].name))];
    } else {
      listed = catalog.listEntries.filter((_, i) => names.has(catalog.tools[i].name));
    }
    const models = catalog.connectors.map((c) => c.model);
    const prompts = models.flatMap((m) => m.prompts ?? []).filter((p) => p.tools.every((t) => names.has(t)));
    const resources = models.flatMap((m) => m.resources ?? []).filter((r) => names.has(r.tool));
    return {
      tools: sha256Hex(JSON.stringify(listed)),
      prompts: sha256Hex(JSON.stringify(prompts)),
      resources: sha256Hex(JSON.stringify(resources)),
    };
  }

  async function checkGroup(group: Group): Promise<void> {
    const before = await group.hashes;
    const next = hashesOf(group.headers);
    group.hashes = next;
    const after = await next;
    if (!before) return;
    const changed = LIST_KINDS.filter((k) => before[k] !== after[k]);
    if (changed.length === 0) return;
    for (const notify of group.members) {
      try {
        notify(changed);
      } catch (error) {
        options.logger?.warn({ err: (error as Error).message }, 'list_changed could not be sent');
      }
    }
  }

  async function checkAll(): Promise<void> {
    for (const group of [...groups.values()]) {
      try {
        await checkGroup(group);
      } catch (error) {
        options.logger?.warn({ err: (error as Error).message }, 'visible lists could not be worked out');
      }
    }
  }

  /** One pass at a time; a request during a pass runs one more pass after it (changes may have come in meanwhile). */
  function check(): Promise<void> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await checkAll();
      } while (again);
    })().finally(() => {
      running = undefined;
    });
    return running;
  }

  async function poll(): Promise<void> {
    if (!options.fingerprint || groups.size === 0) return;
    try {
      const now = await options.fingerprint();
      const moved = lastFingerprint !== undefined && now !== lastFingerprint;
      lastFingerprint = now;
      if (moved) await check();
    } catch (error) {
      options.logger?.warn({ err: (error as Error).message }, 'list_changed watch could not read the store');
    }
  }

  let timer: NodeJS.Timeout | undefined;
  if (options.fingerprint) {
    timer = setInterval(() => void poll(), options.intervalMs ?? DEFAULT_POLL_MS);
    // Never what keeps a process alive.
    timer.unref();
  }

  return {
    follow(headers, notify) {
      const key = groupKey(headers);
      let group = groups.get(key);
      if (!group) {
        group = { headers: { ...headers }, members: new Set() };
        groups.set(key, group);
        const g = group;
        g.hashes = hashesOf(g.headers).catch(() => ({ tools: '', prompts: '', resources: '' }));
        // The first follower takes the store's fingerprint as its baseline.
        if (options.fingerprint && lastFingerprint === undefined) void poll();
      }
      const member = (kinds: ListKind[]) => notify(kinds);
      group.members.add(member);
      followers++;
      let followed = true;
      return () => {
        if (!followed) return;
        followed = false;
        followers--;
        group.members.delete(member);
        if (group.members.size === 0 && groups.get(key) === group) groups.delete(key);
      };
    },
    check,
    get followers() {
      return followers;
    },
    close() {
      if (timer) clearInterval(timer);
      groups.clear();
    },
  };
}

/**
 * The store state a caller's visible tools depend on: tenants, customers and their vendor ids,
 * API keys (roles, revocation, expiry) and entitlements. Small tables, read whole; the digest is
 * the same on SQLite and PostgreSQL, so instances sharing a database agree on it.
 */
export function visibilityFingerprint(db: Kysely<any>): () => Promise<string> {
  const everything = async () => {
    const [tenants, customers, vendorIds, keys, entitlements] = await Promise.all([
      db.selectFrom('tenants').select(['id']).orderBy('id').execute(),
      db.selectFrom('customers').select(['id', 'tenant_id']).orderBy('id').execute(),
      db.selectFrom('customer_vendor_ids').select(['customer_id', 'connector', 'vendor_id']).orderBy('customer_id').orderBy('connector').execute(),
      db.selectFrom('api_keys').select(['id', 'roles', 'revoked_at', 'expires_at']).orderBy('id').execute(),
      db.selectFrom('entitlements').select(['tenant_id', 'connector', 'tool_glob']).orderBy('tenant_id').orderBy('connector').orderBy('tool_glob').execute(),
    ]);
    return sha256Hex(JSON.stringify([tenants, customers, vendorIds, keys, entitlements]));
  };
  // The settings version (migration 007) moves on any change to those tables, from any process:
  // one row read instead of five tables. Without its row, the tables themselves.
  return async () => {
    const row = await db.selectFrom('settings_version').select('version').where('id', '=', 1).executeTakeFirst() as { version: number | string } | undefined;
    return row ? `v${String(row.version)}` : everything();
  };
}

const EVENT_OF: Record<ListKind, ServerEvent> = {
  tools: { kind: 'tools_list_changed' },
  prompts: { kind: 'prompts_list_changed' },
  resources: { kind: 'resources_list_changed' },
};

/**
 * The event bus of the HTTP endpoint's `subscriptions/listen` streams, addressed per caller: a
 * stream opened inside `within(headers, …)` is followed with those headers and hears only its own
 * changes. `publish` (the SDK's notify sugar) still reaches every stream.
 */
export function createCallerBus(watch: VisibilityWatch): ServerEventBus & { within<T>(headers: Headers, run: () => T): T } {
  const requestHeaders = new AsyncLocalStorage<Headers>();
  const listeners = new Set<(event: ServerEvent) => void>();
  return {
    within: (headers, run) => requestHeaders.run(headers, run),
    publish(event) {
      for (const listener of [...listeners]) {
        try {
          listener(event);
        } catch {
          // One broken stream does not keep the event from the others.
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      // The SDK subscribes while serving the listen request, inside that request's `within`.
      const unfollow = watch.follow(requestHeaders.getStore() ?? {}, (kinds) => {
        for (const k of kinds) listener(EVENT_OF[k]);
      });
      return () => {
        listeners.delete(listener);
        unfollow();
      };
    },
  };
}
