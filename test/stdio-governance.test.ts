/**
 * `specgate stdio --store`: a desktop client's session runs the same governance chain as HTTP,
 * acting as the API key in SPECGATE_API_KEY, for the customer it selects: per-caller tools/list,
 * the customer forced from the tenant's mapping, usage and audit records, and a bad key refused
 * at startup with the reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { apiKeysRepo, auditRepo, openStore, settingsRepo, tenantsRepo } from '../runtime/store/index.ts';
import { startRecorder, type Recorder } from './fixtures/call/harness.ts';
import { generateInto, root, tempDir } from './helpers/e2e.ts';
import { HELPDESK_SPEC } from './helpers/governed.ts';

const bin = path.join(root, 'bin', 'specgate.js');

describe('governed stdio', () => {
  const dir = tempDir('stdio-governance');
  const storeUrl = `sqlite:${path.join(dir, 'store.db')}`;
  let upstream: Recorder;
  let key = '';

  beforeAll(async () => {
    const specFile = path.join(dir, 'helpdesk.yaml');
    fs.writeFileSync(specFile, HELPDESK_SPEC);
    await generateInto([specFile], path.join(dir, 'generated'));
    const store = await openStore(storeUrl);
    await tenantsRepo(store).createTenant({ id: 'msp-a', name: 'MSP A' });
    await tenantsRepo(store).createCustomer({ id: 'contoso', tenantId: 'msp-a', name: 'Contoso' });
    await tenantsRepo(store).setVendorId('contoso', 'helpdesk', '4242');
    await settingsRepo(store).grant('msp-a', 'helpdesk', 'helpdesk_list_*');
    key = (await apiKeysRepo(store).create({ tenantId: 'msp-a', subject: 'alice', roles: ['technician'] })).key;
    await store.close();
    upstream = await startRecorder(() => ({ body: { tickets: [{ id: 1, summary: 'printer' }] } }), '/api');
  });
  afterAll(async () => {
    await upstream?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const env = (extra: Record<string, string>) => ({
    ...process.env as Record<string, string>, SPECGATE_UPSTREAM_HELPDESK: upstream.url, SPECGATE_KEY_PEPPER: '', ...extra,
  });
  const args = ['stdio', '--generated', path.join(dir, 'generated'), '--store', storeUrl];

  it('serves only what the key may call, forces the customer, and meters and audits each call', async () => {
    const client = new Client({ name: 'desktop', version: '1.0.0' });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [bin, ...args], cwd: root, env: env({ SPECGATE_API_KEY: key, SPECGATE_CUSTOMER: 'contoso' }), stderr: 'pipe' }));
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['helpdesk_list_tickets']);
      const before = upstream.requests.length;
      const result = await client.callTool({ name: 'helpdesk_list_tickets', arguments: { client_id: 1 } as Record<string, unknown> });
      const sent = upstream.requests.slice(before);
      // client_id is not the model's to choose: the call is refused or the forced value wins.
      if (!result.isError) expect(new URL(sent[0].url, 'http://x').searchParams.get('client_id')).toBe('4242');
      const ok = await client.callTool({ name: 'helpdesk_list_tickets', arguments: {} });
      expect(ok.isError).toBeFalsy();
      expect(new URL(upstream.requests.at(-1)!.url, 'http://x').searchParams.get('client_id')).toBe('4242');
      // Not granted: refused, like over HTTP.
      const refused = await client.callTool({ name: 'helpdesk_get_ticket', arguments: { id: 1 } });
      expect(refused.isError).toBe(true);
    } finally {
      await client.close();
    }
    const store = await openStore(storeUrl);
    try {
      const entries = await auditRepo(store).search({ tenant: 'msp-a' });
      expect(entries.map((e) => [e.record.tool, e.record.outcome, e.record.subject]).slice(-2)).toEqual([
        ['helpdesk_list_tickets', 'ok', 'alice'],
        ['helpdesk_get_ticket', 'refused', 'alice'],
      ]);
      // Rows carry no order of their own: look at every successful call, not "the last" row.
      const usage = await store.db.selectFrom('usage').selectAll().where('tool', '=', 'helpdesk_list_tickets').where('outcome', '=', 'ok').execute();
      expect(usage.length).toBeGreaterThan(0);
      for (const row of usage) expect(row).toMatchObject({ tenant_id: 'msp-a', customer_id: 'contoso', subject: 'alice', outcome: 'ok' });
      expect(await auditRepo(store).verify()).toMatchObject({ ok: true });
    } finally {
      await store.close();
    }
  });

  it('refuses to start without a key, or with a bad one, saying why', async () => {
    const run = (extra: Record<string, string>) => new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(process.execPath, [bin, ...args], { cwd: root, env: env(extra) }, (error, _stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stderr }));
    });
    const none = await run({ SPECGATE_API_KEY: '' });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('set SPECGATE_API_KEY to the API key of the local user');
    const bad = await run({ SPECGATE_API_KEY: `sg_000000000000_${'A'.repeat(43)}` });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('Not authenticated: the API key is not valid');
    expect(bad.stderr).not.toContain('A'.repeat(43));
  });
});
