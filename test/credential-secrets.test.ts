/**
 * The planted-secret test. Tenant A's vendor credentials (an API key and a basic-auth password,
 * both distinctive) are stored through the credential broker; real calls go through the official
 * MCP client over real HTTP with the governance chain on, against recording upstreams, including
 * calls that fail (upstream 401 that echoes the credential back, 500, timeout). Then every log
 * line, tool result, audit record, usage row, the /metrics output and the error texts are searched:
 * the secret may appear only in the header of tenant A's upstream requests, never in tenant B's.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { apiKeysRepo, openStore, settingsRepo, tenantsRepo, type Store } from '../runtime/store/index.ts';
import type { Runtime } from '../runtime/start.ts';
import { createCredentialBroker, type CredentialBroker } from '../runtime/credentials/broker.ts';
import { MASTER_KEYS_ENV, parseKeyring } from '../runtime/credentials/keyring.ts';
import { startRecorder, type Recorded, type Recorder } from './fixtures/call/harness.ts';
import { generateInto, root, tempDir } from './helpers/e2e.ts';
import { serveGoverned } from './helpers/governed.ts';

const API_KEY = 'planted-APIKEY-a-5c1e9b';
const PASSWORD = 'planted-PASSWORD-a-93d2f0';
const BASIC = Buffer.from(`svc-a:${PASSWORD}`).toString('base64');
const ROTATED = 'planted-APIKEY-a-rotated-0b77';
/** Every form a leak could take. */
const PLANTED = [API_KEY, PASSWORD, BASIC, Buffer.from(PASSWORD).toString('base64'), Buffer.from(API_KEY).toString('base64'), ROTATED];

type Result = { isError?: boolean; content: Array<{ type: string; text?: string }>; structuredContent?: any };

const METRICS_TOKEN = 'metrics-scrape-token';

