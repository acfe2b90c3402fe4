/**
 * specs/msgraph.yaml served by the governed runtime over HTTP to the official MCP client, against
 * a recording Graph upstream and a local Entra token endpoint. Graph is customer-scoped by its
 * credential: each customer's token comes from the token URL of that customer's own Entra tenant,
 * is cached for that customer alone, and never goes out on another customer's call. Every tool is
 * called; $select and the fixed filters reach Graph, "@odata.nextLink" pages, shaping projects hard.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Client } from '@modelcontextprotocol/client';
import type { FastifyInstance } from 'fastify';
import { apiKeysRepo, openStore, settingsRepo, tenantsRepo, type Store } from '../runtime/store/index.ts';
import { loadCatalog, type Catalog } from '../runtime/catalog.ts';
import { generateInto, haveVendorDocs, root, tempDir, vendorDocsMissing } from './helpers/e2e.ts';
import { governedClient, serveGoverned, type ToolResult } from './helpers/governed.ts';
import { startRecorder, type Recorder } from './fixtures/call/harness.ts';
import { sampleArguments } from './helpers/sample-args.ts';

const TENANT = 'cloud-msp';
// Each customer's vendor id for msgraph is its Entra tenant id.
const A = { id: 'contoso', entra: '4a1c2f3e-0000-4000-8000-00000000000a' };
const B = { id: 'fabrikam', entra: '4a1c2f3e-0000-4000-8000-00000000000b' };
const CLIENT_SECRET = 'graph-client-secret-never-shown';
const tokenOf = (entra: string, n: number) => `token-for-${entra}-${n}`;

/** A local Entra: one token per request, named after the tenant in the URL path. */
async function startTokenEndpoint(): Promise<{ url: string; requests: Array<{ path: string; body: URLSearchParams }>; close(): Promise<void> }> {
  const requests: Array<{ path: string; body: URLSearchParams }> = [];
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (c) => (text += c));
    req.on('end', () => {
      const body = new URLSearchParams(text);
      requests.push({ path: req.url ?? '', body });
      const m = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(req.url ?? '');
      if (!m || body.get('grant_type') !== 'client_credentials' || body.get('client_secret') !== CLIENT_SECRET) {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid_request' }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ token_type: 'Bearer', expires_in: 3599, access_token: tokenOf(decodeURIComponent(m[1]!), requests.length) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((r) => server.close(() => r())) };
}

describe.skipIf(!haveVendorDocs)(`the msgraph connector${haveVendorDocs ? '' : ` (${vendorDocsMissing})`}`, () => {
  const dir = tempDir('catalog-msgraph');
  let catalog: Catalog;
  let store: Store;
  let recorder: Recorder;
  let entra: Awaited<ReturnType<typeof startTokenEndpoint>>;
  let app: FastifyInstance;
  let asA: Client;
  let asB: Client;
  let noCustomer: Client;

  /** What Graph answers; list answers carry a next link on the first page of /users. */
  function reply(url: URL): unknown {
    const p = url.pathname;
    const user = { id: 'u-1', displayName: 'Jane Doe', userPrincipalName: 'jane@contoso.com', mail: 'jane@contoso.com', jobTitle: 'Accountant', department: 'Finance', accountEnabled: true, userType: 'Member', createdDateTime: '2024-02-01T00:00:00Z', passwordProfile: { password: 'never-requested' }, assignedLicenses: [{ skuId: 'sku-e3', disabledPlans: [] }], onPremisesSyncEnabled: null };
    const list = (value: unknown[], next?: string) => ({ '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#x', value, ...(next && { '@odata.nextLink': next }) });
    if (p === '/users' && url.searchParams.get('$filter') === 'accountEnabled eq false') {
      // A next link that leaves Graph: the runtime must not follow it.
      return list([user], `http://127.0.0.1:1/users?$top=2&$skiptoken=stolen`);
    }
    if (p === '/users') {
      return url.searchParams.get('$skiptoken')
        ? list([{ ...user, id: 'u-3', displayName: 'Carol' }])
        : list([user, { ...user, id: 'u-2', displayName: 'Bob' }], `${recorder.url}/users?$top=${url.searchParams.get('$top')}&$skiptoken=X%27page2%27`);
    }
    if (p === '/organization') return list([{ id: 'org-1', displayName: 'Contoso Ltd', tenantType: 'AAD', verifiedDomains: [{ name: 'contoso.com', isDefault: true, type: 'Managed', capabilities: 'Email' }], countryLetterCode: 'GB' }]);
    if (/^\/users\/[^/]+$/.test(p)) return user;
    if (p.endsWith('/authentication/methods')) return list([{ '@odata.type': '#microsoft.graph.passwordAuthenticationMethod', id: 'pw' }, { '@odata.type': '#microsoft.graph.microsoftAuthenticatorAuthenticationMethod', id: 'ma', displayName: 'iPhone 15' }]);
    if (p.endsWith('/manager')) return { '@odata.type': '#microsoft.graph.user', id: 'u-9', displayName: 'Boss', userPrincipalName: 'boss@contoso.com', mail: 'boss@contoso.com', jobTitle: 'CFO' };
    if (p.endsWith('/memberOf')) return list([{ '@odata.type': '#microsoft.graph.group', id: 'g-1', displayName: 'Finance', securityEnabled: true, groupTypes: [] }, { '@odata.type': '#microsoft.graph.directoryRole', id: 'r-1', displayName: 'Global Administrator' }]);
    if (p.endsWith('/licenseDetails')) return list([{ id: 'l-1', skuId: 'sku-e3', skuPartNumber: 'SPE_E3', servicePlans: [{ servicePlanId: 'sp', servicePlanName: 'EXCHANGE_S_ENTERPRISE', provisioningStatus: 'Success', appliesTo: 'User' }] }]);
    if (p === '/groups') return list([{ id: 'g-1', displayName: 'Finance', securityEnabled: true, mailEnabled: false, groupTypes: [] }]);
    if (/^\/groups\/[^/]+$/.test(p)) return { id: 'g-1', displayName: 'Finance', visibility: 'Private', isAssignableToRole: false };
    if (p.endsWith('/members')) return list([{ '@odata.type': '#microsoft.graph.user', id: 'u-1', displayName: 'Jane Doe', userPrincipalName: 'jane@contoso.com' }]);
    if (p === '/directoryRoles') return list([{ id: 'r-1', displayName: 'Global Administrator', roleTemplateId: '62e90394-69f5-4237-9190-012177145e10', members: [{ '@odata.type': '#microsoft.graph.user', id: 'u-9', displayName: 'Boss', userPrincipalName: 'boss@contoso.com' }] }]);
    if (p === '/auditLogs/signIns') return list([{ id: 's-1', createdDateTime: '2026-12-04T07:00:00Z', userPrincipalName: 'jane@contoso.com', appDisplayName: 'Office 365', ipAddress: '203.0.113.7', clientAppUsed: 'Browser', isInteractive: true, location: { city: 'London', countryOrRegion: 'GB' }, deviceDetail: { displayName: 'LT-07', operatingSystem: 'Windows', browser: 'Edge' }, status: { errorCode: 50126, failureReason: 'Invalid username or password.' }, conditionalAccessStatus: 'notApplied', riskLevelDuringSignIn: 'none', correlationId: 'c-1' }]);
    if (p === '/auditLogs/directoryAudits') return list([{ id: 'd-1', activityDateTime: '2026-12-03T12:00:00Z', activityDisplayName: 'Reset user password', category: 'UserManagement', result: 'success', loggedByService: 'Core Directory', initiatedBy: { user: { userPrincipalName: 'admin@contoso.com' } }, targetResources: [{ type: 'User', displayName: 'Jane Doe', userPrincipalName: 'jane@contoso.com', modifiedProperties: [] }] }]);
    if (p === '/deviceManagement/managedDevices') return list([{ id: 'm-1', deviceName: 'LT-07', operatingSystem: 'Windows', osVersion: '10.0.22631', complianceState: 'noncompliant', lastSyncDateTime: '2026-12-04T06:00:00Z', userPrincipalName: 'jane@contoso.com' }]);
    if (/^\/deviceManagement\/managedDevices\/[^/]+$/.test(p)) return { id: 'm-1', deviceName: 'LT-07', complianceState: 'noncompliant', serialNumber: 'SN123', isEncrypted: false, deviceCompliancePolicyStates: [{ id: 'x', displayName: 'Windows baseline', state: 'nonCompliant', platformType: 'windows10AndLater' }] };
    if (p === '/deviceManagement/deviceCompliancePolicies') return list([{ '@odata.type': '#microsoft.graph.windows10CompliancePolicy', id: 'cp-1', displayName: 'Windows baseline', version: 3 }]);
    if (p === '/subscribedSkus') return list([{ skuId: 'sku-e3', skuPartNumber: 'SPE_E3', capabilityStatus: 'Enabled', appliesTo: 'User', consumedUnits: 48, prepaidUnits: { enabled: 50, suspended: 0, warning: 0, lockedOut: 0 } }]);
    if (p === '/admin/serviceAnnouncement/healthOverviews') return list([{ id: 'Exchange', service: 'Exchange Online', status: 'serviceDegradation' }]);
    if (p === '/admin/serviceAnnouncement/issues') return list([{ id: 'EX123456', title: 'Mail delays', service: 'Exchange Online', status: 'serviceDegradation', isResolved: false }]);
    if (/^\/admin\/serviceAnnouncement\/issues\/[^/]+$/.test(p)) return { id: 'EX123456', title: 'Mail delays', isResolved: false, posts: [{ createdDateTime: '2026-12-04T08:00:00Z', postType: 'regular', description: { contentType: 'html', content: 'We are investigating.' } }] };
    if (p === '/identity/conditionalAccess/policies') return list([{ id: 'ca-1', displayName: 'Require MFA for admins', state: 'enabled', conditions: { users: { includeRoles: ['62e90394-69f5-4237-9190-012177145e10'] }, applications: { includeApplications: ['All'] }, clientAppTypes: ['all'] }, grantControls: { operator: 'OR', builtInControls: ['mfa'] } }]);
    return undefined;
  }

  beforeAll(async () => {
    const out = path.join(dir, 'generated');
    await generateInto([path.join(root, 'specs', 'msgraph.yaml')], out);
    catalog = await loadCatalog(out);
    entra = await startTokenEndpoint();
    recorder = await startRecorder((url) => {
      const body = reply(url);
      return body === undefined ? { status: 404, body: { error: { code: 'Request_ResourceNotFound', message: 'not found' } } } : { body };
    }, '');

    store = await openStore(`sqlite:${path.join(dir, 'store.db')}`);
    const tenants = tenantsRepo(store);
    await tenants.createTenant({ id: TENANT, name: 'Cloud MSP' });
    for (const c of [A, B]) {
      await tenants.createCustomer({ id: c.id, tenantId: TENANT, name: c.id });
      await tenants.setVendorId(c.id, 'msgraph', c.entra);
    }
    await settingsRepo(store).grant(TENANT, 'msgraph', '*');
    const { key } = await apiKeysRepo(store).create({ tenantId: TENANT, subject: 'tech@cloud', roles: ['technician'] });
    let url: string;
    ({ app, url } = await serveGoverned(store, {
      generatedDir: out,
      upstreamConfig: {
        msgraph: {
          baseUrl: recorder.url,
          credential: { kind: 'oauth2-client-credentials', clientId: 'msp-app', clientSecret: CLIENT_SECRET, tokenUrl: `${entra.url}/{customer}/oauth2/v2.0/token` },
        },
      },
    }));
    asA = await governedClient(url, { authorization: `Bearer ${key}`, 'specgate-customer': A.id });
    asB = await governedClient(url, { authorization: `Bearer ${key}`, 'specgate-customer': B.id });
    noCustomer = await governedClient(url, { authorization: `Bearer ${key}` });
  }, 180_000);
  afterAll(async () => {
    for (const c of [asA, asB, noCustomer]) await c?.close();
    await app?.close();
    await recorder?.close();
    await entra?.close();
    await store?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const call = async (c: Client, name: string, args: Record<string, unknown> = {}) => (await c.callTool({ name, arguments: args })) as unknown as ToolResult;
  const ok = (r: ToolResult) => {
    if (r.isError) throw new Error(`tool failed: ${r.content[0]?.text}`);
    return r.structuredContent as { result: any; nextCursor?: string };
  };
  const last = () => {
    const r = recorder.requests.at(-1)!;
    const u = new URL(r.url, 'http://x');
    return { path: decodeURIComponent(u.pathname), query: Object.fromEntries(u.searchParams), headers: r.headers };
  };

  it('has 12-25 tools, every one customer-scoped by its per-customer token', () => {
    expect(catalog.tools.length).toBeGreaterThanOrEqual(12);
    expect(catalog.tools.length).toBeLessThanOrEqual(25);
    for (const t of catalog.tools) {
      expect(t.scope, t.name).toMatchObject({ kind: 'customer', credential: true });
      expect(t.customerParameters, t.name).toEqual([]);
    }
  });

  it('calls every tool through the MCP client as customer A, each with A\'s token from A\'s Entra tenant', async () => {
    const failures: string[] = [];
    for (const t of catalog.tools) {
      const before = recorder.requests.length;
      const r = await call(asA, t.name, sampleArguments(t.inputSchema as Record<string, unknown>));
      if (r.isError) {
        failures.push(`${t.name}: ${r.content[0]?.text}`);
        continue;
      }
      expect(recorder.requests.length, t.name).toBe(before + 1);
      expect(last().headers.authorization, t.name).toMatch(new RegExp(`^Bearer token-for-${A.entra}-\\d+$`));
      expect(JSON.stringify(r), t.name).not.toContain('token-for-');
    }
    expect(failures).toEqual([]);
    // One token for A, fetched from A's tenant and cached for every later call.
    expect(entra.requests.map((r) => r.path)).toEqual([`/${A.entra}/oauth2/v2.0/token`]);
    expect(entra.requests[0]!.body.get('scope')).toBe('https://graph.microsoft.com/.default');
    expect(entra.requests[0]!.body.get('client_id')).toBe('msp-app');
  });

  it('never sends customer A\'s token on customer B\'s call: B gets its own from B\'s tenant', async () => {
    ok(await call(asA, 'msgraph_list_subscribed_skus'));
    const tokenA = last().headers.authorization;
    const fetched = entra.requests.length;
    ok(await call(asB, 'msgraph_list_subscribed_skus'));
    const tokenB = last().headers.authorization;
    expect(tokenB).toMatch(new RegExp(`^Bearer token-for-${B.entra}-\\d+$`));
    expect(tokenB).not.toBe(tokenA);
    expect(entra.requests.slice(fetched).map((r) => r.path)).toEqual([`/${B.entra}/oauth2/v2.0/token`]);
    // And back: A's call still carries A's cached token, not B's.
    ok(await call(asA, 'msgraph_list_subscribed_skus'));
    expect(last().headers.authorization).toBe(tokenA);
    expect(entra.requests.length).toBe(fetched + 1);
  });

  it('refuses a call without a customer before any token is fetched or Graph is reached', async () => {
    const [calls, tokens] = [recorder.requests.length, entra.requests.length];
    const r = await call(noCustomer, 'msgraph_list_users');
    expect(r.isError).toBe(true);
    expect(r.content[0]?.text).toMatch(/customer/i);
    expect([recorder.requests.length, entra.requests.length]).toEqual([calls, tokens]);
  });

  it('pages users with $top and "@odata.nextLink", and sends the fixed $select and ConsistencyLevel', async () => {
    const first = ok(await call(asA, 'msgraph_list_users', { limit: 2 }));
    expect(last().path).toBe('/users');
    expect(last().query).toMatchObject({ $top: '2', $select: 'id,displayName,userPrincipalName,mail,jobTitle,department,accountEnabled,userType,createdDateTime' });
    expect(last().headers.consistencylevel).toBe('eventual');
    expect(first.result.map((u: { id: string }) => u.id)).toEqual(['u-1', 'u-2']);
    expect(first.result[0]).not.toHaveProperty('passwordProfile');
    expect(first.nextCursor).toBeTypeOf('string');
    const second = ok(await call(asA, 'msgraph_list_users', { limit: 2, cursor: first.nextCursor }));
    expect(last().path).toBe('/users');
    expect(last().query).toMatchObject({ $skiptoken: "X'page2'" });
    expect(second.result.map((u: { id: string }) => u.id)).toEqual(['u-3']);
    expect(second.nextCursor).toBeUndefined();
  });

  it('refuses to follow a next link that points to another host, and the cursor it gave carries no token', async () => {
    const first = ok(await call(asA, 'msgraph_list_users', { limit: 2, filter: 'accountEnabled eq false' }));
    const before = recorder.requests.length;
    expect(first.nextCursor).toBeTypeOf('string');
    const r = await call(asA, 'msgraph_list_users', { limit: 2, filter: 'accountEnabled eq false', cursor: first.nextCursor });
    expect(r.isError).toBe(true);
    expect(r.content[0]?.text).toContain('127.0.0.1:1');
    expect(recorder.requests.length).toBe(before);
    expect(JSON.stringify(r)).not.toContain('token-for-');
  });

  it('shapes Graph\'s large objects to what a technician reads', async () => {
    const user = ok(await call(asA, 'msgraph_get_user', { user: 'jane@contoso.com' }));
    expect(last().path).toBe('/users/jane@contoso.com');
    expect(user.result).toMatchObject({ userPrincipalName: 'jane@contoso.com', accountEnabled: true, licenseSkuIds: ['sku-e3'] });
    expect(user.result).not.toHaveProperty('passwordProfile');
    const methods = ok(await call(asA, 'msgraph_list_user_auth_methods', { user: 'jane@contoso.com' }));
    expect(methods.result.map((m: { type: string }) => m.type)).toEqual(['#microsoft.graph.passwordAuthenticationMethod', '#microsoft.graph.microsoftAuthenticatorAuthenticationMethod']);
    const skus = ok(await call(asA, 'msgraph_list_subscribed_skus'));
    expect(skus.result).toEqual([{ skuId: 'sku-e3', skuPartNumber: 'SPE_E3', capabilityStatus: 'Enabled', appliesTo: 'User', assigned: 48, enabled: 50, suspended: 0, warning: 0 }]);
    const failed = ok(await call(asA, 'msgraph_list_failed_sign_ins'));
    expect(last().query).toMatchObject({ $filter: 'status/errorCode ne 0', $orderby: 'createdDateTime desc' });
    expect(failed.result[0]).toMatchObject({ user: 'jane@contoso.com', errorCode: 50126, city: 'London' });
    expect(failed.result[0]).not.toHaveProperty('correlationId');
    ok(await call(asA, 'msgraph_list_noncompliant_devices'));
    expect(last().query.$filter).toBe("complianceState eq 'noncompliant' or complianceState eq 'inGracePeriod'");
    const roles = ok(await call(asA, 'msgraph_list_admin_roles'));
    expect(last().query).toMatchObject({ $expand: 'members' });
    expect(roles.result[0]).toMatchObject({ displayName: 'Global Administrator', members: [{ userPrincipalName: 'boss@contoso.com' }] });
  });

  it('refuses arguments the model may not set ($select, a filter on a fixed-filter tool) before Graph is reached', async () => {
    const before = recorder.requests.length;
    const select = await call(asA, 'msgraph_get_user', { user: 'jane@contoso.com', $select: ['passwordProfile'] });
    expect(select.isError).toBe(true);
    const filter = await call(asA, 'msgraph_list_noncompliant_devices', { filter: "complianceState eq 'compliant'" });
    expect(filter.isError).toBe(true);
    expect(filter.content[0]?.text).toContain('filter');
    expect(recorder.requests.length).toBe(before);
  });
});
