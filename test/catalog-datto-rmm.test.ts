/**
 * specs/datto-rmm.yaml against a recording upstream: the site uid reaches Datto RMM in the path and
 * the site's integer id (the named id siteId) in the activity log's siteIds, whatever the
 * arguments say; device and audit routes are reached only after the device is found to be the
 * customer's; Datto's next-page URLs are followed only on its own host and site; shaping drops
 * what it should (the proxy password, user-defined fields of a list).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveVendorDocs, vendorDocsMissing } from './helpers/e2e.ts';
import { connectorUnderTest, structured, type ConnectorUnderTest } from './fixtures/catalog-vendors/harness.ts';
import { createAuthenticator, resolveTokenUrl } from '../runtime/credentials/authenticate.ts';
import { createToolCaller } from '../runtime/call.ts';
import { startOAuthServer, type OAuthServer } from './fixtures/credentials/oauth-server.ts';

const SITE = 'a1b2c3d4-0000-4000-8000-000000000042';
const OTHER = 'ffffffff-0000-4000-8000-000000000043';
const SITE_ID = '9001';
const PROXY_PASSWORD = 'proxy-pass-never-shown';
/** The recording upstream's origin, where Datto's next-page URLs point (set once it runs). */
let origin = '';
/** How the activity log's next-page URL is tampered with, for the refusal tests. */
let nextUrlTamper: 'host' | 'site' | undefined;

function device(uid: string, siteUid = SITE) {
  return {
    id: 1, uid, siteId: 9001, siteUid, siteName: 'Happy Frog', deviceType: { category: 'Server', type: 'Main System Chassis' }, hostname: `SRV-${uid}`,
    operatingSystem: 'Windows Server 2022', online: true, rebootRequired: true, lastSeen: '2024-06-01T10:00:00Z', lastLoggedInUser: 'ACME\\bob',
    patchManagement: { patchStatus: 'InstallError', patchesApprovedPending: 3, patchesNotApproved: 1, patchesInstalled: 120 },
    antivirus: { antivirusProduct: 'Datto AV', antivirusStatus: 'RunningAndUpToDate' }, udf: { udf1: 'licence-key-in-udf' },
  };
}

function alert(i: number, siteUid = SITE) {
  return { alertUid: `al-${i}`, priority: 'High', diagnostics: 'Disk C: 95% full', timestamp: '2024-06-01T10:00:00Z', muted: false, alertSourceInfo: { deviceUid: 'd1', deviceName: 'SRV-d1', siteUid, siteName: 'Happy Frog' } };
}

function page(url: URL, key: string, row: (i: number) => unknown, full = 2) {
  const max = Number(url.searchParams.get('max') ?? 50);
  const at = Number(url.searchParams.get('page') ?? 0);
  const n = at < full ? max : 1;
  return { pageDetails: { count: n, totalCount: full * max + 1, nextPageUrl: at < full ? `${origin}${url.pathname}?page=${at + 1}&max=${max}` : null }, [key]: Array.from({ length: n }, (_, i) => row(at * 100 + i)) };
}

