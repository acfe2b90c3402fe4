/**
 * The operator console in a real headless Chromium (Debian's `chromium`, driven by puppeteer-core;
 * nothing downloads a browser), against a governed runtime and its admin listener on SQLite: sign
 * in, read the usage of a seeded month, filter the audit by customer and outcome, approve a call
 * that policy held and see it complete, create a key that is shown once, read the catalog.
 * SPECGATE_SCREENSHOTS=<dir> keeps a screenshot of each page (docs/console/ holds the committed ones).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { adminKeysRepo, apiKeysRepo, auditRepo, insertUsageIn, openStore, settingsRepo, tenantsRepo, type Store } from '../runtime/store/index.ts';
import { startAdminServer } from '../runtime/admin/index.ts';
import { catalogReporter } from '../runtime/admin/catalog-report.ts';
import { consoleDist } from '../runtime/admin/console.ts';
import { startRecorder, type Recorder } from './fixtures/call/harness.ts';
import { HELPDESK_SPEC, governedClient, helpdeskAnswer, serveGoverned, type ToolResult } from './helpers/governed.ts';
import { generateInto, root, tempDir } from './helpers/e2e.ts';

// These run inside the page (puppeteer serialises them); the project compiles without the DOM lib.
declare const document: { querySelectorAll(s: string): Iterable<{ innerText: string; textContent: string | null }> & { length: number }; querySelector(s: string): { textContent: string | null } | null };
declare const location: { hash: string };
interface HTMLElement { innerText: string }
interface HTMLInputElement { value: string }

/** The browser: $SPECGATE_CHROMIUM, else Debian's chromium on the PATH. */
function findChromium(): string | undefined {
  if (process.env.SPECGATE_CHROMIUM) return process.env.SPECGATE_CHROMIUM;
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    const found = spawnSync('which', [name], { encoding: 'utf8' });
    if (found.status === 0) return found.stdout.trim();
  }
  return undefined;
}

const chromium = findChromium();
const shots = process.env.SPECGATE_SCREENSHOTS ? path.resolve(process.env.SPECGATE_SCREENSHOTS) : undefined;
// A held call needs a high-risk tool: the helpdesk fixture with its ticket read marked high.
const SPEC = HELPDESK_SPEC.replace('    name: helpdesk_get_ticket\n    customer: false', '    name: helpdesk_get_ticket\n    customer: false\n    riskTier: high');

if (!chromium) {
  describe('operator console in a browser', () => {
    it('needs Chromium', () => {
      throw new Error('no Chromium found: apt-get install -y chromium (or set SPECGATE_CHROMIUM); .ci/run installs it');
    });
  });
}

