import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator, resolveTokenUrl } from '../runtime/credentials/authenticate.ts';
import { resolveBaseUrl } from '../runtime/credentials/base-url.ts';
import { CredentialError, type VendorCredential } from '../runtime/credentials/types.ts';
import { bearerOnly, connectwise, halopsa, hudu, itglue, pax8, queryKey } from './fixtures/credentials/models.ts';
import { startTokenServer, type TokenServer } from './fixtures/credentials/token-server.ts';

const SECRET = 'planted-SECRET-value-7f3a9c';

/** An upstream that answers with the headers it received. */
let echo: http.Server;
let echoUrl: string;
beforeAll(async () => {
  echo = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(req.headers));
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  echoUrl = `http://127.0.0.1:${(echo.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => echo.close(() => r())));

async function send(auth: (req: Request) => Promise<unknown>, path = '/api/x'): Promise<Record<string, string>> {
  const req = new Request(`${echoUrl}${path}`);
  await auth(req);
  return (await (await fetch(req)).json()) as Record<string, string>;
}

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('API key, basic and bearer credentials', () => {
  it('puts a Hudu / IT Glue key in the header the document names', async () => {
    for (const model of [hudu, itglue]) {
      const headers = await send(createAuthenticator(model, { kind: 'apiKey', key: SECRET }, { baseUrl: echoUrl }));
      expect(headers['x-api-key']).toBe(SECRET);
      expect(headers.authorization).toBeUndefined();
    }
  });

  it('sends ConnectWise member keys as companyId+publicKey:privateKey plus the clientId header', async () => {
    const cred: VendorCredential = { kind: 'connectwise', companyId: 'acme', publicKey: 'pubKEY123', privateKey: SECRET, clientId: '0b5b-client' };
    const headers = await send(createAuthenticator(connectwise, cred, { baseUrl: echoUrl }));
    expect(headers.authorization).toBe(`Basic ${Buffer.from(`acme+pubKEY123:${SECRET}`).toString('base64')}`);
    expect(headers.clientid).toBe('0b5b-client');
  });

  it('sends plain basic and bearer credentials', async () => {
    const basic = await send(createAuthenticator(connectwise, { kind: 'basic', username: 'u', password: SECRET }, { baseUrl: echoUrl }));
    expect(Buffer.from(basic.authorization.replace(/^Basic /, ''), 'base64').toString()).toBe(`u:${SECRET}`);
    const bearer = await send(createAuthenticator(bearerOnly, { kind: 'bearer', token: SECRET }, { baseUrl: echoUrl }));
    expect(bearer.authorization).toBe(`Bearer ${SECRET}`);
  });

  it('refuses credentials that do not fit the document, naming the schemes and never the secret', () => {
    const cases: Array<[Parameters<typeof createAuthenticator>[0], VendorCredential, RegExp]> = [
      [queryKey, { kind: 'apiKey', key: SECRET }, /query string/],
      [halopsa, { kind: 'apiKey', key: SECRET }, /halo_oauth \(oauth2\)/],
      [hudu, { kind: 'oauth2-client-credentials', clientId: 'c', clientSecret: SECRET }, /no oauth2 scheme.*APIKeyHeader \(apiKey in header x-api-key\)/],
      [connectwise, { kind: 'apiKey', key: SECRET }, /no header API key scheme/],
      [itglue, { kind: 'connectwise', companyId: 'a', publicKey: 'b', privateKey: SECRET, clientId: 'c' }, /no http basic scheme/],
      [hudu, { kind: 'bearer', token: SECRET }, /no bearer, oauth2/],
    ];
    for (const [model, cred, message] of cases) {
      const e = errorOf(() => createAuthenticator(model, cred, { baseUrl: echoUrl }));
      expect(e).toBeInstanceOf(CredentialError);
      expect(e.message).toMatch(message);
      expect(e.message).toContain(model.name);
      expect(e.message).not.toContain(SECRET);
    }
  });
});

describe('OAuth2 client credentials', () => {
  let tokens: TokenServer;
  beforeAll(async () => {
    tokens = await startTokenServer({ clientId: 'halo-client', clientSecret: SECRET, scope: 'all' });
  });
  afterAll(() => tokens.close());
  const halo = (extra: Partial<Extract<VendorCredential, { kind: 'oauth2-client-credentials' }>> = {}, now?: () => number) =>
    createAuthenticator(halopsa, { kind: 'oauth2-client-credentials', clientId: 'halo-client', clientSecret: SECRET, scope: 'all', ...extra }, { baseUrl: `${tokens.origin}/api`, now });

  it('gets a token from the tenant host (HaloPSA /auth/token) with the form fields and caches it', async () => {
    const before = tokens.requests.length;
    const auth = halo();
    const seen = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const req = new Request(`${tokens.origin}/api/Tickets`);
      await auth(req);
      seen.add(req.headers.get('authorization') ?? '');
    }
    expect(tokens.requests.length - before).toBe(1);
    expect([...seen]).toEqual([`Bearer ${tokens.issued.at(-1)}`]);
    const form = tokens.requests.at(-1)!;
    expect(Object.fromEntries(form)).toEqual({ grant_type: 'client_credentials', client_id: 'halo-client', client_secret: SECRET, scope: 'all' });
  });

  it('refreshes shortly before expires_in runs out', async () => {
    let clock = 1_000_000;
    tokens.expiresIn = 600;
    const auth = halo({}, () => clock);
    const before = tokens.requests.length;
    const header = async () => {
      const req = new Request(`${tokens.origin}/api/Tickets`);
      await auth(req);
      return req.headers.get('authorization');
    };
    const first = await header();
    clock += 500_000; // 500 s of 600: still good
    expect(await header()).toBe(first);
    expect(tokens.requests.length - before).toBe(1);
    clock += 50_000; // 550 s: inside the last minute, refreshed
    const second = await header();
    expect(second).not.toBe(first);
    expect(tokens.requests.length - before).toBe(2);
    tokens.expiresIn = 3600;
  });

  it('makes one token request for 20 concurrent first calls', async () => {
    tokens.delayMs = 50;
    const before = tokens.requests.length;
    const auth = halo();
    const reqs = Array.from({ length: 20 }, () => new Request(`${tokens.origin}/api/Tickets`));
    await Promise.all(reqs.map((r) => auth(r)));
    tokens.delayMs = 0;
    expect(tokens.requests.length - before).toBe(1);
    expect(new Set(reqs.map((r) => r.headers.get('authorization'))).size).toBe(1);
  });

  it('reports rejected client credentials clearly, without the secret, and retries on the next call', async () => {
    const wrong = `${SECRET}-wrong`;
    const auth = createAuthenticator(halopsa, { kind: 'oauth2-client-credentials', clientId: 'halo-client', clientSecret: wrong }, { baseUrl: `${tokens.origin}/api` });
    const before = tokens.requests.length;
    for (let i = 0; i < 2; i++) {
      const e = await auth(new Request(`${tokens.origin}/api/Tickets`)).then(() => undefined, (err: Error) => err);
      expect(e).toBeInstanceOf(CredentialError);
      expect(e!.message).toMatch(/halopsa: token request to http:\/\/127\.0\.0\.1:\d+\/auth\/token: the vendor rejected the client credentials \(HTTP 401 invalid_client\)/);
      expect(e!.message).not.toContain(SECRET);
      expect(JSON.stringify(e)).not.toContain(SECRET);
    }
    expect(tokens.requests.length - before).toBe(2);
  });

  it('sends Pax8 its audience, to an explicit token URL', async () => {
    const pax = await startTokenServer({ clientId: 'pax-client', clientSecret: SECRET, path: '/oauth/token', audience: 'api://p8p.client' });
    try {
      const auth = createAuthenticator(pax8, {
        kind: 'oauth2-client-credentials', clientId: 'pax-client', clientSecret: SECRET, audience: 'api://p8p.client', tokenUrl: `${pax.origin}/oauth/token`,
      }, { baseUrl: 'https://api.pax8.com/v1' });
      const req = new Request('https://api.pax8.com/v1/companies');
      await auth(req);
      expect(req.headers.get('authorization')).toBe(`Bearer ${pax.issued[0]}`);
      expect(pax.requests[0].get('audience')).toBe('api://p8p.client');
      expect(pax.requests[0].has('scope')).toBe(false);
    } finally {
      await pax.close();
    }
  });

  it('reports an unreachable token endpoint without the secret', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const auth = createAuthenticator(pax8, { kind: 'oauth2-client-credentials', clientId: 'c', clientSecret: SECRET, tokenUrl: `http://127.0.0.1:${port}/oauth/token` }, { baseUrl: 'https://api.pax8.com/v1' });
    const e = await auth(new Request('https://api.pax8.com/v1/x')).then(() => undefined, (err: Error) => err);
    expect(e?.message).toBe(`pax8: token request to http://127.0.0.1:${port}/oauth/token failed: ECONNREFUSED`);
    expect(e?.message).not.toContain(SECRET);
  });
});

