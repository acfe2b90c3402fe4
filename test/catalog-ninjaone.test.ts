/**
 * specs/ninjaone.yaml against a recording upstream: the organization id reaches NinjaOne as the
 * path's {id} or inside the `df` device filter whatever the arguments say, device routes are
 * reached only after the device is found to be the customer's, `after`/`olderThan`/report cursors
 * page, and shaping leaves out what a technician does not need (custom fields, user data).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveVendorDocs, vendorDocsMissing } from './helpers/e2e.ts';
import { connectorUnderTest, structured, type ConnectorUnderTest } from './fixtures/catalog-vendors/harness.ts';

const ORG = '42';
const SECRET = 'userdata-secret-never-shown';

function device(id: number) {
  return {
    id, uid: `u-${id}`, organizationId: 42, locationId: 3, nodeClass: 'WINDOWS_SERVER', displayName: `SRV${id}`, systemName: `SRV${id}`, dnsName: `srv${id}.acme.local`,
    offline: false, lastContact: 1733300000, policyId: 9, nodeRoleId: 4, approvalStatus: 'APPROVED', maintenance: { status: 'PENDING' },
    userData: { note: SECRET }, fields: { licenceKey: SECRET }, references: { location: { id: 3, name: 'HQ' }, policy: { id: 9, name: 'Servers' }, role: { id: 4, name: 'Windows Server' } },
  };
}

/** One page of a /v2/queries report: `pages` pages of `size` rows, each page's cursor naming the next. */
function report(url: URL, row: (i: number) => Record<string, unknown>, pages = 2) {
  const size = Number(url.searchParams.get('pageSize') ?? 50);
  const at = url.searchParams.get('cursor') ? Number(url.searchParams.get('cursor')!.slice(1)) : 0;
  const n = at + 1 < pages ? size : 1;
  return { cursor: { name: `c${at + 1}`, offset: at * size, count: n, expires: 1 }, results: Array.from({ length: n }, (_, i) => row(at * 100 + i)) };
}

function reply(url: URL): { body: unknown } {
  const p = url.pathname;
  const q = url.searchParams;
  if (p === '/v2/organizations') return { body: [{ id: 42, name: 'Happy Frog', description: 'Frogs', userData: { x: SECRET } }, { id: 43, name: 'Other Co' }] };
  if (p === '/v2/policies') return { body: [{ id: 9, name: 'Servers', nodeClass: 'WINDOWS_SERVER' }] };
  if (p === '/v2/roles') return { body: [{ id: 4, name: 'Windows Server', nodeClass: 'WINDOWS_SERVER', chassisType: 'UNKNOWN' }] };
  if (/^\/v2\/organization\/\d+$/.test(p)) return { body: { id: 42, name: 'Happy Frog', nodeApprovalMode: 'AUTOMATIC', locations: [{ id: 3, name: 'HQ', address: '1 Pond Rd', userData: { x: SECRET } }], settings: { psa: { product: 'x' } } } };
  if (p.endsWith('/locations')) return { body: [{ id: 3, name: 'HQ', address: '1 Pond Rd' }] };
  if (p === '/v2/devices') {
    // Ids ascend; two full pages, then a short one.
    const size = Number(q.get('pageSize'));
    const after = Number(q.get('after') ?? 0);
    const n = after < 200 ? size : 1;
    return { body: Array.from({ length: n }, (_, i) => device(after + 1 + i)).map((d, i) => ({ ...d, id: after < 100 ? 100 + i : after < 200 ? 200 + i : 300 })) };
  }
  if (/^\/v2\/device\/\d+$/.test(p)) return { body: device(Number(p.split('/')[3])) };
  if (p.endsWith('/volumes')) return { body: [{ name: 'C:', driveLetter: 'C:', capacity: 100, freeSpace: 5, serialNumber: 'x', bitLockerStatus: { protectionStatus: 'PROTECTED', conversionStatus: 'FULLY_ENCRYPTED' } }] };
  if (p.endsWith('/alerts')) return { body: [{ uid: 'a1', deviceId: 7, message: 'Disk C: below 10%', sourceType: 'CONDITION_AGENT_DISK_FREE_SPACE', createTime: 1, data: { raw: SECRET }, device: device(7) }] };
  if (p === '/v2/activities' || p.endsWith('/activities')) {
    const older = Number(q.get('olderThan') ?? 1000);
    const n = Number(q.get('pageSize') ?? 25);
    return { body: { lastActivityId: older - n, activities: Array.from({ length: n }, (_, i) => ({ id: older - 1 - i, activityTime: 1, deviceId: 7, activityType: 'CONDITION', status: 'TRIGGERED', message: 'CPU high', data: { raw: SECRET } })) } };
  }
  if (p.endsWith('/os-patches') && p.startsWith('/v2/device/')) return { body: [{ id: 'p1', name: 'KB5030211', kbNumber: 'KB5030211', severity: 'CRITICAL', status: 'FAILED', type: 'SECURITY_UPDATES' }] };
  if (p.endsWith('/os-patch-installs')) return { body: [{ id: 'p2', name: 'KB1', kbNumber: 'KB1', status: 'INSTALLED', installedAt: 1 }] };
  if (p.endsWith('/software-patches') && p.startsWith('/v2/device/')) return { body: [{ id: 's1', title: 'Chrome 120', productIdentifier: 'chrome', impact: 'CRITICAL', status: 'PENDING' }] };
  if (p.endsWith('/software') && p.startsWith('/v2/device/')) return { body: [{ name: '7-Zip', version: '23.01', publisher: 'Igor Pavlov', installDate: '2024-01-01', productCode: '{X}', location: 'C:\\x' }] };
  if (p === '/v2/queries/device-health') return { body: report(url, (i) => ({ deviceId: i, healthStatus: 'UNHEALTHY', alertCount: 2, failedOSPatchesCount: 1, productsInstallationStatuses: { x: SECRET } })) };
  if (p === '/v2/queries/os-patches') return { body: report(url, (i) => ({ deviceId: i, name: `KB${i}`, kbNumber: `KB${i}`, status: 'PENDING', severity: 'CRITICAL' })) };
  if (p === '/v2/queries/software-patches') return { body: report(url, (i) => ({ deviceId: i, title: 'Firefox', status: 'FAILED' })) };
  if (p === '/v2/queries/software') return { body: report(url, (i) => ({ deviceId: i, name: 'Java 8', version: '8.0.1', location: 'C:\\java' })) };
  if (p === '/v2/queries/antivirus-threats') return { body: report(url, (i) => ({ deviceId: i, name: 'EICAR', status: 'QUARANTINED', traceList: SECRET })) };
  if (p === '/v2/backup/jobs') return { body: report(url, (i) => ({ jobId: `j${i}`, deviceId: i, organizationId: 42, planName: 'Nightly', jobStatus: 'FAILED', planGuid: SECRET })) };
  return { body: { error: `unexpected ${p}` } };
}

