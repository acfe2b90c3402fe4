/**
 * specs/sentinelone.yaml served by the governed runtime over HTTP to the official MCP client,
 * acting for one customer, against a recording SentinelOne upstream: every tool is called, the
 * customer's site id reaches SentinelOne as `siteIds` (or the /sites/{site_id} path) whatever the
 * arguments say, the API token goes out as `Authorization: ApiToken <token>`, cursor pagination
 * follows `pagination.nextCursor`, and shaping keeps registration tokens and raw fields away.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import type { FastifyInstance } from 'fastify';
import { apiKeysRepo, openStore, settingsRepo, tenantsRepo, type Store } from '../runtime/store/index.ts';
import { loadCatalog, type Catalog } from '../runtime/catalog.ts';
import { generateInto, haveVendorDocs, root, tempDir, vendorDocsMissing } from './helpers/e2e.ts';
import { governedClient, serveGoverned, type ToolResult } from './helpers/governed.ts';
import { startRecorder, type Recorder } from './fixtures/call/harness.ts';
import { sampleArguments } from './helpers/sample-args.ts';

const TENANT = 'secops-msp';
// SentinelOne ids are 18-digit strings, beyond a JSON number's exact range.
const A = { id: 'contoso', site: '225494730938493804' };
const B = { id: 'fabrikam', site: '225494730938493915' };
const TOKEN = 's1-api-token-never-shown';
const REGISTRATION = 'eyJ1cmwiOiAiaHR0cHM6Ly9yZWdpc3RyYXRpb24tdG9rZW4ifQ==';
const API = '/web/api/v2.1';

/** What SentinelOne answers, each record naming the site the request asked for. */
function reply(url: URL): unknown {
  const site = url.searchParams.get('siteIds') ?? '';
  const p = url.pathname.slice(API.length);
  const page = (data: unknown[]) => ({ data, pagination: { totalItems: 3, nextCursor: url.searchParams.get('cursor') ? null : 'YWdlbnRJZDo5OTk=' } });
  const threat = (id: string) => ({
    id, threatInfo: { threatName: 'EICAR.com', classification: 'Malware', confidenceLevel: 'malicious', analystVerdict: 'true_positive', incidentStatus: 'unresolved', mitigationStatus: 'mitigated', filePath: '\\Device\\HarddiskVolume3\\Users\\jane\\Downloads\\eicar.com', sha1: '3395856ce81f2b7382dee72602f798b642f14140', engines: ['SentinelOne Cloud'], rebootRequired: false, createdAt: '2026-12-01T09:00:00Z' },
    agentRealtimeInfo: { agentId: '1111', agentComputerName: 'CONTOSO-LT-07', siteId: site, siteName: 'Contoso', agentMitigationMode: 'protect' },
    agentDetectionInfo: { siteId: site, agentOsName: 'Windows 11 Pro', agentLastLoggedInUserName: 'jane', agentIpV4: '10.0.0.7' },
    mitigationStatus: [{ action: 'quarantine', status: 'success', mitigationStartedAt: '2026-12-01T09:00:01Z', mitigationEndedAt: '2026-12-01T09:00:02Z', actionsCounters: { total: 1, success: 1, failed: 0, notFound: 0, pendingReboot: 0 } }],
    indicators: [{ category: 'Malware', description: 'Known malicious file', tactics: [] }],
  });
  const agent = (id: string) => ({ id, uuid: 'a1b2', computerName: 'CONTOSO-LT-07', siteId: site, osName: 'Windows 11 Pro', agentVersion: '23.4.2.14', isUpToDate: false, isActive: true, networkStatus: 'connected', infected: true, activeThreats: 1, lastActiveDate: '2026-12-04T08:00:00Z', userActionsNeeded: ['reboot_needed'], networkInterfaces: [{ name: 'Ethernet', inet: ['10.0.0.7'], physical: 'aa:bb:cc:dd:ee:ff' }] });
  const activity = (id: string) => ({ id, activityType: 19, primaryDescription: 'Threat quarantined', secondaryDescription: 'eicar.com', createdAt: '2026-12-01T09:00:02Z', siteId: site, agentId: '1111', threatId: '2222' });
  if (p === '/sites') return { data: { allSites: { activeLicenses: 70, totalLicenses: 100 }, sites: [{ id: A.site, name: 'Contoso', state: 'active', activeLicenses: 40, totalLicenses: 50, registrationToken: REGISTRATION }, { id: B.site, name: 'Fabrikam', state: 'active', activeLicenses: 30, totalLicenses: 50, registrationToken: REGISTRATION }] }, pagination: { totalItems: 2, nextCursor: null } };
  if (p.startsWith('/sites/')) return { data: { id: decodeURIComponent(p.slice('/sites/'.length)), name: 'Contoso', sku: 'Complete', activeLicenses: 40, totalLicenses: 50, registrationToken: REGISTRATION } };
  if (p === '/threats') return page([threat('2222'), threat('2223')]);
  if (/^\/threats\/[^/]+\/timeline$/.test(p)) return page([activity('3333')]);
  if (p === '/agents') return page([agent('1111'), agent('1112')]);
  if (p === '/agents/count') return { data: { total: 42 } };
  if (p === '/activities') return page([activity('3333'), activity('3334')]);
  if (p === '/activities/types') return { data: [{ id: 19, action: 'Threat quarantined', descriptionTemplate: 'Threat {{ threat }} quarantined' }] };
  if (p === '/cloud-detection/alerts') return page([{ alertInfo: { alertId: '4444', severity: 'High', incidentStatus: 'UNRESOLVED', createdAt: '2026-12-02T10:00:00Z' }, ruleInfo: { name: 'Mimikatz', severity: 'High' }, agentDetectionInfo: { siteId: site, name: 'CONTOSO-DC01', osName: 'Windows Server 2022' }, sourceProcessInfo: { name: 'powershell.exe', commandline: 'powershell -enc ...', user: 'CONTOSO\\admin' } }]);
  if (p === '/exclusions') return page([{ id: '5555', type: 'path', value: 'C:\\Program Files\\LOB\\*', osType: 'windows', mode: 'suppress', scopeName: 'Contoso', userName: 'tech@msp', createdAt: '2026-11-01T00:00:00Z' }]);
  if (p === '/installed-applications') return page([{ id: '6666', name: '7-Zip', version: '19.00', publisher: 'Igor Pavlov', riskLevel: 'high', agentComputerName: 'CONTOSO-LT-07', agentId: '1111' }]);
  if (p === '/installed-applications/cves') return page([{ id: '7777', cveId: 'CVE-2022-29072', riskLevel: 'high', score: 7.8, applicationName: '7-Zip', applicationVendor: 'Igor Pavlov' }]);
  if (p === '/groups') return page([{ id: '8888', name: 'Laptops', siteId: site, type: 'static', totalAgents: 12, registrationToken: REGISTRATION }]);
  if (p === '/update/agent/packages') return page([{ id: '9999', version: '24.1.4.257', osType: 'windows', status: 'ga', fileName: 'SentinelInstaller.exe' }]);
  return undefined;
}

