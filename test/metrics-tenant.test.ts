/**
 * The opt-in tenant label on the tool-call counter, through a governed runtime over HTTP: each
 * call is counted under the tenant its key authenticated into, a tenant a caller names in a header
 * or in `_meta` changes nothing, and without the option the counter has no tenant label at all.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeysRepo, openStore, settingsRepo, tenantsRepo, type Store } from '../runtime/store/index.ts';
import { startRecorder, type Recorder } from './fixtures/call/harness.ts';
import { HELPDESK_SPEC, governedClient, helpdeskAnswer, serveGoverned } from './helpers/governed.ts';
import { generateInto, tempDir } from './helpers/e2e.ts';

describe('tenant label on tool-call metrics', () => {
  const dir = tempDir('metrics-tenant');
  let store: Store;
  let upstream: Recorder;
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    fs.writeFileSync(path.join(dir, 'helpdesk.yaml'), HELPDESK_SPEC);
    await generateInto([path.join(dir, 'helpdesk.yaml')], path.join(dir, 'generated'));
    upstream = await startRecorder((u) => ({ body: helpdeskAnswer(u) }), '/api');
    store = await openStore(`sqlite:${path.join(dir, 'store.db')}`);
    for (const tenant of ['msp-a', 'msp-b']) {
      await tenantsRepo(store).createTenant({ id: tenant, name: tenant });
      await settingsRepo(store).grant(tenant, 'helpdesk', '*');
      keys[tenant] = (await apiKeysRepo(store).create({ tenantId: tenant, subject: `tech@${tenant}`, roles: ['technician'] })).key;
    }
  });
  afterAll(async () => {
    await upstream?.close();
    await store?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function countsAfterCalls(tenantLabel: boolean): Promise<string[]> {
    const { app, url } = await serveGoverned(store, {
      generatedDir: path.join(dir, 'generated'), upstreams: { helpdesk: { baseUrl: upstream.url } },
      http: { metricsExposure: 'open', ...(tenantLabel && { metricsTenantLabel: true }) },
    });
    try {
      for (const tenant of ['msp-a', 'msp-b']) {
        const client = await governedClient(url, { authorization: `Bearer ${keys[tenant]}` });
        await client.callTool({ name: 'helpdesk_get_article', arguments: { slug: 'a' }, _meta: { 'specgate/tenant': 'msp-b', tenant: 'msp-b' } });
        await client.close();
      }
      const text = await (await fetch(url.replace(/\/mcp$/, '/metrics'))).text();
      return text.split('\n').filter((l) => l.startsWith('mcp_tool_calls_total{'));
    } finally {
      await app.close();
    }
  }

  it('counts each call under the tenant its key authenticated into, whatever the caller claims', async () => {
    const lines = await countsAfterCalls(true);
    const a = lines.filter((l) => l.includes('tenant="msp-a"'));
    const b = lines.filter((l) => l.includes('tenant="msp-b"'));
    expect(a).toHaveLength(1);
    expect(b).toHaveLength(1);
    // msp-a's call named msp-b in _meta: it is refused and counted under msp-a, never msp-b.
    expect(a[0]).toMatch(/outcome="refused".* 1$/);
    expect(b[0]).toMatch(/outcome="ok".* 1$/);
  });

  it('has no tenant label unless asked', async () => {
    const lines = await countsAfterCalls(false);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.some((l) => l.includes('tenant='))).toBe(false);
  });
});