describe.skipIf(!haveVendorDocs)(`the ninjaone connector${haveVendorDocs ? '' : ` (${vendorDocsMissing})`}`, () => {
  let c: ConnectorUnderTest;
  beforeAll(async () => {
    c = await connectorUnderTest('ninjaone', reply);
  }, 60_000);
  afterAll(async () => c?.close());

  it('generates 12-25 tools with no warning, and only the directory and reference data are tenant-wide', () => {
    expect(c.diagnostics).toEqual([]);
    expect(c.catalog.tools.length).toBeGreaterThanOrEqual(12);
    expect(c.catalog.tools.length).toBeLessThanOrEqual(25);
    const tenant = c.catalog.tools.filter((t) => t.scope?.kind === 'tenant').map((t) => t.name).sort();
    expect(tenant).toEqual(['ninjaone_list_device_roles', 'ninjaone_list_organizations', 'ninjaone_list_policies']);
    for (const t of c.catalog.tools) {
      const props = Object.keys((t.inputSchema as { properties?: object }).properties ?? {});
      expect(props, t.name).not.toContain('df');
      expect(props, t.name).not.toContain('ddf');
      if (t.scope?.kind === 'customer' && !t.ownerParent) expect(t.customerParameters.length > 0 || !!t.ownership, t.name).toBe(true);
    }
  });

  it('answers every tool, called with the arguments a model would send', async () => {
    expect(await c.failingTools(ORG)).toEqual([]);
  });

  it('binds the organization into the df device filter; a df argument is refused before NinjaOne is reached', async () => {
    await c.call('ninjaone_list_alerts', { source_type: 'AGENT_OFFLINE' }, ORG);
    expect(c.last().path).toBe('/v2/alerts');
    expect(c.last().query).toEqual({ df: 'org = 42', sourceType: 'AGENT_OFFLINE' });
    const { forged, none, upstreamCalls } = await c.refusals('ninjaone_list_devices', {}, { df: 'org > 0' }, ORG);
    expect(forged.isError).toBe(true);
    expect(forged.content[0].text).toContain('df');
    expect(none.isError).toBe(true);
    expect(none.content[0].text).toMatch(/customer/i);
    expect(upstreamCalls).toBe(0);
  });

  it('refuses an organization id that would change the df expression', async () => {
    const before = c.recorder.requests.length;
    const r = await c.call('ninjaone_list_devices', {}, '42) OR (org > 0');
    expect(r.isError).toBe(true);
    expect(c.recorder.requests.length).toBe(before);
  });

  it('reads the customer\'s own organization through the bound {id}, with no arguments', async () => {
    const t = c.tool('ninjaone_get_organization');
    expect(Object.keys((t.inputSchema as { properties?: object }).properties ?? {})).toEqual([]);
    const out = structured(await c.call('ninjaone_get_organization', {}, ORG));
    expect(c.last().path).toBe('/v2/organization/42');
    expect(out.result).toEqual({ id: 42, name: 'Happy Frog', approval_mode: 'AUTOMATIC', locations: [{ id: 3, name: 'HQ', address: '1 Pond Rd' }] });
    await c.call('ninjaone_list_locations', {}, ORG);
    expect(c.last().path).toBe('/v2/organization/42/locations');
  });

  it('pages devices by the last id seen (after), and the shaped device leaves out user data and custom fields', async () => {
    const first = structured(await c.call('ninjaone_list_devices', { limit: 3 }, ORG));
    expect(c.last().query).toEqual({ df: 'org = 42', pageSize: '3' });
    expect(first.result.map((d: { id: number }) => d.id)).toEqual([100, 101, 102]);
    expect(first.result[0]).toMatchObject({ name: 'SRV1', class: 'WINDOWS_SERVER', offline: false, maintenance: 'PENDING' });
    expect(JSON.stringify(first)).not.toContain(SECRET);
    const second = structured(await c.call('ninjaone_list_devices', { limit: 3, cursor: first.nextCursor }, ORG));
    expect(c.last().query).toEqual({ df: 'org = 42', pageSize: '3', after: '102' });
    expect(second.result.map((d: { id: number }) => d.id)).toEqual([200, 201, 202]);
  });

  it('reaches a device\'s routes only after reading the device and finding it the customer\'s', async () => {
    const before = c.recorder.requests.length;
    const out = structured(await c.call('ninjaone_list_device_software', { device_id: 7 }, ORG));
    const paths = c.recorder.requests.slice(before).map((r) => r.url);
    expect(paths).toEqual(['/v2/device/7', '/v2/device/7/software']);
    expect(out.result).toEqual([{ name: '7-Zip', version: '23.01', publisher: 'Igor Pavlov', installed: '2024-01-01' }]);
    const dev = structured(await c.call('ninjaone_get_device', { device_id: 7 }, ORG));
    expect(dev.result).toMatchObject({ id: 7, organization_id: 42, location: 'HQ', policy: 'Servers', role: 'Windows Server' });
    expect(JSON.stringify(dev)).not.toContain(SECRET);
  });

  it('follows a report\'s cursor name to the next page and stops after the last', async () => {
    const first = structured(await c.call('ninjaone_report_os_patches', { limit: 2, status: 'PENDING' }, ORG));
    expect(c.last().query).toEqual({ df: 'org = 42', pageSize: '2', status: 'PENDING' });
    expect(first.result).toEqual([{ device_id: 0, name: 'KB0', kb: 'KB0', status: 'PENDING', severity: 'CRITICAL' }, { device_id: 1, name: 'KB1', kb: 'KB1', status: 'PENDING', severity: 'CRITICAL' }]);
    const second = structured(await c.call('ninjaone_report_os_patches', { limit: 2, cursor: first.nextCursor }, ORG));
    expect(c.last().query).toMatchObject({ cursor: 'c1', df: 'org = 42' });
    expect(second.result).toEqual([{ device_id: 100, name: 'KB100', kb: 'KB100', status: 'PENDING', severity: 'CRITICAL' }]);
  });

  it('pages activities by the last activity id, device activities only', async () => {
    const first = structured(await c.call('ninjaone_list_activities', { limit: 2, type: 'CONDITION' }, ORG));
    expect(c.last().query).toEqual({ df: 'org = 42', class: 'DEVICE', type: 'CONDITION', pageSize: '2' });
    expect(first.result.map((a: { id: number }) => a.id)).toEqual([999, 998]);
    expect(JSON.stringify(first)).not.toContain(SECRET);
    await c.call('ninjaone_list_activities', { limit: 2, cursor: first.nextCursor }, ORG);
    expect(c.last().query).toMatchObject({ olderThan: '998', df: 'org = 42' });
  });

  it('lists backup jobs of active devices only, shaped without plan internals', async () => {
    const out = structured(await c.call('ninjaone_list_backup_jobs', { status: 'status = FAILED', limit: 2 }, ORG));
    expect(c.last().query).toEqual({ df: 'org = 42', include: 'active', sf: 'status = FAILED', pageSize: '2' });
    expect(out.result[0]).toEqual({ job_id: 'j0', device_id: 0, plan: 'Nightly', status: 'FAILED' });
    expect(JSON.stringify(out)).not.toContain(SECRET);
  });

  it('lists the MSP\'s organizations without a customer, following `after`', async () => {
    const out = structured(await c.call('ninjaone_list_organizations', { limit: 2 }));
    expect(c.last().query).toEqual({ pageSize: '2' });
    expect(out.result).toEqual([{ id: 42, name: 'Happy Frog', description: 'Frogs' }, { id: 43, name: 'Other Co' }]);
    expect(out.nextCursor).toBeTypeOf('string');
  });
});