describe.skipIf(!haveVendorDocs)(`the sentinelone connector${haveVendorDocs ? '' : ` (${vendorDocsMissing})`}`, () => {
  const dir = tempDir('catalog-sentinelone');
  let catalog: Catalog;
  let store: Store;
  let recorder: Recorder;
  let app: FastifyInstance;
  let client: Client;
  let msp: Client;

  beforeAll(async () => {
    const out = path.join(dir, 'generated');
    await generateInto([path.join(root, 'specs', 'sentinelone.yaml')], out);
    catalog = await loadCatalog(out);
    recorder = await startRecorder((url) => {
      const body = reply(url);
      return body === undefined ? { status: 404, body: { errors: [{ code: 4040010, detail: 'not found' }] } } : { body };
    }, '');

    store = await openStore(`sqlite:${path.join(dir, 'store.db')}`);
    const tenants = tenantsRepo(store);
    await tenants.createTenant({ id: TENANT, name: 'SecOps MSP' });
    for (const c of [A, B]) {
      await tenants.createCustomer({ id: c.id, tenantId: TENANT, name: c.id });
      await tenants.setVendorId(c.id, 'sentinelone', c.site);
    }
    await settingsRepo(store).grant(TENANT, 'sentinelone', '*');
    const { key } = await apiKeysRepo(store).create({ tenantId: TENANT, subject: 'tech@secops', roles: ['technician'] });
    let url: string;
    ({ app, url } = await serveGoverned(store, {
      generatedDir: out,
      upstreamConfig: { sentinelone: { baseUrl: recorder.url, credential: { kind: 'apiKey', key: TOKEN } } },
    }));
    client = await governedClient(url, { authorization: `Bearer ${key}`, 'specgate-customer': A.id });
    msp = await governedClient(url, { authorization: `Bearer ${key}` });
  }, 120_000);
  afterAll(async () => {
    await client?.close();
    await msp?.close();
    await app?.close();
    await recorder?.close();
    await store?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const call = async (c: Client, name: string, args: Record<string, unknown>) => (await c.callTool({ name, arguments: args })) as unknown as ToolResult;
  const ok = (r: ToolResult) => {
    if (r.isError) throw new Error(`tool failed: ${r.content[0]?.text}`);
    return r.structuredContent as { result: any; nextCursor?: string };
  };
  const last = () => {
    const r = recorder.requests.at(-1)!;
    const u = new URL(r.url, 'http://x');
    return { path: decodeURIComponent(u.pathname), query: Object.fromEntries(u.searchParams), headers: r.headers };
  };

  it('has 12-25 tools, each scoped: the site directory and the activity types tenant-wide, the rest bound to the site', () => {
    expect(catalog.tools.length).toBeGreaterThanOrEqual(12);
    expect(catalog.tools.length).toBeLessThanOrEqual(25);
    const tenantWide = catalog.tools.filter((t) => t.scope?.kind === 'tenant').map((t) => t.name).sort();
    expect(tenantWide).toEqual(['sentinelone_list_activity_types', 'sentinelone_list_sites']);
    for (const t of catalog.tools.filter((x) => x.scope?.kind !== 'tenant')) {
      expect(t.customerParameters, t.name).toEqual([t.name === 'sentinelone_get_site' ? 'site_id' : 'siteIds']);
      expect(Object.keys((t.inputSchema as { properties: object }).properties), t.name).not.toContain('siteIds');
    }
  });

  it('calls every tool through the MCP client; each customer-data request carries the customer\'s site and the ApiToken header', async () => {
    const failures: string[] = [];
    for (const t of catalog.tools) {
      const before = recorder.requests.length;
      const r = await call(t.scope?.kind === 'tenant' ? msp : client, t.name, sampleArguments(t.inputSchema as Record<string, unknown>));
      if (r.isError) {
        failures.push(`${t.name}: ${r.content[0]?.text}`);
        continue;
      }
      expect(recorder.requests.length, t.name).toBe(before + 1);
      const sent = last();
      expect(sent.headers.authorization, t.name).toBe(`ApiToken ${TOKEN}`);
      if (t.scope?.kind === 'tenant') expect(sent.query.siteIds, t.name).toBeUndefined();
      else if (t.name === 'sentinelone_get_site') expect(sent.path).toBe(`${API}/sites/${A.site}`);
      else expect(sent.query.siteIds, t.name).toBe(A.site);
      expect(JSON.stringify(r), t.name).not.toContain(TOKEN);
    }
    expect(failures).toEqual([]);
  });

  it('refuses a siteIds argument, before SentinelOne sees anything', async () => {
    const before = recorder.requests.length;
    const forged = await call(client, 'sentinelone_list_threats', { siteIds: B.site });
    expect(forged.isError).toBe(true);
    expect(forged.content[0]?.text).toContain('siteIds');
    const forgedPath = await call(client, 'sentinelone_get_site', { site_id: B.site });
    expect(forgedPath.isError).toBe(true);
    expect(forgedPath.content[0]?.text).toContain('site_id');
    expect(recorder.requests.length).toBe(before);
  });

  it('keeps the site directory from a conversation about one customer, and answers it for the MSP', async () => {
    const before = recorder.requests.length;
    const refused = await call(client, 'sentinelone_list_sites', {});
    expect(refused.content[0]?.text).toBe('Refused by policy: this tool returns records of every customer; it is not available while acting for one customer');
    expect(recorder.requests.length).toBe(before);
    const out = ok(await call(msp, 'sentinelone_list_sites', { name: 'Contoso' }));
    expect(last().query).toMatchObject({ name: 'Contoso', limit: '25' });
    expect(out.result.map((s: { id: string }) => s.id)).toEqual([A.site, B.site]);
    expect(JSON.stringify(out)).not.toContain(REGISTRATION);
  });

  it('pages threats with limit and the vendor\'s nextCursor, staying on the customer\'s site', async () => {
    const first = ok(await call(client, 'sentinelone_list_threats', { limit: 2, resolved: false }));
    expect(last().query).toMatchObject({ siteIds: A.site, limit: '2', resolved: 'false', sortBy: 'createdAt', sortOrder: 'desc' });
    expect(last().query.cursor).toBeUndefined();
    expect(first.result).toHaveLength(2);
    expect(first.nextCursor).toBeTypeOf('string');
    expect(first.nextCursor).not.toContain('YWdlbnRJZDo5OTk='); // opaque: the vendor's cursor is sealed inside
    const second = ok(await call(client, 'sentinelone_list_threats', { limit: 2, resolved: false, cursor: first.nextCursor }));
    expect(last().query).toMatchObject({ siteIds: A.site, cursor: 'YWdlbnRJZDo5OTk=', limit: '2' });
    expect(second.nextCursor).toBeUndefined();
  });

  it('shapes a threat to what a technician reads, and its mitigation to the actions taken', async () => {
    const threat = ok(await call(client, 'sentinelone_get_threat', { threat_id: '2222' }));
    expect(last().query).toMatchObject({ ids: '2222', siteIds: A.site });
    expect(threat.result).toHaveLength(1);
    expect(threat.result[0]).toMatchObject({ id: '2222', name: 'EICAR.com', verdict: 'true_positive', computerName: 'CONTOSO-LT-07', engines: ['SentinelOne Cloud'], indicators: [{ category: 'Malware', description: 'Known malicious file' }] });
    expect(threat.result[0]).not.toHaveProperty('agentRealtimeInfo');
    const mitigation = ok(await call(client, 'sentinelone_get_threat_mitigation', { threat_id: '2222' }));
    expect(mitigation.result[0]).toMatchObject({ mitigationStatus: 'mitigated', rebootRequired: false, actions: [{ action: 'quarantine', status: 'success', counters: { total: 1, success: 1, failed: 0 } }] });
    const byAgent = ok(await call(client, 'sentinelone_list_agent_threats', { agent_id: '1111' }));
    expect(last().query).toMatchObject({ agentIds: '1111', siteIds: A.site });
    expect(byAgent.result[0]).not.toHaveProperty('computerName');
  });

  it('reports agent health and version, and out-of-date agents with the fixed filter', async () => {
    const agent = ok(await call(client, 'sentinelone_get_agent', { agent_id: '1111' }));
    expect(agent.result[0]).toMatchObject({ computerName: 'CONTOSO-LT-07', agentVersion: '23.4.2.14', isUpToDate: false, infected: true, userActionsNeeded: ['reboot_needed'], interfaces: [{ name: 'Ethernet', inet: ['10.0.0.7'] }] });
    ok(await call(client, 'sentinelone_list_outdated_agents', {}));
    expect(last().query).toMatchObject({ isUpToDate: 'false', isDecommissioned: 'false', siteIds: A.site });
    const count = ok(await call(client, 'sentinelone_count_agents', { infected: true }));
    expect(last().query).toMatchObject({ infected: 'true', siteIds: A.site });
    expect(count.result).toEqual({ total: 42 });
  });

  it('keeps registration tokens out of every result and site exclusions without the account\'s', async () => {
    const groups = await call(client, 'sentinelone_list_groups', {});
    expect(ok(groups).result[0]).toMatchObject({ name: 'Laptops', totalAgents: 12 });
    expect(JSON.stringify(groups)).not.toContain(REGISTRATION);
    const site = await call(client, 'sentinelone_get_site', {});
    expect(ok(site).result).toMatchObject({ id: A.site, sku: 'Complete', activeLicenses: 40 });
    expect(JSON.stringify(site)).not.toContain(REGISTRATION);
    ok(await call(client, 'sentinelone_list_exclusions', { type: 'path' }));
    expect(last().query).toMatchObject({ type: 'path', includeParents: 'false', includeChildren: 'false', siteIds: A.site });
  });

  it('rejects wrongly typed filters with the argument named (the overlay types what the document leaves as strings)', async () => {
    const before = recorder.requests.length;
    const r = await call(client, 'sentinelone_list_agents', { isActive: 'yes' });
    expect(r.isError).toBe(true);
    expect(r.content[0]?.text).toContain('isActive');
    const big = await call(client, 'sentinelone_list_agents', { limit: 5000 });
    expect(big.isError).toBe(true);
    expect(big.content[0]?.text).toContain('limit');
    expect(recorder.requests.length).toBe(before);
  });
});