function reply(url: URL): { body: unknown } {
  const p = url.pathname;
  if (p === '/v2/account/sites') return { body: page(url, 'sites', (i) => ({ uid: i ? OTHER : SITE, id: 9001 + i, name: i ? 'Other Co' : 'Happy Frog', devicesStatus: { numberOfDevices: 12 }, proxySettings: { password: PROXY_PASSWORD } }), 0) };
  if (p === '/v2/account/components') return { body: page(url, 'components', (i) => ({ uid: `c${i}`, name: 'Clean temp', categoryCode: 'scripts' }), 0) };
  if (p === '/v2/filter/default-filters' || p.endsWith('/filters')) return { body: page(url, 'filters', (i) => ({ id: i, name: 'Servers', type: 'rmm_default' }), 0) };
  if (p === `/v2/site/${SITE}`) return { body: { uid: SITE, id: 9001, name: 'Happy Frog', devicesStatus: { numberOfDevices: 12, numberOfOnlineDevices: 10, numberOfOfflineDevices: 2 }, proxySettings: { host: 'proxy', password: PROXY_PASSWORD } } };
  if (p.endsWith('/settings')) return { body: { generalSettings: { uid: SITE, name: 'Happy Frog' }, proxySettings: { host: 'proxy.acme', port: 3128, type: 'http', username: 'px', password: PROXY_PASSWORD }, mailRecipients: [{ name: 'Ops', email: 'ops@frog.example', receivesAlerts: true }] } };
  if (p.endsWith('/devices/network-interface')) return { body: page(url, 'devices', (i) => ({ uid: `d${i}`, siteUid: SITE, hostname: `PC${i}`, intIpAddress: '10.0.0.5', nics: [{ mac: '00:11' }] }), 0) };
  if (p.endsWith('/devices')) return { body: page(url, 'devices', (i) => device(`d${i}`)) };
  if (/\/alerts\/(open|resolved)$/.test(p)) return { body: page(url, 'alerts', (i) => alert(i), 0) };
  if (p.startsWith('/v2/alert/')) return { body: { ...alert(1), alertContext: { '@class': 'perf_disk_usage_ctx', percentage: 95 }, responseActions: [{ actionType: 'TICKET_CREATED', description: 'T#1' }] } };
  if (/^\/v2\/device\/[^/]+$/.test(p)) return { body: device(p.split('/')[3]!) };
  if (p.endsWith('/software')) return { body: page(url, 'software', (i) => ({ name: `App ${i}`, version: '1.0' }), 0) };
  if (p.startsWith('/v2/audit/device/')) return { body: { systemInfo: { manufacturer: 'Dell', model: 'R740', totalCpuCores: 16 }, bios: { serialNumber: 'SVC123' }, logicalDisks: [{ diskIdentifier: 'C:', size: 100, freespace: 5 }] } };
  if (p.startsWith('/v2/audit/printer/')) return { body: { systemInfo: { model: 'HP M404' }, printerMarkerSupplies: [{ description: 'Black toner', suppliesLevel: '5' }] } };
  if (p.startsWith('/v2/audit/esxihost/')) return { body: { systemInfo: { model: 'R740' }, guests: [{ guestName: 'DC01' }], datastores: [{ datastoreName: 'ds1', size: 10, freeSpace: 1 }] } };
  if (p.endsWith('/stdout')) return { body: [{ componentUid: 'c1', componentName: 'Clean temp', stdData: 'removed 3 files' }] };
  if (p.startsWith('/v2/job/')) return { body: { jobUid: 'j1', deviceUid: 'd1', ranOn: '2024-06-01T10:00:00Z', jobDeploymentStatus: 'Success', componentResults: [{ componentName: 'Clean temp', componentStatus: 'Success', hasStdOut: true }] } };
  if (p === '/v2/activity-logs') {
    // The first page names the next by a search-after token; the second is the last.
    const next = new URL(`${origin}${p}?${url.searchParams}`);
    next.searchParams.set('searchAfter', '1717236000500,act-2');
    next.searchParams.set('page', 'next');
    if (nextUrlTamper === 'host') next.host = 'evil.example:443';
    if (nextUrlTamper === 'site') next.searchParams.set('siteIds', '9002');
    const nextPageUrl = url.searchParams.has('searchAfter') ? null : next.toString();
    return { body: { pageDetails: { count: 3, nextPageUrl }, activities: [0, 1, 2].map((i) => ({ id: `act-${i}`, entity: 'DEVICE', category: 'job', action: 'deployment', date: 1717236000.5, site: { id: i === 1 ? 9002 : 9001, name: i === 1 ? 'Other Co' : 'Happy Frog' }, hostname: `PC${i}`, details: i === 1 ? 'other-site-details' : 'ran Clean temp' })) } };
  }
  return { body: { error: `unexpected ${p}` } };
}