describe('stored vendor credentials never leak', () => {
  const dir = tempDir('credential-secrets');
  const lines: string[] = [];
  let store: Store;
  let broker: CredentialBroker;
  let upstreamA: Recorder;
  let upstreamB: Recorder;
  let runtime: Runtime;
  let app: FastifyInstance;
  let url: string;
  const keys: Record<string, string> = {};
  const results: Result[] = [];
  const errors: string[] = [];

  beforeAll(async () => {
    // The helpdesk fixture, offering basic auth beside its API key header, served as two connectors.
    const doc = fs.readFileSync(path.join(root, 'test/fixtures/generator/helpdesk.yaml'), 'utf8')
      .replace('      name: x-api-key\n', '      name: x-api-key\n    basicAuth:\n      type: http\n      scheme: basic\n')
      .replace('security:\n  - apiKey: []\n', 'security:\n  - apiKey: []\n  - basicAuth: []\n');
    fs.writeFileSync(path.join(dir, 'helpdesk.yaml'), doc);
    const specs = ['helpdesk', 'deskbasic'].map((connector) => {
      const file = path.join(dir, `${connector}.spec.yaml`);
      fs.writeFileSync(file, `specgate: 1\nconnector: ${connector}\ndocument:\n  source: ${path.join(dir, 'helpdesk.yaml')}\ntools:\n  - operationId: getTicket\n    name: ${connector}_get_ticket\n`);
      return file;
    });
    await generateInto(specs, path.join(dir, 'generated'));

    // Ticket 401: the vendor refuses and echoes what it was sent, as some do; 500: fails; 408: never answers.
    const reply = (u: URL, req: { headers: Record<string, unknown> }) => {
      const id = u.pathname.split('/').pop();
      if (id === '401') return { status: 401, body: { message: `invalid credentials: ${String(req.headers['x-api-key'] ?? req.headers.authorization)}` } };
      if (id === '500') return { status: 500, body: { message: 'internal error' } };
      if (id === '408') return 'hang' as const;
      return { body: { id: Number(id), summary: 'printer on fire' } };
    };
    upstreamA = await startRecorder(reply, '/api');
    upstreamB = await startRecorder(reply, '/api');

    store = await openStore(`sqlite:${path.join(dir, 'store.db')}`);
    const tenants = tenantsRepo(store);
    const settings = settingsRepo(store);
    for (const t of ['msp-a', 'msp-b']) {
      await tenants.createTenant({ id: t, name: t });
      keys[t] = (await apiKeysRepo(store).create({ tenantId: t, subject: `tech@${t}`, roles: ['technician'] })).key;
      await settings.grant(t, '*', '*');
    }
    broker = createCredentialBroker({ store, keyring: parseKeyring(`k1:${randomBytes(32).toString('base64')}`, MASTER_KEYS_ENV) });
    await broker.put('msp-a', 'helpdesk', { baseUrl: upstreamA.url, credential: { kind: 'apiKey', key: API_KEY } });
    await broker.put('msp-a', 'deskbasic', { baseUrl: upstreamA.url, credential: { kind: 'basic', username: 'svc-a', password: PASSWORD } });
    // Tenant B keeps only its location in the config file and brings its own key through the store.
    await broker.put('msp-b', 'helpdesk', { kind: 'apiKey', key: 'tenant-b-own-key' });

    const logger = pino({ level: 'trace' }, new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } }));
    ({ runtime, app, url } = await serveGoverned(store, {
      generatedDir: path.join(dir, 'generated'),
      upstreams: { helpdesk: { baseUrl: `${upstreamB.origin}/nowhere` }, deskbasic: { baseUrl: `${upstreamB.origin}/nowhere` } },
      tenantUpstreamConfig: { 'msp-b': { helpdesk: { baseUrl: upstreamB.url } } },
      tenantCredentials: broker.tenantUpstreams,
      logger,
      caller: { timeoutMs: 400, retries: 1, breaker: { threshold: 1000, halfOpenAfterMs: 1000 } },
      // A governed deployment serves /metrics on its MCP port only behind a token.
      http: { metricsToken: METRICS_TOKEN },
    }));
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await upstreamA?.close();
    await upstreamB?.close();
    await store?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function call(tenant: string, tool: string, id: number): Promise<Result> {
    const client = new Client({ name: 'planted-secret', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${keys[tenant]}` } } }));
    try {
      const r = (await client.callTool({ name: tool, arguments: { id } })) as Result;
      results.push(r);
      return r;
    } catch (e) {
      errors.push(String((e as Error).stack ?? e));
      throw e;
    } finally {
      await client.close();
    }
  }
  const text = (r: Result) => r.content.map((c) => c.text ?? '').join('\n');

  it("injects tenant A's stored credentials into its upstream requests, and only there", async () => {
    const before = upstreamA.requests.length;
    expect((await call('msp-a', 'helpdesk_get_ticket', 1)).structuredContent.result.summary).toBe('printer on fire');
    expect((await call('msp-a', 'deskbasic_get_ticket', 2)).structuredContent.result.summary).toBe('printer on fire');
    const [apiKeyCall, basicCall] = upstreamA.requests.slice(before);
    expect(apiKeyCall.headers['x-api-key']).toBe(API_KEY);
    expect(apiKeyCall.headers.authorization).toBeUndefined();
    expect(basicCall.headers.authorization).toBe(`Basic ${BASIC}`);
    expect(basicCall.headers['x-api-key']).toBeUndefined();
  });

  it("sends tenant B's calls to its own upstream with its own key", async () => {
    expect((await call('msp-b', 'helpdesk_get_ticket', 3)).isError).toBeFalsy();
    expect(upstreamB.requests.at(-1)!.headers['x-api-key']).toBe('tenant-b-own-key');
    expect(upstreamB.requests.at(-1)!.url).toBe('/api/tickets/3');
    // B has no deskbasic credential: its call goes to the shared upstream, without A's.
    await call('msp-b', 'deskbasic_get_ticket', 4);
    expect(upstreamB.requests.at(-1)!.url).toBe('/nowhere/tickets/4');
    expect(upstreamB.requests.at(-1)!.headers.authorization).toBeUndefined();
  });

  it('answers failing upstream calls with errors that carry no credential', async () => {
    for (const tool of ['helpdesk_get_ticket', 'deskbasic_get_ticket']) {
      const refused = await call('msp-a', tool, 401);
      expect(refused.isError).toBe(true);
      // The vendor echoed the credential; the runtime passed its message on with the credential cut out.
      expect(text(refused)).toMatch(/^The vendor rejected the credentials \(HTTP 401\).*Vendor said: .*invalid credentials: .*\[redacted\]/s);
      const failed = await call('msp-a', tool, 500);
      expect(failed.isError).toBe(true);
      expect(text(failed)).toMatch(/500/);
      const slow = await call('msp-a', tool, 408);
      expect(slow.isError).toBe(true);
      expect(text(slow)).toMatch(/No answer from \w+ within 400 ms/);
    }
  });

  it('picks up a changed credential on reload, without a restart', async () => {
    await broker.put('msp-a', 'helpdesk', { baseUrl: upstreamA.url, credential: { kind: 'apiKey', key: ROTATED } });
    await runtime.reloadCredentials();
    await call('msp-a', 'helpdesk_get_ticket', 5);
    expect(upstreamA.requests.at(-1)!.headers['x-api-key']).toBe(ROTATED);
    expect(lines.some((l) => l.includes('credentials reloaded'))).toBe(true);
  });

  it('leaves the planted secrets nowhere but in the upstream request headers', async () => {
    expect((await fetch(new URL('/metrics', url))).status).toBe(401);
    const metrics = await (await fetch(new URL('/metrics', url), { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    expect(metrics).toMatch(/helpdesk/);
    const audit = await store.db.selectFrom('audit').selectAll().execute();
    const usage = await store.db.selectFrom('usage').selectAll().execute();
    expect(audit.filter((r) => r.tenant_id === 'msp-a').length).toBeGreaterThanOrEqual(9);
    expect(usage.filter((r) => r.tenant_id === 'msp-a').length).toBeGreaterThanOrEqual(9);
    expect(lines.length).toBeGreaterThan(20);
    expect(results.length).toBe(11);

    const outside: Record<string, string> = {
      logs: lines.join(''),
      results: JSON.stringify(results),
      errors: errors.join('\n'),
      audit: JSON.stringify(audit),
      usage: JSON.stringify(usage),
      metrics,
      credentialsTable: JSON.stringify(await store.db.selectFrom('credentials').selectAll().execute()),
      listing: JSON.stringify(await broker.list()),
      tenantB: JSON.stringify(upstreamB.requests),
    };
    for (const [where, haystack] of Object.entries(outside)) {
      for (const secret of PLANTED) expect(haystack.includes(secret), `${where} contains a planted secret`).toBe(false);
    }
    // In tenant A's requests: in the credential headers, and in nothing else (URL, other headers).
    const withoutCredentials = upstreamA.requests.map(({ headers: { authorization: _a, 'x-api-key': _k, ...rest }, ...r }): Recorded => ({ ...r, headers: rest }));
    for (const secret of PLANTED) expect(JSON.stringify(withoutCredentials)).not.toContain(secret);
    expect(upstreamA.requests.filter((r) => r.headers['x-api-key'] === API_KEY).length).toBeGreaterThanOrEqual(4);
  });
});
