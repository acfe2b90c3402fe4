/**
 * The settings a governed call reads before it runs, kept in memory behind one version read per
 * request (runtime/store/settings-cache.ts): a change made through another connection to the same
 * store (as another process, the CLI or the admin API would make it), or by plain SQL, is seen by
 * the very next call; and a warm call reads none of those tables, only the version. Over real
 * HTTP with the official MCP client, the project's policies and a real upstream, on both stores.
 */
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { Client } from '@modelcontextprotocol/client';
import { apiKeysRepo, createSettingsCache, openStore, quotaRepo, rateLimitsRepo, settingsRepo, tenantsRepo, type Store } from '../runtime/store/index.ts';
import { SETTINGS_TABLES } from '../runtime/store/migrations/007_settings_version.ts';
import { startRecorder, type Recorder } from './fixtures/call/harness.ts';
import { HELPDESK_SPEC, governedClient, helpdeskAnswer, serveGoverned, type ToolResult } from './helpers/governed.ts';
import { generateInto, tempDir } from './helpers/e2e.ts';
import { storeBackends } from './helpers/postgres.ts';

const dir = tempDir('settings-cache');
let upstream: Recorder;

beforeAll(async () => {
  fs.writeFileSync(path.join(dir, 'helpdesk.yaml'), HELPDESK_SPEC);
  await generateInto([path.join(dir, 'helpdesk.yaml')], path.join(dir, 'generated'));
  upstream = await startRecorder((u) => ({ body: helpdeskAnswer(u) }), '/api');
});
afterAll(async () => {
  await upstream?.close();
  await stopPostgres();
  fs.rmSync(dir, { recursive: true, force: true });
});

const { backends, stop: stopPostgres } = storeBackends(() => `sqlite:${path.join(dir, `store-${Date.now()}-${Math.random()}.db`)}`);

/** A statement that reads one of the tables the cache keeps. */
const readsSettings = (text: string) => SETTINGS_TABLES.some((t) => new RegExp(`from "${t}"`).test(text));