describe.skipIf(!haveVendorDocs)(`the datto_rmm connector${haveVendorDocs ? '' : ` (${vendorDocsMissing})`}`, () => {
  let c: ConnectorUnderTest;
  beforeAll(async () => {
    c = await connectorUnderTest('datto_rmm', reply, { spec: 'datto-rmm.yaml' });
    origin = new URL(c.recorder.url).origin;
  }, 60_000);
  afterAll(async () => c?.close());

  it('generates 12-25 tools with no warning, and only the directory and reference data are tenant-wide', () => {
    expect(c.diagnostics).toEqual([]);
    expect(c.catalog.tools.length).toBeGreaterThanOrEqual(12);
    expect(c.catalog.tools.length).toBeLessThanOrEqual(25);
    const tenant = c.catalog.tools.filter((t) => t.scope?.kind === 'tenant').map((t) => t.name).sort();
    expect(tenant).toEqual(['datto_rmm_list_components', 'datto_rmm_list_default_filters', 'datto_rmm_list_sites']);
    for (const t of c.catalog.tools) {
      const props = Object.keys((t.inputSchema as { properties?: object }).properties ?? {});
      expect(props, t.name).not.toContain('siteUid');
      expect(props, t.name).not.toContain('siteIds');
    }
  });

  it('answers every tool, called with the arguments a model would send', async () => {
    expect(await c.failingTools(SITE, { siteId: SITE_ID })).toEqual([]);
  });

  it('puts the customer\'s site uid in the path; a siteUid argument and a call without a customer are refused before Datto RMM', async () => {
    const out = structured(await c.call('datto_rmm_get_site', {}, SITE));
    expect(c.last().path).toBe(`/v2/site/${SITE}`);
    expect(out.result).toMatchObject({ uid: SITE, name: 'Happy Frog', devices: 12, online: 10, offline: 2 });
    expect(JSON.stringify(out)).not.toContain(PROXY_PASSWORD);
    const { forged, none, upstreamCalls } = await c.refusals('datto_rmm_list_devices', {}, { siteUid: OTHER }, SITE);
    expect(forged.isError).toBe(true);
    expect(forged.content[0].text).toContain('siteUid');
    expect(none.isError).toBe(true);
    expect(none.content[0].text).toMatch(/customer/i);
    expect(upstreamCalls).toBe(0);
  });

  it('never shows the site proxy\'s password, even in the settings', async () => {
    const result = await c.call('datto_rmm_get_site_settings', {}, SITE);
    const out = structured(result);
    expect(out.result.proxy).toEqual({ host: 'proxy.acme', port: 3128, type: 'http' });
    expect(out.result.mail_recipients).toEqual([{ name: 'Ops', email: 'ops@frog.example', alerts: true }]);
    expect(JSON.stringify(result)).not.toContain(PROXY_PASSWORD);
  });

  it('pages devices by Datto\'s next-page URL and stops after the last page; the list leaves out user-defined fields', async () => {
    const first = structured(await c.call('datto_rmm_list_devices', { limit: 3 }, SITE));
    expect(c.last()).toMatchObject({ path: `/v2/site/${SITE}/devices`, query: { max: '3' } });
    expect(first.result[0]).toMatchObject({ uid: 'd0', hostname: 'SRV-d0', reboot_required: true, patch_status: 'InstallError', patches_pending: 3, antivirus_status: 'RunningAndUpToDate' });
    expect(JSON.stringify(first)).not.toContain('licence-key-in-udf');
    const second = structured(await c.call('datto_rmm_list_devices', { limit: 3, cursor: first.nextCursor }, SITE));
    expect(c.last().query).toEqual({ page: '1', max: '3' });
    expect(second.result[0].uid).toBe('d100');
    const third = structured(await c.call('datto_rmm_list_devices', { limit: 3, cursor: second.nextCursor }, SITE));
    expect(third.result).toHaveLength(1);
    expect(third.nextCursor).toBeUndefined();
  });

  it('reads a device\'s audit only after reading the device and finding it the customer\'s', async () => {
    const before = c.recorder.requests.length;
    const out = structured(await c.call('datto_rmm_get_device_audit', { device_uid: 'd7' }, SITE));
    expect(c.recorder.requests.slice(before).map((r) => r.url)).toEqual(['/v2/device/d7', '/v2/audit/device/d7']);
    expect(out.result).toMatchObject({ manufacturer: 'Dell', model: 'R740', serial_number: 'SVC123', disks: [{ disk: 'C:', size: 100, free: 5 }] });
  });

  it('filters the activity log by the site\'s integer id (the named id siteId), and withholds another site\'s entries', async () => {
    const result = await c.call('datto_rmm_list_activities', { from_date: '2024-06-01T00:00:00Z' }, SITE, { siteId: SITE_ID });
    const out = structured(result);
    expect(c.last().query).toEqual({ siteIds: SITE_ID, from: '2024-06-01T00:00:00Z', order: 'desc', size: '50' });
    expect(out.result.map((a: { id: string }) => a.id)).toEqual(['act-0', 'act-2']);
    expect(out.truncated).toMatchObject({ reason: 'otherCustomers', withheld: 1 });
    expect(JSON.stringify(result)).not.toContain('other-site-details');
  });

  it('refuses the activity log when the customer has no siteId recorded, naming what to map', async () => {
    const before = c.recorder.requests.length;
    const r = await c.call('datto_rmm_list_activities', {}, SITE, {});
    expect(r.isError).toBe(true);
    expect(r.content[0].text).toContain('siteId');
    expect(c.recorder.requests.length).toBe(before);
  });

  it('follows the activity log\'s search-after URL to the next page, the site binding and fixed order kept', async () => {
    const first = structured(await c.call('datto_rmm_list_activities', { from_date: '2024-06-01T00:00:00Z', limit: 3 }, SITE, { siteId: SITE_ID }));
    expect(first.nextCursor).toBeTypeOf('string');
    await c.call('datto_rmm_list_activities', { limit: 3, cursor: first.nextCursor }, SITE, { siteId: SITE_ID });
    expect(c.last().query).toEqual({ siteIds: SITE_ID, from: '2024-06-01T00:00:00Z', order: 'desc', size: '3', searchAfter: '1717236000500,act-2', page: 'next' });
  });

  it('refuses a next-page URL on another host, or one that names another site, without calling anything', async () => {
    for (const tamper of ['host', 'site'] as const) {
      nextUrlTamper = tamper;
      try {
        const first = structured(await c.call('datto_rmm_list_activities', { limit: 3 }, SITE, { siteId: SITE_ID }));
        const before = c.recorder.requests.length;
        const r = await c.call('datto_rmm_list_activities', { limit: 3, cursor: first.nextCursor }, SITE, { siteId: SITE_ID });
        expect(r.isError, tamper).toBe(true);
        expect(r.content[0].text, tamper).toContain('next-page URL was not followed');
        expect(r.content[0].text, tamper).toContain(tamper === 'host' ? 'evil.example' : 'siteIds');
        expect(c.recorder.requests.length, tamper).toBe(before);
      } finally {
        nextUrlTamper = undefined;
      }
    }
  });

  it('lists the MSP\'s sites without a customer, by name', async () => {
    const out = structured(await c.call('datto_rmm_list_sites', { name: 'Frog' }));
    expect(c.last().query).toEqual({ siteName: 'Frog', max: '50' });
    expect(out.result[0]).toEqual({ uid: SITE, id: 9001, name: 'Happy Frog', devices: 12 });
    expect(JSON.stringify(out)).not.toContain(PROXY_PASSWORD);
  });

  describe('authentication (the spec\'s password grant against a local OAuth2 server)', () => {
    const API_KEY = 'datto-api-key-planted-5a1e';
    const SECRET_KEY = 'datto-secret-key-planted-77c0';
    let server: OAuthServer;
    beforeAll(async () => {
      server = await startOAuthServer({ publicClient: { id: 'public-client', secret: 'public' }, username: API_KEY, password: SECRET_KEY, client: { id: 'unused', secret: 'unused', scope: 'unused' } });
    });
    afterAll(() => server?.close());

    it('takes the token URL from the spec with the account\'s platform', () => {
      const model = c.catalog.connectors[0]!.model;
      expect(model.auth.oauth2).toEqual({ grant: 'password', tokenUrl: 'https://{platform}-api.centrastage.net/auth/oauth/token', clientId: 'public-client' });
      expect(resolveTokenUrl(model, model.auth.oauth2!.tokenUrl, 'https://zinfandel-api.centrastage.net/api', { platform: 'zinfandel' })).toBe('https://zinfandel-api.centrastage.net/auth/oauth/token');
    });

    it('calls a tool with a token from the password grant: the spec\'s public client in HTTP Basic, the API keys as username and password, never shown', async () => {
      const model = c.catalog.connectors[0]!;
      const baseUrl = `${server.origin}/api`;
      const authenticate = createAuthenticator(model.model, { kind: 'oauth2-password', username: API_KEY, password: SECRET_KEY, clientSecret: 'public', tokenUrl: `${server.origin}/auth/oauth/token` }, { baseUrl });
      const caller = createToolCaller({ connectors: [model], upstreams: { datto_rmm: { baseUrl, authenticate } }, retries: 0 });
      try {
        const r = await caller.callTool(c.tool('datto_rmm_get_site'), {}, { requestId: 'auth', signal: new AbortController().signal, customerIds: { datto_rmm: SITE } });
        expect(server.tokenRequests).toHaveLength(1);
        expect(server.tokenRequests[0]!.authorization).toBe(`Basic ${Buffer.from('public-client:public').toString('base64')}`);
        expect(Object.fromEntries(server.tokenRequests[0]!.form)).toEqual({ grant_type: 'password', username: API_KEY, password: SECRET_KEY });
        // The vendor saw a live token (its customer '' is the password grant's) on the bound route.
        expect(server.apiRequests).toEqual([expect.objectContaining({ path: `/api/v2/site/${SITE}`, customer: '' })]);
        expect(JSON.stringify(r)).not.toContain(API_KEY);
        expect(JSON.stringify(r)).not.toContain(SECRET_KEY);
      } finally {
        await caller.close();
      }
    });
  });
});
