/**
 * list_changed follows what each listening session's caller may see. Through the official MCP
 * client against the governed runtime: a grant made by `specgate grant` in another process reaches
 * a listening caller of that tenant, whose refreshed list shows the tool; a revoke makes it
 * disappear; a change for another tenant does not notify this caller; a revoked key empties the
 * list. Over Streamable HTTP (2026-07-28 `subscriptions/listen`) and stdio (both eras).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { Client, StreamableHTTPClientTransport, type Tool } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import type { FastifyInstance } from 'fastify';
import { apiKeysRepo, openStore, settingsRepo, tenantsRepo, type Store } from '../runtime/store/index.ts';
import { createPolicyEngine } from '../runtime/policy/decide.ts';
import { startHttp, startRuntime } from '../runtime/start.ts';
import { createVisibilityWatch, visibilityFingerprint } from '../runtime/discovery/list-changed.ts';
import { startRecorder, type Recorder } from './fixtures/call/harness.ts';
import { generateInto, root, tempDir } from './helpers/e2e.ts';
import { HELPDESK_SPEC } from './helpers/governed.ts';
import { loadCatalog } from '../runtime/catalog.ts';

const run = promisify(execFile);
const bin = path.join(root, 'bin', 'specgate.js');
const dir = tempDir('list-changed');
const storeUrl = `sqlite:${path.join(dir, 'store.db')}`;
const generated = path.join(dir, 'generated');
const keys: Record<string, string> = {};
let upstream: Recorder;

beforeAll(async () => {
  const specFile = path.join(dir, 'helpdesk.yaml');
  fs.writeFileSync(specFile, HELPDESK_SPEC);
  await generateInto([specFile], generated);
  const store = await openStore(storeUrl);
  const tenants = tenantsRepo(store);
  await tenants.createTenant({ id: 'msp-a', name: 'MSP A' });
  await tenants.createTenant({ id: 'msp-b', name: 'MSP B' });
  await tenants.createCustomer({ id: 'contoso', tenantId: 'msp-a', name: 'Contoso Ltd' });
  await tenants.createCustomer({ id: 'fabrikam', tenantId: 'msp-b', name: 'Fabrikam' });
  await tenants.setVendorId('contoso', 'helpdesk', '4242');
  await tenants.setVendorId('fabrikam', 'helpdesk', '9999');
  await settingsRepo(store).grant('msp-a', 'helpdesk', 'helpdesk_list_*');
  await settingsRepo(store).grant('msp-b', 'helpdesk', 'helpdesk_list_*');
  keys.a = (await apiKeysRepo(store).create({ tenantId: 'msp-a', subject: 'alice', roles: ['technician'] })).key;
  keys.b = (await apiKeysRepo(store).create({ tenantId: 'msp-b', subject: 'bob', roles: ['technician'] })).key;
  keys.a2 = (await apiKeysRepo(store).create({ tenantId: 'msp-a', subject: 'carol', roles: ['technician'] })).key;
  await store.close();
  upstream = await startRecorder(() => ({ body: { tickets: [] } }), '/api');
});
afterAll(async () => {
  await upstream?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** `specgate <args>` against the test store, in a process of its own (as an operator would run it). */
async function cli(...args: string[]): Promise<void> {
  await run(process.execPath, [bin, ...args, '--store', storeUrl], { cwd: root, env: { ...process.env, SPECGATE_KEY_PEPPER: '' } });
}

/** Every list_changed a client hears, with the list the client fetched again after it. */
class Heard {
  readonly tools: string[][] = [];
  readonly prompts: number[] = [];
  private waiters: Array<{ count: number; resolve: () => void }> = [];

  onTools(items: Tool[] | null): void {
    this.tools.push((items ?? []).map((t) => t.name).sort());
    this.wake();
  }

