/**
 * The deployment topology (deploy/compose.yaml) without containers, as `npm run cluster` starts
 * it: PostgreSQL, two `specgate serve --store postgres://...` processes and the balancer. The
 * official MCP client talks only to the balancer, and whichever instance answers, a client's
 * calls, quotas, rate limits, approvals, audit chain and hot reload behave the same, including
 * when one instance is SIGKILLed under load.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { apiKeysRepo, openStore, quotaRepo, rateLimitsRepo, settingsRepo, tenantsRepo } from '../runtime/store/index.ts';
import { BACKEND_HEADER, startCluster, type Cluster } from '../scripts/cluster.ts';
import { generateInto, root, tempDir } from './helpers/e2e.ts';
import { HELPDESK_DOCUMENT } from './helpers/governed.ts';

const TENANT = 'cluster-msp';
const BURST_TENANT = 'burst-msp';

const spec = (extra = '') => `specgate: 1
connector: helpdesk
document:
  source: ${HELPDESK_DOCUMENT}
customer:
  parameters: [client_id]
tools:
  - operationId: listTickets
    name: helpdesk_list_tickets
  - operationId: getTicket
    name: helpdesk_get_ticket
    customer: false
  - operationId: getArticle
    name: helpdesk_get_article
    customer: false
    riskTier: high
${extra}`;

interface Answer { tool: string; backend: string; requestId: string; isError: boolean; text: string }
type ToolResult = { isError?: boolean; content: Array<{ type: string; text: string }>; structuredContent?: Record<string, unknown> };

const textOf = (r: ToolResult) => r.content.map((c) => c.text).join('\n');

/** A client through the balancer that notes, for each tools/call answer, which instance gave it and its call id. */
async function connect(url: string, headers: Record<string, string>, answers: Answer[]): Promise<Client> {
  const recording = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const response = await fetch(input, init);
    const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as { method?: string; params?: { name?: string } }) : undefined;
    if (body?.method === 'tools/call' && response.status === 200) {
      // Stateless answers come as one JSON body: read a copy, so each answer pairs with its instance.
      const answer = (response.headers.get('content-type') ?? '').includes('application/json')
        ? (await response.clone().json()) as { result?: ToolResult }
        : {};
      answers.push({
        tool: body.params?.name ?? '', backend: response.headers.get(BACKEND_HEADER) ?? '', requestId: response.headers.get('x-request-id') ?? '',
        isError: !!answer.result?.isError, text: answer.result ? textOf(answer.result) : '',
      });
    }
    return response;
  };
  const client = new Client({ name: 'cluster-test', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers }, fetch: recording }));
  return client;
}

