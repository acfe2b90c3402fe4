/**
 * The whole path: the generated HaloPSA connector served by the runtime, its calls authenticated
 * by a token from a local OAuth2 server on the tenant's host, against an upstream that insists
 * on that token.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../generator/paths.ts';
import type { ConnectorModel } from '../runtime/model.ts';
import { createAuthenticator } from '../runtime/credentials/authenticate.ts';
import { resolveBaseUrl } from '../runtime/credentials/base-url.ts';
import type { VendorCredential } from '../runtime/credentials/types.ts';
import { startRuntime, type Runtime } from '../runtime/start.ts';
import { configureUpstreams } from '../runtime/credentials/upstreams.ts';
import { parseUpstreamConfig } from '../runtime/credentials/config.ts';
import { generateInto, haveVendorDocs, tempDir, vendorDocsMissing } from './helpers/e2e.ts';

const SECRET = 'planted-SECRET-e2e-4d1e';

describe.skipIf(!haveVendorDocs)(`HaloPSA over OAuth2 client credentials, end to end${haveVendorDocs ? '' : ` (${vendorDocsMissing})`}`, () => {
  let out: string;
  let server: http.Server;
  let origin: string;
  let runtime: Runtime;
  const tokenRequests: URLSearchParams[] = [];
  const issued = new Set<string>();
  const apiAuth: Array<string | undefined> = [];

  beforeAll(async () => {
    out = tempDir('credentials');
    await generateInto([path.join(projectRoot, 'specs/halopsa.yaml')], out);
    // One host, as a HaloPSA tenant: /auth/token issues tokens, /api answers only with one.
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        if (req.url === '/auth/token' && req.method === 'POST') {
          const form = new URLSearchParams(body);
          tokenRequests.push(form);
          if (form.get('client_id') !== 'halo-app' || form.get('client_secret') !== SECRET || form.get('grant_type') !== 'client_credentials') {
            res.writeHead(401).end(JSON.stringify({ error: 'invalid_client' }));
            return;
          }
          const token = `halo-token-${issued.size + 1}`;
          issued.add(token);
          res.end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 3600 }));
          return;
        }
        apiAuth.push(req.headers.authorization);
        const token = req.headers.authorization?.replace(/^Bearer /, '');
        if (!token || !issued.has(token)) {
          res.writeHead(401).end(JSON.stringify({ message: 'unauthorised' }));
          return;
        }
        const m = /^\/api\/Tickets\/(\d+)\?/.exec(req.url ?? '');
        if (!m) {
          res.writeHead(404).end('{}');
          return;
        }
        res.end(JSON.stringify({ id: Number(m[1]), summary: 'Printer on fire', status_name: 'Open', client_id: 12, client_name: 'Acme' }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 60_000);

  afterAll(async () => {
    await runtime?.close();
    await new Promise<void>((r) => server.close(() => r()));
    fs.rmSync(out, { recursive: true, force: true });
  });

  async function start(secret: string): Promise<Runtime> {
    const { model } = (await import(path.join(out, 'halopsa', 'model.ts'))) as { model: ConnectorModel };
    // The generated model's own auth: oauth2 with the templated tenant token URL.
    expect(model.auth.schemes).toEqual([{ name: 'halo_oauth', type: 'oauth2', tokenUrl: 'https://{tenant}.halopsa.com/auth/token' }]);
    const config = parseUpstreamConfig('inline.yaml', `upstreams:\n  halopsa:\n    baseUrl: ${origin}/api\n    credential: { kind: oauth2-client-credentials, clientId: halo-app, clientSecret: "\${HALO_SECRET}", scope: all }\n`, { HALO_SECRET: secret });
    // Tickets are verified to be the session customer's (client_id 12 at Halo).
    return startRuntime({ generatedDir: out, mock: false, upstreams: configureUpstreams([model], config), customerIds: { halopsa: '12' }, logger: pino({ level: 'silent' }) });
  }

  const ctx = () => ({ requestId: 'r1', signal: new AbortController().signal, headers: {} });

  it('calls the tool with a bearer token fetched once from the tenant host', async () => {
    runtime = await start(SECRET);
    const tool = runtime.catalog().tools.find((t) => t.name === 'halopsa_get_ticket')!;
    for (const id of [7, 8, 9]) {
      const result = await runtime.callTool(tool, { ticket_id: id }, ctx());
      expect(result.isError ?? false).toBe(false);
      expect(JSON.stringify(result.structuredContent)).toContain('Printer on fire');
      expect(JSON.stringify(result.structuredContent)).toContain(`${id}`);
    }
    expect(tokenRequests).toHaveLength(1);
    expect(tokenRequests[0].get('scope')).toBe('all');
    expect(apiAuth.slice(-3)).toEqual(['Bearer halo-token-1', 'Bearer halo-token-1', 'Bearer halo-token-1']);
    await runtime.close();
  });

  it('answers with a clear error, without the secret, when the vendor rejects the client credentials', async () => {
    const wrong = `${SECRET}-old`;
    runtime = await start(wrong);
    const tool = runtime.catalog().tools.find((t) => t.name === 'halopsa_get_ticket')!;
    const before = apiAuth.length;
    const result = await runtime.callTool(tool, { ticket_id: 7 }, ctx());
    expect(result.isError).toBe(true);
    const text = JSON.stringify(result);
    expect(text).not.toContain(SECRET);
    expect(apiAuth.length).toBe(before); // nothing reached the API without a token
    expect(text).toMatch(/halopsa: token request to http:\/\/127\.0\.0\.1:\d+\/auth\/token: the vendor rejected the client credentials \(HTTP 401 invalid_client\)/);
  });

  it('fits each vendor\'s generated model with the credential that vendor really uses', async () => {
    const others = tempDir('credentials-all');
    try {
      await generateInto(['connectwise', 'hudu', 'itglue', 'pax8'].map((n) => path.join(projectRoot, `specs/${n}.yaml`)), others);
      const load = async (name: string) => ((await import(path.join(others, name, 'model.ts'))) as { model: ConnectorModel }).model;
      const cases: Array<[string, { variables?: Record<string, string>; region?: string }, VendorCredential, string, Record<string, string>]> = [
        ['hudu', { variables: { hudu_host: 'acme.huducloud.com' } }, { kind: 'apiKey', key: SECRET }, 'https://acme.huducloud.com/api/v1', { 'x-api-key': SECRET }],
        ['itglue', { region: 'eu' }, { kind: 'apiKey', key: SECRET }, 'https://api.eu.itglue.com', { 'x-api-key': SECRET }],
        ['connectwise', { region: 'eu' }, { kind: 'connectwise', companyId: 'acme', publicKey: 'pub', privateKey: SECRET, clientId: 'cid' },
          'https://api-eu.myconnectwise.net/v4_6_release/apis/3.0', { authorization: `Basic ${Buffer.from(`acme+pub:${SECRET}`).toString('base64')}`, clientid: 'cid' }],
        ['pax8', {}, { kind: 'bearer', token: SECRET }, 'https://api.pax8.com/v1', { authorization: `Bearer ${SECRET}` }],
      ];
      for (const [name, where, credential, baseUrl, headers] of cases) {
        const model = await load(name);
        expect(resolveBaseUrl(model, where)).toBe(baseUrl);
        const req = new Request(`${baseUrl}/x`);
        await createAuthenticator(model, credential, { baseUrl })(req);
        expect(Object.fromEntries(Object.keys(headers).map((h) => [h, req.headers.get(h)]))).toEqual(headers);
      }
      // Pax8's token URL is its own token manager, whatever the API host.
      const pax8 = await load('pax8');
      expect(pax8.auth.schemes.map((s) => [s.type, s.tokenUrl])).toEqual([['oauth2', 'https://token-manager.pax8.com/oauth/token']]);
    } finally {
      fs.rmSync(others, { recursive: true, force: true });
    }
  }, 60_000);
});