  /** Resolves once `count` tool notifications have arrived (the test's own timeout bounds it). */
  toolsAt(count: number): Promise<void> {
    if (this.tools.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  private wake(): void {
    for (const w of [...this.waiters]) {
      if (this.tools.length >= w.count) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }
}

function listeningClient(heard: Heard, versionNegotiation: ConstructorParameters<typeof Client>[1] extends infer O ? O extends { versionNegotiation?: infer V } ? V : never : never): Client {
  return new Client({ name: 'list-changed', version: '1.0.0' }, {
    versionNegotiation,
    listChanged: {
      // A refetch that is refused (a revoked key) is heard as an empty list.
      tools: { debounceMs: 0, onChanged: (error, items) => heard.onTools(error ? null : items) },
    },
  });
}

describe('list_changed over Streamable HTTP (2026-07-28 subscriptions/listen)', () => {
  let app: FastifyInstance;
  let store: Store;
  let url: string;

  beforeAll(async () => {
    store = await openStore(storeUrl);
    const logger = pino({ level: 'silent' });
    const runtime = await startRuntime({
      generatedDir: generated, mock: false, logger, upstreams: { helpdesk: { baseUrl: upstream.url } },
      governance: { store, policy: createPolicyEngine({ dir: path.join(root, 'policies') }) },
    });
    app = await startHttp(runtime, { port: 0, host: '127.0.0.1', logger, discovery: { mode: 'off', threshold: 40 }, listTtlMs: 0, listChangedPollMs: 50 });
    const address = app.server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/mcp`;
  });
  afterAll(async () => {
    await app?.close();
    await store?.close();
  });

  async function connect(heard: Heard, headers: Record<string, string>): Promise<Client> {
    const client = listeningClient(heard, { mode: 'auto' });
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
    expect(client.getProtocolEra()).toBe('modern');
    return client;
  }

  it('tells the caller whose tools changed, with the new list, and no one else', async () => {
    const alice = new Heard();
    const bob = new Heard();
    const aliceClient = await connect(alice, { authorization: `Bearer ${keys.a}`, 'specgate-customer': 'contoso' });
    const bobClient = await connect(bob, { authorization: `Bearer ${keys.b}`, 'specgate-customer': 'fabrikam' });
    try {
      expect((await aliceClient.listTools()).tools.map((t) => t.name)).toEqual(['helpdesk_list_tickets']);
      // Wait until both listen streams are followed, so that no change can slip in before them.
      await expect.poll(() => app.mcp.followers()).toBe(2);

      // Another process, the same store: the operator's command line.
      await cli('grant', '--tenant', 'msp-a', 'helpdesk', 'helpdesk_get_ticket');
      await alice.toolsAt(1);
      expect(alice.tools[0]).toEqual(['helpdesk_get_ticket', 'helpdesk_list_tickets']);
      expect((await aliceClient.listTools()).tools.map((t) => t.name).sort()).toEqual(['helpdesk_get_ticket', 'helpdesk_list_tickets']);

      // Bob's tenant changes: bob hears it; had alice's grant reached him, it would be his first.
      await cli('grant', '--tenant', 'msp-b', 'helpdesk', 'helpdesk_get_article');
      await bob.toolsAt(1);
      expect(bob.tools).toEqual([['helpdesk_get_article', 'helpdesk_list_tickets']]);

      // A revoke: the tool leaves alice's list; bob's change did not reach her in between.
      await cli('revoke-grant', '--tenant', 'msp-a', 'helpdesk', 'helpdesk_get_ticket');
      await alice.toolsAt(2);
      expect(alice.tools).toEqual([['helpdesk_get_ticket', 'helpdesk_list_tickets'], ['helpdesk_list_tickets']]);
      expect(bob.tools).toHaveLength(1);
    } finally {
      await aliceClient.close();
      await bobClient.close();
    }
    // Closed streams are no longer followed.
    await expect.poll(() => app.mcp.followers()).toBe(0);
  });

  it('a change that does not alter what the caller lists sends nothing; a revoked key empties the list', async () => {
    const carol = new Heard();
    const client = await connect(carol, { authorization: `Bearer ${keys.a2}`, 'specgate-customer': 'contoso' });
    try {
      await expect.poll(() => app.mcp.followers()).toBe(1);
      // A grant covering a tool carol already has (the same list), then a real change to mark the point.
      await cli('grant', '--tenant', 'msp-a', 'helpdesk', 'helpdesk_list_tickets');
      const keyId = (await apiKeysRepo(store).list('msp-a')).find((k) => k.subject === 'carol')!.id;
      await cli('key', 'revoke', '--tenant', 'msp-a', keyId);
      await carol.toolsAt(1);
      // The only notification is the revocation's; the list refetched after it is refused or empty.
      expect(carol.tools).toHaveLength(1);
      expect(carol.tools[0]).toEqual([]);
    } finally {
      await client.close();
    }
  });
});

describe('list_changed on a catalog reload', () => {
  it('a regenerated catalog with a new tool reaches the listening client with the new list', async () => {
    const reloadDir = path.join(dir, 'reload');
    const specFile = path.join(reloadDir, 'helpdesk.yaml');
    fs.mkdirSync(reloadDir, { recursive: true });
    const withoutArticle = HELPDESK_SPEC.slice(0, HELPDESK_SPEC.indexOf('  - operationId: getArticle'));
    fs.writeFileSync(specFile, withoutArticle);
    await generateInto([specFile], path.join(reloadDir, 'generated'));
    const logger = pino({ level: 'silent' });
    const runtime = await startRuntime({ generatedDir: path.join(reloadDir, 'generated'), mock: false, logger, upstreams: { helpdesk: { baseUrl: upstream.url } } });
    const app = await startHttp(runtime, { port: 0, host: '127.0.0.1', logger, discovery: { mode: 'off', threshold: 40 }, listTtlMs: 0 });
    const address = app.server.address();
    const heard = new Heard();
    const client = listeningClient(heard, { mode: 'auto' });
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/mcp`)));
      expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(['helpdesk_get_ticket', 'helpdesk_list_tickets']);
      await expect.poll(() => app.mcp.followers()).toBe(1);
      fs.writeFileSync(specFile, HELPDESK_SPEC);
      await generateInto([specFile], path.join(reloadDir, 'generated'));
      // The generator writes file by file: the last notification carries the finished catalog.
      await heard.toolsAt(1);
      await expect.poll(() => heard.tools.at(-1), { timeout: 60_000 }).toEqual(['helpdesk_get_article', 'helpdesk_get_ticket', 'helpdesk_list_tickets']);
    } finally {
      await client.close();
      await app.close();
    }
  });
});