describe.skipIf(!chromium)('operator console in a browser', () => {
  const dir = tempDir('console-browser');
  let store: Store;
  let mcp: FastifyInstance;
  let admin: FastifyInstance;
  let upstream: Recorder;
  let browser: Browser;
  let page: Page;
  let consoleUrl: string;
  let mcpUrl: string;
  let opsKey: string;
  let technicianKey: string;
  const monthStart = (offset: number) => {
    const now = new Date();
    return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1));
  };
  const seeded = { calls: 0, units: 0, errors: 0, refused: 0 };

  beforeAll(async () => {
    if (!fs.existsSync(path.join(consoleDist(), 'index.html'))) {
      execFileSync(process.execPath, ['--import', 'tsx', path.join(root, 'scripts', 'build-console.ts')], { cwd: root, stdio: 'inherit' });
    }
    fs.writeFileSync(path.join(dir, 'helpdesk.yaml'), SPEC);
    await generateInto([path.join(dir, 'helpdesk.yaml')], path.join(dir, 'generated'));
    upstream = await startRecorder((u) => ({ body: helpdeskAnswer(u) }), '/api');
    store = await openStore(`sqlite:${path.join(dir, 'store.db')}`);
    const tenants = tenantsRepo(store);
    await tenants.createTenant({ id: 'msp-a', name: 'MSP A' });
    for (const [id, name, vendorId] of [['acme', 'ACME Corp', '11'], ['globex', 'Globex', '22']]) {
      await tenants.createCustomer({ tenantId: 'msp-a', id, name });
      await tenants.setVendorId(id, 'helpdesk', vendorId);
    }
    await settingsRepo(store).grant('msp-a', 'helpdesk', '*');
    technicianKey = (await apiKeysRepo(store).create({ tenantId: 'msp-a', subject: 'tina', roles: ['technician'] })).key;
    opsKey = (await adminKeysRepo(store).create({ subject: 'ops-olga' })).key;

    // Last month's traffic: each day, 4 executed calls (one an error) and 1 refusal, split over both customers.
    const from = monthStart(-1);
    const days = Math.round((monthStart(0).getTime() - from.getTime()) / 86_400_000);
    for (let d = 0; d < days; d++) {
      const audit = auditRepo(store, () => new Date(from.getTime() + d * 86_400_000 + 20 * 3_600_000));
      const day = new Date(from.getTime() + d * 86_400_000).toISOString().slice(0, 10);
      for (let i = 0; i < 4; i++) {
        await insertUsageIn(store.db, {
          callId: `seed-${d}-${i}`, tenantId: 'msp-a', customerId: i % 2 ? 'acme' : 'globex', subject: 'tina', connector: 'helpdesk',
          tool: i < 2 ? 'helpdesk_list_tickets' : 'helpdesk_get_article', outcome: i === 3 ? 'error' : 'ok', latencyMs: 80 + 40 * i + d, upstreamBytes: 100, units: 1,
          at: `${day}T${String(9 + i).padStart(2, '0')}:00:00.000Z`,
        }, () => new Date());
      }
      await audit.append('msp-a', { outcome: 'refused', tool: 'helpdesk_get_ticket', customer: 'acme', subject: 'tina', reason: 'quota exhausted', step: 'quota', decisionId: `dec-${d}` });
      seeded.calls += 5;
      seeded.units += 4;
      seeded.errors += 1;
      seeded.refused += 1;
    }

    const logger = pino({ level: 'silent' });
    let runtime;
    ({ app: mcp, url: mcpUrl, runtime } = await serveGoverned(store, { generatedDir: path.join(dir, 'generated'), upstreams: { helpdesk: { baseUrl: upstream.url } }, logger }));
    admin = await startAdminServer({ store, port: 0, logger, catalog: catalogReporter(runtime) });
    const a = admin.server.address();
    consoleUrl = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
    browser = await puppeteer.launch({ executablePath: chromium, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
    page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    if (shots) fs.mkdirSync(shots, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await admin?.close();
    await mcp?.close();
    await upstream?.close();
    await store?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const shoot = async (name: string) => {
    if (shots) await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
  };
  const text = (selector: string) => page.$eval(selector, (e) => (e as HTMLElement).innerText);
  const waitText = (selector: string, expected: string) =>
    page.waitForFunction((s, t) => [...document.querySelectorAll(s)].some((e) => (e as HTMLElement).innerText.includes(t)), { timeout: 30_000 }, selector, expected);
  const go = async (route: string) => {
    await page.evaluate((r) => { location.hash = r; }, route);
  };

  it('refuses a wrong key and signs in with an admin key', async () => {
    await page.goto(`${consoleUrl}/`, { waitUntil: 'networkidle0' });
    expect(page.url()).toBe(`${consoleUrl}/console/`);
    await page.type('#admin-key', 'sga_not-a-key');
    await page.click('form[aria-label="Sign in"] button[type=submit]');
    await waitText('[role=alert]', 'not valid');
    await page.$eval('#admin-key', (e) => { (e as HTMLInputElement).value = ''; });
    await page.type('#admin-key', opsKey);
    await page.click('form[aria-label="Sign in"] button[type=submit]');
    await waitText('.who', 'ops-olga');
    expect(await text('.who')).toContain('global');
  });

  it('shows last month’s usage: the totals seeded, a chart, top tools and customers', async () => {
    await go('#/usage');
    await page.waitForSelector('select');
    const periodSelect = await page.$('section[aria-labelledby=usage-h] form select');
    await periodSelect!.select('last-month');
    await page.waitForFunction((n) => document.querySelector('[data-kpi=calls]')?.textContent === n, { timeout: 30_000 }, seeded.calls.toLocaleString('en'));
    expect(await text('[data-kpi=units]')).toBe(seeded.units.toLocaleString('en'));
    expect(await text('[data-kpi=errors]')).toBe(seeded.errors.toLocaleString('en'));
    expect(await text('[data-kpi=refused]')).toBe(seeded.refused.toLocaleString('en'));
    expect(await page.$$eval('figure.chart canvas', (c) => c.length)).toBeGreaterThanOrEqual(2);
    await waitText('table caption', 'Top tools by calls');
    const topTools = await page.$$eval('table', (ts) => ts.filter((t) => t.caption?.innerText.startsWith('Top tools')).map((t) => [...t.querySelectorAll('tbody tr')].map((r) => (r.children[0] as HTMLElement).innerText)));
    expect(topTools[0]).toEqual(['helpdesk_get_article', 'helpdesk_list_tickets', 'helpdesk_get_ticket']);
    await shoot('usage');
  });

  it('filters the audit by customer and outcome, newest first, and shows a record’s decision', async () => {
    await go('#/audit');
    await page.waitForSelector('form[aria-label="Audit filters"]');
    await page.type('input[name=customer]', 'acme');
    await page.select('select[name=outcome]', 'refused');
    await page.click('form[aria-label="Audit filters"] button[type=submit]');
    await waitText('table caption', 'Audit records, newest first');
    await page.waitForFunction((n) => document.querySelectorAll('tbody tr').length === n, { timeout: 30_000 }, Math.min(seeded.refused, 50));
    const rows = await page.$$eval('tbody tr', (rs) => rs.map((r) => [...r.children].map((c) => (c as HTMLElement).innerText)));
    expect(rows.every((r) => r[2] === 'refused' && r[4] === 'acme')).toBe(true);
    const seqs = rows.map((r) => Number(r[0]));
    expect(seqs).toEqual([...seqs].sort((x, y) => y - x));
    await page.focus('tbody tr');
    await page.keyboard.press('Enter');
    await waitText('.detail', 'Decision id');
    expect(await text('.detail')).toMatch(/dec-\d+/);
    expect(await text('.detail')).toContain('quota exhausted');
    expect(await text('[data-verify]')).toMatch(/Chain verified: \d+ records/);
    await shoot('audit');
  });

  it('approves a call that policy held, and the call then completes', async () => {
    const client = await governedClient(mcpUrl, { authorization: `Bearer ${technicianKey}` });
    const held = await client.callTool({ name: 'helpdesk_get_ticket', arguments: { id: 7 } }) as ToolResult;
    expect(held.isError).toBe(true);
    expect(held.content[0].text).toMatch(/approv/i);
    await go('#/approvals');
    await page.waitForSelector('[data-approval]');
    expect(await text('[data-approval]')).toContain('helpdesk_get_ticket');
    await page.type('[data-approval] textarea', 'customer called, ticket 7 is theirs');
    await page.click('[data-approval] button:not(.danger)');
    await waitText('p.muted', 'No pending approval requests');
    const done = await client.callTool({ name: 'helpdesk_get_ticket', arguments: { id: 7 } }) as ToolResult;
    expect(done.isError).toBeFalsy();
    expect(upstream.requests.some((r) => r.url.includes('/tickets/7'))).toBe(true);
    await client.close();
    await page.select('section[aria-labelledby=approvals-h] select', 'used');
    await waitText('[data-approval]', 'customer called');
    await shoot('approvals');
  });

  it('creates a key, shown once, that the gateway accepts', async () => {
    await go('#/setup');
    await page.waitForSelector('form[aria-label="Create key"]');
    await page.type('form[aria-label="Create key"] input[name=subject]', 'new-tech');
    await page.type('form[aria-label="Create key"] input[name=roles]', 'technician');
    await page.click('form[aria-label="Create key"] button[type=submit]');
    await page.waitForSelector('[data-new-key]');
    const key = await text('[data-new-key]');
    expect(key).toMatch(/^sg_/);
    expect(await text('.secret')).toMatch(/shown once/i);
    await shoot('setup');
    await page.click('.secret button');
    expect(await page.$('[data-new-key]')).toBeNull();
    const client = await governedClient(mcpUrl, { authorization: `Bearer ${key}`, 'specgate-customer': 'acme' });
    const list = await client.callTool({ name: 'helpdesk_list_tickets', arguments: {} }) as ToolResult;
    expect(list.isError).toBeFalsy();
    await client.close();
    const trail = await auditRepo(store).search({ tenant: 'msp-a', order: 'desc', limit: 5 });
    expect(trail.some((e) => e.record.action === 'key.create' && e.record.subject === 'ops-olga')).toBe(true);
  });

  it('shows the catalog with scope, token cost and upstream health', async () => {
    await go('#/catalog');
    await waitText('table caption', 'Connectors and upstream health');
    const connectors = await page.$$eval('table', (ts) => ts.find((t) => t.caption?.innerText.startsWith('Connectors'))!.innerText);
    expect(connectors).toContain('helpdesk');
    expect(connectors).toContain('closed');
    const tools = await page.$$eval('table', (ts) => [...ts.find((t) => t.caption?.innerText === 'Tools')!.querySelectorAll('tbody tr')].map((r) => (r.children[0] as HTMLElement).innerText));
    expect(tools).toEqual(['helpdesk_get_article', 'helpdesk_get_ticket', 'helpdesk_list_tickets']);
    await shoot('catalog');
  });
});