for (const [name, available, newUrl] of backends) {
  describe.skipIf(!available)(`settings cache on ${name}`, () => {
    let url: string;
    let store: Store;
    /** Another connection to the same store: what another process would write through. */
    let other: Store;
    let mcp: FastifyInstance;
    let mcpUrl: string;
    const statements: string[] = [];
    const clients: Client[] = [];
    let n = 0;

    beforeAll(async () => {
      url = await newUrl();
      store = await openStore(url, { onQuery: (text) => statements.push(text) });
      other = await openStore(url);
      ({ app: mcp, url: mcpUrl } = await serveGoverned(store, { generatedDir: path.join(dir, 'generated'), upstreams: { helpdesk: { baseUrl: upstream.url } } }));
    });
    afterAll(async () => {
      for (const c of clients) await c.close().catch(() => undefined);
      await mcp?.close();
      await other?.close();
      await store?.close();
    });

    /** A tenant of its own for each test: its customer mapped in helpdesk, a technician's key, a grant and a quota. */
    async function tenant() {
      const id = `t${++n}`;
      const tenants = tenantsRepo(other);
      await tenants.createTenant({ id, name: id });
      await tenants.createCustomer({ id: `${id}-c`, tenantId: id, name: 'Customer' });
      await tenants.setVendorId(`${id}-c`, 'helpdesk', '42');
      const { key, info } = await apiKeysRepo(other).create({ tenantId: id, subject: 'tech', roles: ['technician'] });
      await settingsRepo(other).grant(id, 'helpdesk', '*');
      await quotaRepo(other).setQuota({ tenantId: id, scope: '*', period: 'month', limit: 1000 });
      const client = await governedClient(mcpUrl, { authorization: `Bearer ${key}`, 'specgate-customer': `${id}-c` });
      clients.push(client);
      const call = async () => (await client.callTool({ name: 'helpdesk_list_tickets', arguments: {} })) as ToolResult;
      return { id, keyId: info.id, call };
    }
    const text = (r: ToolResult) => r.content.map((c) => c.text).join('');

    it('a warm call reads the settings version and none of the settings tables', async () => {
      const t = await tenant();
      expect((await t.call()).isError).toBeFalsy();
      statements.length = 0;
      expect((await t.call()).isError).toBeFalsy();
      expect(statements.filter((s) => /settings_version/.test(s))).toHaveLength(1);
      expect(statements.filter(readsSettings)).toEqual([]);
      // The call's own writes are still there: its quota counter, usage row and audit record.
      expect(statements.filter((s) => /quota_counters/.test(s))).toHaveLength(1);
      expect(statements.filter((s) => /insert into "usage"/.test(s))).toHaveLength(1);
      expect(statements.filter((s) => /insert into "audit"/.test(s))).toHaveLength(1);
    });

    it('a key revoked through another connection is refused on the very next call', async () => {
      const t = await tenant();
      expect((await t.call()).isError).toBeFalsy();
      expect(await apiKeysRepo(other).revoke(t.id, t.keyId)).toBe(true);
      await expect(t.call()).rejects.toThrow(/401|revoked/);
    });

    it('a grant withdrawn through another connection is refused on the very next call', async () => {
      const t = await tenant();
      expect((await t.call()).isError).toBeFalsy();
      await settingsRepo(other).revokeGrant(t.id, 'helpdesk', '*');
      const refused = await t.call();
      expect(refused.isError).toBe(true);
      expect(text(refused)).toMatch(/not entitled to helpdesk_list_tickets/);
    });

    it('a quota lowered through another connection is refused on the very next call', async () => {
      const t = await tenant();
      expect((await t.call()).isError).toBeFalsy();
      expect((await t.call()).isError).toBeFalsy();
      await quotaRepo(other).setQuota({ tenantId: t.id, scope: '*', period: 'month', limit: 2 });
      const refused = await t.call();
      expect(refused.isError).toBe(true);
      expect(text(refused)).toMatch(/quota exhausted \(2 calls per month/);
    });

    it('a vendor id deleted with plain SQL, around every repository, is refused on the very next call', async () => {
      const t = await tenant();
      expect((await t.call()).isError).toBeFalsy();
      await sql`delete from customer_vendor_ids where customer_id = ${`${t.id}-c`}`.execute(other.db);
      const refused = await t.call();
      expect(refused.isError).toBe(true);
      expect(text(refused)).toMatch(/has no id in helpdesk/);
    });

    it('without its version row the store is read afresh for every call, and a revocation is still seen', async () => {
      const t = await tenant();
      expect((await t.call()).isError).toBeFalsy();
      await sql`delete from settings_version`.execute(other.db);
      try {
        statements.length = 0;
        expect((await t.call()).isError).toBeFalsy();
        expect(statements.filter((s) => /from "api_keys"/.test(s))).toHaveLength(1);
        // Nothing moves the version now: only reading afresh can see this.
        await sql`update api_keys set revoked_at = ${new Date().toISOString()} where id = ${t.keyId}`.execute(other.db);
        await expect(t.call()).rejects.toThrow(/401|revoked/);
      } finally {
        await sql`insert into settings_version (id, version) values (1, 1000000)`.execute(other.db);
      }
    });

    it('a write to any of the settings tables moves the version (a migration that rebuilds one must keep its trigger)', async () => {
      const t = await tenant();
      await rateLimitsRepo(other).set({ tenantId: t.id, scope: 'tenant', perSecond: 1000 });
      const column: Record<(typeof SETTINGS_TABLES)[number], string> = {
        tenants: 'name', customers: 'name', customer_vendor_ids: 'vendor_id', api_keys: 'subject', entitlements: 'tool_glob', quotas: 'period', rate_limits: 'per_second',
      };
      const version = async () => Number((await other.db.selectFrom('settings_version').select('version').where('id', '=', 1).executeTakeFirstOrThrow()).version);
      for (const table of SETTINGS_TABLES) {
        const before = await version();
        await sql`update ${sql.table(table)} set ${sql.ref(column[table])} = ${sql.ref(column[table])}`.execute(other.db);
        expect({ table, moved: (await version()) > before }).toEqual({ table, moved: true });
      }
    });

    it('requests that ask together share one version read, sent after all of them asked', async () => {
      const cache = createSettingsCache(store);
      statements.length = 0;
      const views = await Promise.all(Array.from({ length: 20 }, () => cache.current()));
      expect(statements.filter((s) => /settings_version/.test(s))).toHaveLength(1);
      expect(new Set(views).size).toBe(1);
      // Unchanged store: the next request keeps the rows; a change through another connection drops them.
      expect(await cache.current()).toBe(views[0]);
      await tenantsRepo(other).createTenant({ id: `t${++n}`, name: 'another' });
      expect(await cache.current()).not.toBe(views[0]);
    });

    it('rows kept for many requests cannot be modified by one of them', async () => {
      const t = await tenant();
      const view = await createSettingsCache(store).current();
      const grants = await view.entitlements(t.id);
      expect(grants).toEqual([{ tenantId: t.id, connector: 'helpdesk', toolGlob: '*' }]);
      expect(() => grants.push({ tenantId: t.id, connector: '*', toolGlob: '*' })).toThrow(TypeError);
      expect(() => { (grants[0] as { toolGlob: string }).toolGlob = 'helpdesk_*'; }).toThrow(TypeError);
      expect(await view.entitlements(t.id)).toEqual([{ tenantId: t.id, connector: 'helpdesk', toolGlob: '*' }]);
    });
  });
}