describe('list_changed over stdio', () => {
  for (const era of ['legacy', 'modern'] as const) {
    it(`${era}: a grant and its revoke reach the connection with the changed list`, async () => {
      const store = await openStore(storeUrl);
      const heard = new Heard();
      const client = listeningClient(heard, { mode: era === 'modern' ? { pin: '2026-07-28' } : 'legacy' });
      await client.connect(new StdioClientTransport({
        command: process.execPath,
        args: [bin, 'stdio', '--generated', generated, '--store', storeUrl, '--discovery', 'off', '--list-changed-poll', '50'],
        cwd: root,
        env: { ...process.env as Record<string, string>, SPECGATE_UPSTREAM_HELPDESK: upstream.url, SPECGATE_KEY_PEPPER: '', SPECGATE_API_KEY: keys.a, SPECGATE_CUSTOMER: 'contoso' },
        stderr: 'pipe',
      }));
      try {
        expect(client.getProtocolEra()).toBe(era);
        const glob = `helpdesk_get_${era === 'modern' ? 'article' : 'ticket'}`;
        expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['helpdesk_list_tickets']);
        // The connection takes its baseline when it opens; a change made after the first list is seen.
        await settingsRepo(store).grant('msp-a', 'helpdesk', glob);
        await heard.toolsAt(1);
        expect(heard.tools[0]).toEqual([glob, 'helpdesk_list_tickets'].sort());
        await settingsRepo(store).revokeGrant('msp-a', 'helpdesk', glob);
        await heard.toolsAt(2);
        expect(heard.tools[1]).toEqual(['helpdesk_list_tickets']);
      } finally {
        await client.close();
        await store.close();
      }
    });
  }
});