// Without PostgreSQL, startCluster fails the suite with the reason: no silent skip.
describe('two instances behind a balancer on one PostgreSQL', () => {
  const dir = tempDir('cluster');
  const specFile = path.join(dir, 'helpdesk.yaml');
  const generatedDir = path.join(dir, 'generated');
  const upstreamRequests: string[] = [];
  let upstream: http.Server;
  let cluster: Cluster;
  const keys: Record<string, string> = {};
  const headers = () => ({ authorization: `Bearer ${keys.alice}`, 'specgate-customer': 'contoso' });

  beforeAll(async () => {
    fs.writeFileSync(specFile, spec());
    await generateInto([specFile], generatedDir);
    upstream = http.createServer((req, res) => {
      upstreamRequests.push(req.url ?? '');
      const url = new URL(req.url ?? '/', 'http://upstream');
      res.setHeader('content-type', 'application/json');
      if (url.pathname.endsWith('/tickets')) res.end(JSON.stringify({ tickets: [{ id: 1, summary: 'printer' }] }));
      else if (url.pathname.includes('/articles/')) res.end(JSON.stringify({ slug: 'vpn', body: 'how to' }));
      else if (url.pathname.includes('/clients/')) res.end(JSON.stringify({ id: 42, name: 'Contoso' }));
      else res.end(JSON.stringify({ id: Number(url.pathname.split('/').pop()), summary: 'one' }));
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    cluster = await startCluster({
      generatedDir,
      env: { SPECGATE_UPSTREAM_HELPDESK: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/api` },
      async seed(storeUrl) {
        const store = await openStore(storeUrl);
        try {
          const tenants = tenantsRepo(store);
          for (const t of [TENANT, BURST_TENANT]) {
            await tenants.createTenant({ id: t, name: t });
            await tenants.createCustomer({ id: t === TENANT ? 'contoso' : 'fabrikam', tenantId: t, name: 'customer' });
            await tenants.setVendorId(t === TENANT ? 'contoso' : 'fabrikam', 'helpdesk', '42');
            await settingsRepo(store).grant(t, 'helpdesk', '*');
          }
          keys.alice = (await apiKeysRepo(store).create({ tenantId: TENANT, subject: 'alice', roles: ['technician'] })).key;
          keys.bob = (await apiKeysRepo(store).create({ tenantId: BURST_TENANT, subject: 'bob', roles: ['technician'] })).key;
          await quotaRepo(store).setQuota({ tenantId: TENANT, scope: 'helpdesk_get_ticket', period: 'month', limit: 6 });
          await rateLimitsRepo(store).set({ tenantId: BURST_TENANT, scope: 'identity', perSecond: 1 });
        } finally {
          await store.close();
        }
      },
    });
  }, 300_000);

  afterAll(async () => {
    await cluster?.stop();
    await new Promise<void>((r) => upstream.close(() => r()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("serves a client's calls from both instances, bound to its customer", async () => {
    const answers: Answer[] = [];
    const client = await connect(cluster.url, headers(), answers);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['helpdesk_get_article', 'helpdesk_get_ticket', 'helpdesk_list_tickets']);
    const before = upstreamRequests.length;
    for (let i = 0; i < 4; i++) {
      const r = (await client.callTool({ name: 'helpdesk_list_tickets', arguments: {} })) as ToolResult;
      expect(r.isError, textOf(r)).toBeFalsy();
    }
    expect(new Set(answers.map((a) => a.backend))).toEqual(new Set(['specgate-1', 'specgate-2']));
    const calls = upstreamRequests.slice(before);
    expect(calls).toHaveLength(4);
    for (const c of calls) expect(c).toMatch(/^\/api\/tickets\?(.*&)?client_id=42(&|$)/);
    await client.close();
  });

  it('counts one quota for the tenant across both instances', async () => {
    const answers: Answer[] = [];
    const client = await connect(cluster.url, headers(), answers);
    const results: ToolResult[] = [];
    for (let i = 1; i <= 9; i++) results.push((await client.callTool({ name: 'helpdesk_get_ticket', arguments: { id: i } })) as ToolResult);
    expect(results.filter((r) => !r.isError)).toHaveLength(6);
    const refused = results.filter((r) => r.isError);
    expect(refused).toHaveLength(3);
    for (const r of refused) expect(textOf(r)).toMatch(/quota exhausted \(6 calls per month for "helpdesk_get_ticket"\)/);
    // Both instances executed and both refused: the counter is the store's, not an instance's.
    expect(new Set(answers.filter((a) => !a.isError).map((a) => a.backend)).size).toBe(2);
    expect(new Set(answers.filter((a) => a.isError).map((a) => a.backend)).size).toBe(2);
    expect(upstreamRequests.filter((u) => /^\/api\/tickets\/\d+/.test(u))).toHaveLength(6);
    await client.close();
  });

  it('holds a rate limit on every instance, with the same refusal', async () => {
    const answers: Answer[] = [];
    const client = await connect(cluster.url, { authorization: `Bearer ${keys.bob}`, 'specgate-customer': 'fabrikam' }, answers);
    // 16 calls at once, 8 to each instance: each instance's bucket holds 1 per second.
    const results = (await Promise.all(Array.from({ length: 16 }, () => client.callTool({ name: 'helpdesk_list_tickets', arguments: {} })))) as ToolResult[];
    expect(answers).toHaveLength(16);
    expect(answers.filter((a) => a.isError)).toHaveLength(results.filter((r) => r.isError).length);
    const refusedBy = new Set<string>();
    for (const a of answers.filter((x) => x.isError)) {
      expect(a.text).toMatch(/rate limit of 1 calls per second for .* reached; retry after \d+ ms/);
      refusedBy.add(a.backend);
    }
    expect(answers.filter((a) => !a.isError).length).toBeGreaterThanOrEqual(1);
    expect(refusedBy).toEqual(new Set(['specgate-1', 'specgate-2']));
    await client.close();
  });

  it('runs a call requested on one instance and approved through the other exactly once', async () => {
    const answers: Answer[] = [];
    const client = await connect(cluster.url, headers(), answers);
    const held = (await client.callTool({ name: 'helpdesk_get_article', arguments: { slug: 'vpn' } })) as ToolResult;
    expect(held.isError).toBe(true);
    const id = /Request (\S+) is pending/.exec(textOf(held))?.[1];
    expect(id, textOf(held)).toBeTruthy();
    const requestedOn = answers[0].backend;
    const other = cluster.instances.find((i) => i.name !== requestedOn)!;
    const admin = (p: string, init: RequestInit = {}) => fetch(`${other.adminUrl}${p}`, { ...init, headers: { authorization: `Bearer ${cluster.adminToken}`, 'content-type': 'application/json' } });
    const pending = (await (await admin(`/tenants/${TENANT}/approvals?status=pending`)).json()) as { items: Array<{ id: string }> };
    expect(pending.items.map((a) => a.id)).toContain(id);
    const approved = await admin(`/tenants/${TENANT}/approvals/${id}/approve`, { method: 'POST', body: JSON.stringify({ note: 'ticket 4711' }) });
    expect(approved.status).toBe(200);

    const before = upstreamRequests.filter((u) => u.startsWith('/api/articles/vpn')).length;
    const ran = (await client.callTool({ name: 'helpdesk_get_article', arguments: { slug: 'vpn' } })) as ToolResult;
    expect(ran.isError, textOf(ran)).toBeFalsy();
    // One approval, one call: asking again is held again, on whichever instance answers.
    const again = (await client.callTool({ name: 'helpdesk_get_article', arguments: { slug: 'vpn' } })) as ToolResult;
    expect(again.isError).toBe(true);
    expect(textOf(again)).toMatch(/Held for approval/);
    expect(upstreamRequests.filter((u) => u.startsWith('/api/articles/vpn')).length).toBe(before + 1);
    await client.close();
  });

  it('hot-reloads a regenerated catalog on both instances', async () => {
    fs.writeFileSync(specFile, spec('  - operation: GET /clients/{clientId}\n    name: helpdesk_get_client\n    customer: false\n'));
    await generateInto([specFile], generatedDir);
    for (const instance of cluster.instances) {
      const client = await connect(instance.url, headers(), []);
      const deadline = Date.now() + 120_000;
      let names: string[] = [];
      while (Date.now() < deadline) {
        names = (await client.listTools()).tools.map((t) => t.name);
        if (names.includes('helpdesk_get_client')) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(names, instance.name).toContain('helpdesk_get_client');
      await client.close();
    }
    const answers: Answer[] = [];
    const client = await connect(cluster.url, headers(), answers);
    for (let i = 0; i < 2; i++) {
      const r = (await client.callTool({ name: 'helpdesk_get_client', arguments: { clientId: 42 } })) as ToolResult;
      expect(r.isError, textOf(r)).toBeFalsy();
    }
    expect(new Set(answers.map((a) => a.backend)).size).toBe(2);
    await client.close();
  });

  it('loses no answered call when an instance is SIGKILLed mid-load, and routes around it', async () => {
    const answers: Answer[] = [];
    const failures: string[] = [];
    const clients = await Promise.all(Array.from({ length: 4 }, () => connect(cluster.url, headers(), answers)));
    let stopping = false;
    let target = 16;
    const loops = clients.map(async (client) => {
      while (!stopping) {
        try {
          const r = (await client.callTool({ name: 'helpdesk_list_tickets', arguments: {} })) as ToolResult;
          if (r.isError) failures.push(textOf(r));
        } catch (e) {
          failures.push((e as Error).message);
        }
      }
    });
    const until = async (n: number) => {
      const deadline = Date.now() + 240_000;
      while (answers.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(answers.length, `answered calls (failures: ${failures.slice(0, 3).join(' | ')})`).toBeGreaterThanOrEqual(n);
    };
    await until(target);
    const victim = cluster.instances[0];
    victim.child.kill('SIGKILL');
    expect((await victim.exited).signal).toBe('SIGKILL');
    const atKill = answers.length;
    const failedAtKill = failures.length;
    target = atKill + 24;
    await until(target);
    stopping = true;
    await Promise.all(loops);
    await Promise.all(clients.map((c) => c.close()));

    // Only calls in flight on the victim when it died may fail: at most one per client.
    expect(failures.length - failedAtKill).toBeLessThanOrEqual(clients.length);
    for (const f of failures) expect(f).not.toMatch(/quota|rate limit|Held for approval/);
    // Every call answered after the kill (past the few already on their way back) came from the survivor.
    const after = answers.slice(atKill + clients.length);
    expect(after.length).toBeGreaterThan(0);
    expect(new Set(after.map((a) => a.backend))).toEqual(new Set(['specgate-2']));
    expect(cluster.balancer.down()).toContain('specgate-1');
    expect(new Set(answers.slice(0, atKill).map((a) => a.backend))).toEqual(new Set(['specgate-1', 'specgate-2']));

    // Each answered call is on the record exactly once: one usage row, one audit record.
    const store = await openStore(cluster.storeUrl, { migrate: false });
    try {
      const usage = await store.db.selectFrom('usage').select('call_id').where('tenant_id', '=', TENANT).execute();
      const audit = await store.db.selectFrom('audit').select(['seq', 'record']).where('tenant_id', '=', TENANT).orderBy('seq').execute();
      const count = (ids: string[]) => ids.reduce((m, id) => m.set(id, (m.get(id) ?? 0) + 1), new Map<string, number>());
      const usageById = count(usage.map((u) => u.call_id));
      const auditById = count(audit.map((a) => String((JSON.parse(a.record) as { callId?: string }).callId)));
      for (const a of answers) {
        expect(a.requestId).toMatch(/\S/);
        expect(usageById.get(a.requestId), `usage of ${a.requestId}`).toBe(1);
        expect(auditById.get(a.requestId), `audit of ${a.requestId}`).toBe(1);
      }
      // One chain per tenant, contiguous, written by both instances.
      expect(audit.map((a) => a.seq)).toEqual(audit.map((_, i) => i + 1));
    } finally {
      await store.close();
    }
    const verify = await promisify(execFile)(process.execPath, [path.join(root, 'bin', 'specgate.js'), 'audit', 'verify', '--store', cluster.storeUrl], { cwd: root });
    expect(verify.stdout).toMatch(/ok/i);
  });
});

describe('the deploy files describe the topology tested above', () => {
  const compose = parse(fs.readFileSync(path.join(root, 'deploy/compose.yaml'), 'utf8')) as { services: Record<string, Record<string, unknown>> };
  const specgate = Object.entries(compose.services).filter(([, s]) => s.image === 'specgate:local');
  const dockerfile = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');
  const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));

  it('runs two instances, non-root, on a read-only root, with secrets only from the environment', () => {
    expect(specgate.map(([name]) => name)).toEqual(['specgate-1', 'specgate-2']);
    for (const [name, s] of specgate) {
      expect(s.user, name).toBe('node');
      expect(s.read_only, name).toBe(true);
      expect(s.tmpfs, name).toEqual(['/tmp']);
      const env = s.environment as Record<string, string>;
      expect(env.SPECGATE_STORE).toMatch(/^postgres:\/\/specgate:\$\{PG_PASSWORD:\?[^}]+\}@postgres:5432\/specgate$/);
      for (const [k, v] of Object.entries(env)) if (/KEY|TOKEN|PEPPER|PASSWORD/.test(k)) expect(v, k).toMatch(/^\$\{[A-Z_]+(:[?-][^}]*)?\}$/);
    }
    expect(compose.services.postgres.image).toMatch(/^postgres:/);
  });

  it('balances over exactly those instances, health-checked on /readyz, never exposing /admin', () => {
    const cfg = fs.readFileSync(path.join(root, 'deploy/haproxy.cfg'), 'utf8');
    const servers = [...cfg.matchAll(/^\s*server (\S+) (\S+):3000 check/gm)].map((m) => [m[1], m[2]]);
    expect(servers).toEqual(specgate.map(([name]) => [name, name]));
    expect(cfg).toMatch(/option httpchk GET \/readyz/);
    expect(cfg).toMatch(/retry-on conn-failure/);
    expect(cfg).toMatch(/deny .* if \{ path_beg \/admin \}/);
  });

  it('builds an image that runs as a non-root user, checks /healthz and bakes in no secret', () => {
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(finalStage).toMatch(/^USER node$/m);
    expect(finalStage).toMatch(/HEALTHCHECK[\s\S]*127\.0\.0\.1:3000\/healthz/);
    expect(dockerfile).not.toMatch(/^(ENV|ARG) .*(KEY|TOKEN|PEPPER|PASSWORD|SECRET)/m);
    expect(fs.readFileSync(path.join(root, '.dockerignore'), 'utf8')).toMatch(/^deploy\/\.env$/m);
  });
});