describe('token URLs', () => {
  it('follows the tenant host for a templated or relative token URL, keeps an absolute one', () => {
    expect(resolveTokenUrl(halopsa, halopsa.auth.schemes[0].tokenUrl, 'https://acme.halopsa.com/api')).toBe('https://acme.halopsa.com/auth/token');
    // An on-premises HaloPSA: the token endpoint lives on the same host as the API.
    expect(resolveTokenUrl(halopsa, halopsa.auth.schemes[0].tokenUrl, 'https://halo.acme.example/api')).toBe('https://halo.acme.example/auth/token');
    expect(resolveTokenUrl(halopsa, '/auth/token', 'https://acme.halopsa.com/api')).toBe('https://acme.halopsa.com/auth/token');
    expect(resolveTokenUrl(halopsa, 'auth/token', 'https://acme.halopsa.com/api')).toBe('https://acme.halopsa.com/auth/token');
    expect(resolveTokenUrl(pax8, pax8.auth.schemes[0].tokenUrl, 'https://api.pax8.com/v1')).toBe('https://token-manager.pax8.com/oauth/token');
  });

  it('refuses a token URL it cannot fill or that is not https', () => {
    expect(() => resolveTokenUrl(pax8, 'https://{region}.pax8.com/token', 'https://api.pax8.com/v1')).toThrow(/template variables that neither the upstream's variables nor its base URL fill/);
    expect(() => resolveTokenUrl(pax8, 'http://tokens.example.com/token', 'https://api.pax8.com/v1')).toThrow(/must use https/);
    expect(() => resolveTokenUrl(pax8, undefined, 'https://api.pax8.com/v1')).toThrow(/declares no OAuth2 token URL/);
  });
});

describe('per-tenant base URLs', () => {
  it('fills server templates and picks regional servers', () => {
    expect(resolveBaseUrl(halopsa, { variables: { tenant: 'acme' } })).toBe('https://acme.halopsa.com/api');
    expect(resolveBaseUrl(hudu, { variables: { hudu_host: 'acme.huducloud.com' } })).toBe('https://acme.huducloud.com/api/v1');
    expect(resolveBaseUrl(itglue, {})).toBe('https://api.itglue.com');
    expect(resolveBaseUrl(itglue, { region: 'eu' })).toBe('https://api.eu.itglue.com');
    expect(resolveBaseUrl(itglue, { region: 'default' })).toBe('https://api.itglue.com');
    expect(resolveBaseUrl(connectwise, { region: 'AU' })).toBe('https://api-au.myconnectwise.net/v4_6_release/apis/3.0');
    expect(resolveBaseUrl(connectwise, { region: 'na' })).toBe('https://na.myconnectwise.net/v4_6_release/apis/3.0');
  });

  it('takes an explicit https base URL, or http only on the local machine', () => {
    expect(resolveBaseUrl(halopsa, { baseUrl: 'https://halo.acme.example/api/' })).toBe('https://halo.acme.example/api');
    expect(resolveBaseUrl(halopsa, { baseUrl: 'http://127.0.0.1:8080/api' })).toBe('http://127.0.0.1:8080/api');
    expect(resolveBaseUrl(halopsa, { baseUrl: 'http://localhost:8080' })).toBe('http://localhost:8080');
    expect(() => resolveBaseUrl(halopsa, { baseUrl: 'http://halo.acme.example/api' })).toThrow(/halopsa: the base URL must use https/);
    expect(() => resolveBaseUrl(halopsa, { baseUrl: 'https://user:pw@halo.acme.example/api' })).toThrow(/user info/);
    expect(() => resolveBaseUrl(halopsa, { baseUrl: 'acme.halopsa.com' })).toThrow(/not an absolute URL/);
    expect(() => resolveBaseUrl(halopsa, { baseUrl: 'https://{tenant}.halopsa.com/api' })).toThrow(/template variable/);
  });

  it('refuses values that would move the request to another host', () => {
    for (const bad of ['evil.com/x', 'a@b', 'evil.com', 'acme:443', 'acme?x', '', '-acme']) {
      expect(() => resolveBaseUrl(halopsa, { variables: { tenant: bad } })).toThrow(/halopsa: the variable "tenant" must be one host label/);
    }
    for (const bad of ['evil.com/x', 'a@b', 'host:8443', 'a..b', 'https://x.com']) {
      expect(() => resolveBaseUrl(hudu, { variables: { hudu_host: bad } })).toThrow(/hudu: the variable "hudu_host" must be a host name/);
    }
  });

  it('names a missing or unknown variable and an unknown region', () => {
    expect(() => resolveBaseUrl(halopsa, {})).toThrow('halopsa: the server https://{tenant}.halopsa.com/api needs the variable "tenant"; set upstreams.halopsa.variables.tenant (or give a baseUrl)');
    expect(() => resolveBaseUrl(halopsa, { variables: { tenant: 'acme', tennant: 'x' } })).toThrow(/the variable "tennant" is not used/);
    expect(() => resolveBaseUrl(halopsa, { baseUrl: 'https://halo.acme.example/api', variables: { tenant: 'acme' } })).toThrow('halopsa: give either a baseUrl or variables/region, not both');
    expect(() => resolveBaseUrl(itglue, { region: 'jp' })).toThrow(/no single server for region "jp".*default \(https:\/\/api\.itglue\.com\), eu \(/);
  });
});