describe('the visibility watch', () => {
  it('the fingerprint moves with grants, keys, customers and vendor ids, and not with calls', async () => {
    const store = await openStore(storeUrl);
    try {
      const fp = visibilityFingerprint(store.db);
      const first = await fp();
      expect(await fp()).toBe(first);
      await store.db.insertInto('usage').values({ call_id: 'x-1', tenant_id: 'msp-a', customer_id: null, subject: 'alice', connector: 'helpdesk', tool: 'helpdesk_list_tickets', outcome: 'ok', latency_ms: 1, upstream_bytes: 0, units: 1, at: new Date().toISOString() } as never).execute();
      expect(await fp()).toBe(first);
      await tenantsRepo(store).setVendorId('contoso', 'helpdesk', '4243');
      const second = await fp();
      expect(second).not.toBe(first);
      await tenantsRepo(store).setVendorId('contoso', 'helpdesk', '4242');
      await settingsRepo(store).grant('msp-b', 'other', '*');
      expect(await fp()).not.toBe(second);
      await settingsRepo(store).revokeGrant('msp-b', 'other', '*');
    } finally {
      await store.close();
    }
  });

  it('the fingerprint reads the tables themselves when the settings version row is gone', async () => {
    const store = await openStore(storeUrl);
    try {
      const fp = visibilityFingerprint(store.db);
      const withVersion = await fp();
      await store.db.deleteFrom('settings_version' as never).execute();
      const first = await fp();
      expect(first).not.toBe(withVersion);
      expect(await fp()).toBe(first);
      await settingsRepo(store).grant('msp-b', 'other', '*');
      expect(await fp()).not.toBe(first);
      await settingsRepo(store).revokeGrant('msp-b', 'other', '*');
      // Higher than any version before it: a settings cache must never meet an old number again.
      await store.db.insertInto('settings_version' as never).values({ id: 1, version: Date.now() } as never).execute();
    } finally {
      await store.close();
    }
  });

  it('groups sessions with the same credentials, forgets them when they leave, and survives a caller that cannot list', async () => {
    const catalog = await loadCatalog(generated);
    let fail = false;
    const watch = createVisibilityWatch({
      getCatalog: () => catalog,
      listTools: async (ctx) => {
        if (fail || ctx.headers.authorization === 'Bearer broken') throw new Error('refused');
        return catalog.tools.filter((t) => t.name !== 'helpdesk_get_article' || ctx.headers.authorization === 'Bearer wide');
      },
    });
    const heard: string[] = [];
    const offs = [
      watch.follow({ authorization: 'Bearer narrow' }, (k) => heard.push(`narrow1:${k.join()}`)),
      watch.follow({ authorization: 'Bearer narrow' }, (k) => heard.push(`narrow2:${k.join()}`)),
      watch.follow({ authorization: 'Bearer broken' }, (k) => heard.push(`broken:${k.join()}`)),
    ];
    expect(watch.followers).toBe(3);
    await watch.check();
    expect(heard).toEqual([]);
    fail = true;
    await watch.check();
    // Both narrow sessions lose their tools; the broken caller listed nothing before and after.
    expect(heard.sort()).toEqual(['narrow1:tools', 'narrow2:tools']);
    offs.forEach((off) => off());
    offs[0]!();
    expect(watch.followers).toBe(0);
    watch.close();
  });
});
