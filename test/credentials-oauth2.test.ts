/**
 * The OAuth2 password grant (Datto RMM), per-customer token endpoints (Microsoft Graph) and header
 * prefixes (SentinelOne), each against a real local OAuth2 server and API over HTTP: caching,
 * early refresh, refresh tokens, a shared in-flight request, invalidation after the vendor's 401,
 * one token per (tenant, customer), and error messages that never carry a secret.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAuthenticator, resolveTokenUrl, type Authenticator } from '../runtime/credentials/authenticate.ts';
import { CredentialError, type VendorCredential } from '../runtime/credentials/types.ts';
import { dattoRmm, graph, hudu, sentinelone } from './fixtures/credentials/models.ts';
import { startOAuthServer, type OAuthServer } from './fixtures/credentials/oauth-server.ts';

const API_KEY = 'rmm-api-key-planted-41c7';
const SECRET_KEY = 'rmm-secret-key-planted-9e2b';
const CLIENT_SECRET = 'graph-client-secret-planted-c0d3';
const PUBLIC = { id: 'public-client', secret: 'public' };

let server: OAuthServer;
beforeAll(async () => {
  server = await startOAuthServer({
    publicClient: PUBLIC, username: API_KEY, password: SECRET_KEY,
    client: { id: 'msp-app', secret: CLIENT_SECRET, scope: 'https://graph.microsoft.com/.default' },
  });
});
afterAll(() => server.close());
beforeEach(() => {
  server.tokenRequests.length = 0;
  server.apiRequests.length = 0;
  server.expiresIn = 3600;
  server.issueRefreshTokens = true;
  server.delayMs = 0;
});

/** Sends one API request the way the guard does: authenticate, send, report a 401 back. */
async function call(auth: Authenticator, path: string, who: { tenant?: string; customer?: string } = {}): Promise<{ status: number; body: any; authorization: string | null }> {
  const req = new Request(`${server.origin}/api${path}`);
  const onRejected = await auth(req, who);
  const res = await fetch(req);
  if (res.status === 401 && onRejected) onRejected();
  return { status: res.status, body: await res.json(), authorization: req.headers.get('authorization') };
}

async function failure(p: Promise<unknown>): Promise<Error> {
  return p.then(() => {
    throw new Error('expected a failure');
  }, (e: Error) => e);
}

const password = (over: Partial<Extract<VendorCredential, { kind: 'oauth2-password' }>> = {}): VendorCredential => ({
  kind: 'oauth2-password', username: API_KEY, password: SECRET_KEY, clientSecret: PUBLIC.secret, tokenUrl: `${server.origin}/auth/oauth/token`, ...over,
});

describe('OAuth2 password grant (Datto RMM)', () => {
  it('asks with the public client in HTTP Basic and the API key and secret as username and password, then caches the token', async () => {
    const auth = createAuthenticator(dattoRmm, password(), { baseUrl: `${server.origin}/api` });
    const first = await call(auth, '/organization');
    const second = await call(auth, '/organization');
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(server.tokenRequests).toHaveLength(1);
    const [{ form, authorization }] = server.tokenRequests;
    expect(authorization).toBe(`Basic ${Buffer.from('public-client:public').toString('base64')}`);
    expect(Object.fromEntries(form)).toEqual({ grant_type: 'password', username: API_KEY, password: SECRET_KEY });
    expect(first.authorization).toBe(second.authorization);
    expect(first.authorization).toMatch(/^Bearer at-rmm-/);
  });

  it('renews early with the refresh token, without sending the password again', async () => {
    let clock = 1_000_000;
    server.expiresIn = 300;
    const auth = createAuthenticator(dattoRmm, password(), { baseUrl: `${server.origin}/api`, now: () => clock });
    const a = await call(auth, '/organization');
    clock += 239_000; // a minute before expiry: still the same token
    expect((await call(auth, '/organization')).authorization).toBe(a.authorization);
    clock += 2_000;
    const b = await call(auth, '/organization');
    expect(b.status).toBe(200);
    expect(b.authorization).not.toBe(a.authorization);
    expect(server.tokenRequests.map((r) => r.form.get('grant_type'))).toEqual(['password', 'refresh_token']);
    expect(server.tokenRequests[1]!.form.has('password')).toBe(false);
    expect(server.tokenRequests[1]!.form.get('refresh_token')).toMatch(/^rt-/);
  });

  it('runs the password grant again when the refresh token is refused, and when the server gives none', async () => {
    let clock = 0;
    const auth = createAuthenticator(dattoRmm, password(), { baseUrl: `${server.origin}/api`, now: () => clock });
    await call(auth, '/organization');
    server.refreshTokens.clear(); // revoked
    clock += 3_600_000;
    expect((await call(auth, '/organization')).status).toBe(200);
    expect(server.tokenRequests.map((r) => r.form.get('grant_type'))).toEqual(['password', 'refresh_token', 'password']);

    server.tokenRequests.length = 0;
    server.issueRefreshTokens = false;
    const plain = createAuthenticator(dattoRmm, password(), { baseUrl: `${server.origin}/api`, now: () => clock });
    await call(plain, '/organization');
    clock += 3_600_000;
    await call(plain, '/organization');
    expect(server.tokenRequests.map((r) => r.form.get('grant_type'))).toEqual(['password', 'password']);
  });

  it('drops the token after the vendor answers 401, so the next call gets a new one', async () => {
    const auth = createAuthenticator(dattoRmm, password(), { baseUrl: `${server.origin}/api` });
    const a = await call(auth, '/organization');
    server.tokens.delete(a.authorization!.slice('Bearer '.length)); // revoked at the vendor
    expect((await call(auth, '/organization')).status).toBe(401);
    const b = await call(auth, '/organization');
    expect(b.status).toBe(200);
    expect(b.authorization).not.toBe(a.authorization);
    expect(server.tokenRequests).toHaveLength(2);
  });

  it('does not drop a renewed token when a call with the old one is refused late', async () => {
    const auth = createAuthenticator(dattoRmm, password(), { baseUrl: `${server.origin}/api` });
    const oldReq = new Request(`${server.origin}/api/organization`);
    const staleRejected = await auth(oldReq, {});
    (staleRejected as () => void)(); // the first 401 drops the token
    const fresh = await call(auth, '/organization');
    expect(fresh.status).toBe(200);
    (staleRejected as () => void)(); // a second, late 401 for the old token
    expect((await call(auth, '/organization')).authorization).toBe(fresh.authorization);
    expect(server.tokenRequests).toHaveLength(2);
  });

  it('makes one token request for 25 concurrent first calls', async () => {
    server.delayMs = 50;
    const auth = createAuthenticator(dattoRmm, password(), { baseUrl: `${server.origin}/api` });
    const answers = await Promise.all(Array.from({ length: 25 }, () => call(auth, '/organization')));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(new Set(answers.map((a) => a.authorization)).size).toBe(1);
    expect(server.tokenRequests).toHaveLength(1);
  });

  it('says the username and password were rejected, never what they are, and asks again on the next call', async () => {
    const wrong = `${SECRET_KEY}-wrong`;
    const auth = createAuthenticator(dattoRmm, password({ password: wrong }), { baseUrl: `${server.origin}/api` });
    for (let i = 0; i < 2; i++) {
      const e = await failure(auth(new Request(`${server.origin}/api/organization`), {}));
      expect(e).toBeInstanceOf(CredentialError);
      expect(e.message).toMatch(/^datto_rmm: token request to http:\/\/127\.0\.0\.1:\d+\/auth\/oauth\/token: the vendor rejected the username and password \(HTTP 400 invalid_grant\); check the username and password, client id and client secret, and that API access is enabled for that user$/);
      for (const secret of [wrong, API_KEY, PUBLIC.secret]) expect(JSON.stringify({ m: e.message, e })).not.toContain(secret);
    }
    expect(server.tokenRequests).toHaveLength(2);
  });

  it('takes the public client id from the spec, or the credential when it gives one', async () => {
    const auth = createAuthenticator(dattoRmm, password({ clientId: 'other-client' }), { baseUrl: `${server.origin}/api` });
    expect(await failure(auth(new Request(`${server.origin}/api/organization`), {}))).toBeInstanceOf(CredentialError);
    expect(server.tokenRequests[0]!.authorization).toBe(`Basic ${Buffer.from('other-client:public').toString('base64')}`);
  });

  it('fills the token URL from the upstream variables, as the base URL is filled', () => {
    expect(resolveTokenUrl(dattoRmm, dattoRmm.auth.oauth2!.tokenUrl, 'https://merlot-api.centrastage.net/api', { platform: 'merlot' }))
      .toBe('https://merlot-api.centrastage.net/auth/oauth/token');
    // No variables (an explicit base URL): the token URL follows the tenant's host.
    expect(resolveTokenUrl(dattoRmm, dattoRmm.auth.oauth2!.tokenUrl, 'https://pinotage-api.centrastage.net/api'))
      .toBe('https://pinotage-api.centrastage.net/auth/oauth/token');
    expect(() => resolveTokenUrl(dattoRmm, dattoRmm.auth.oauth2!.tokenUrl, 'https://x.example/api', { platform: 'evil.com/x' }))
      .toThrow('datto_rmm: the variable "platform" must be a host name or label to fill the token URL, got "evil.com/x"');
  });

  it('refuses a credential of the other grant, or one that does not fit at all', () => {
    expect(() => createAuthenticator(dattoRmm, { kind: 'oauth2-client-credentials', clientId: 'c', clientSecret: CLIENT_SECRET }, { baseUrl: 'https://merlot-api.centrastage.net/api' }))
      .toThrow("datto_rmm: a oauth2-client-credentials credential does not fit: the spec declares the OAuth2 password grant; give an oauth2-password credential (the connector declares the spec's OAuth2 password grant)");
    expect(() => createAuthenticator(hudu, password(), { baseUrl: 'https://docs.example.com/api/v1' }))
      .toThrow('hudu: a oauth2-password credential does not fit: the document has no oauth2 scheme (the connector declares APIKeyHeader (apiKey in header x-api-key))');
  });
});

describe('per-customer token endpoints (Microsoft Graph)', () => {
  const clientCredentials = (over: Partial<Extract<VendorCredential, { kind: 'oauth2-client-credentials' }>> = {}): VendorCredential => ({
    kind: 'oauth2-client-credentials', clientId: 'msp-app', clientSecret: CLIENT_SECRET, tokenUrl: `${server.origin}/{customer}/oauth2/v2.0/token`, ...over,
  });
  const A = '6f1e2d3c-0000-4000-8000-00000000000a';
  const B = 'contoso-b.onmicrosoft.com';

  it("asks each customer's own endpoint, and never serves one customer's token to another", async () => {
    const auth = createAuthenticator(graph, clientCredentials(), { baseUrl: `${server.origin}/api` });
    const a = await call(auth, '/users', { tenant: 'msp-1', customer: A });
    const b = await call(auth, '/users', { tenant: 'msp-1', customer: B });
    const a2 = await call(auth, '/users', { tenant: 'msp-1', customer: A });
    expect(a.body.value[0].tenant).toBe(A);
    expect(b.body.value[0].tenant).toBe(B);
    expect(a2.authorization).toBe(a.authorization);
    expect(b.authorization).not.toBe(a.authorization);
    expect(server.tokenRequests.map((r) => r.path)).toEqual([`/${A}/oauth2/v2.0/token`, `/${B}/oauth2/v2.0/token`]);
    expect(server.tokenRequests.map((r) => r.form.get('scope'))).toEqual(['https://graph.microsoft.com/.default', 'https://graph.microsoft.com/.default']);
    // The same customer id under another tenant is another cache entry.
    const other = await call(auth, '/users', { tenant: 'msp-2', customer: A });
    expect(other.authorization).not.toBe(a.authorization);
    expect(server.tokenRequests).toHaveLength(3);
  });

  it('keeps concurrent calls for two customers apart, each with one token request', async () => {
    server.delayMs = 40;
    const auth = createAuthenticator(graph, clientCredentials(), { baseUrl: `${server.origin}/api` });
    const order = Array.from({ length: 30 }, (_, i) => (i % 3 === 0 ? B : A));
    const answers = await Promise.all(order.map((customer) => call(auth, '/users', { tenant: 'msp-1', customer })));
    answers.forEach((answer, i) => {
      expect(answer.status).toBe(200);
      expect(answer.body.value[0].tenant).toBe(order[i]);
      expect(server.tokens.get(answer.authorization!.slice('Bearer '.length))).toBe(order[i]);
    });
    expect(server.tokenRequests.map((r) => r.path).sort()).toEqual([`/${B}/oauth2/v2.0/token`, `/${A}/oauth2/v2.0/token`].sort());
    for (const r of server.apiRequests) expect(r.customer).toBeDefined();
  });

  it('drops only the refused customer\'s token after a 401', async () => {
    const auth = createAuthenticator(graph, clientCredentials(), { baseUrl: `${server.origin}/api` });
    const a = await call(auth, '/users', { customer: A });
    const b = await call(auth, '/users', { customer: B });
    server.tokens.delete(a.authorization!.slice('Bearer '.length));
    expect((await call(auth, '/users', { customer: A })).status).toBe(401);
    expect((await call(auth, '/users', { customer: A })).authorization).not.toBe(a.authorization);
    expect((await call(auth, '/users', { customer: B })).authorization).toBe(b.authorization);
    expect(server.tokenRequests.map((r) => r.path)).toEqual([`/${A}/oauth2/v2.0/token`, `/${B}/oauth2/v2.0/token`, `/${A}/oauth2/v2.0/token`]);
  });

  it('refuses a call without a customer, before any token request', async () => {
    const auth = createAuthenticator(graph, clientCredentials(), { baseUrl: `${server.origin}/api` });
    for (const who of [{}, { tenant: 'msp-1' }, { tenant: 'msp-1', customer: '' }]) {
      const e = await failure(auth(new Request(`${server.origin}/api/users`), who));
      expect(e).toBeInstanceOf(CredentialError);
      expect(e.message).toBe("msgraph: every call of this connector uses the customer's own token; the call has no customer with a msgraph id (select one with the Specgate-Customer header and map its msgraph id)");
    }
    expect(server.tokenRequests).toHaveLength(0);
  });

  it('refuses a customer id that is not a plain vendor id before any URL is built', async () => {
    const auth = createAuthenticator(graph, clientCredentials(), { baseUrl: `${server.origin}/api` });
    const forged = ['../evil', '..', '.', 'a/b', 'a\\b', 'a..b', 'a?b', 'a#b', 'a%2fb', 'a@evil.com', 'a b', '.hidden', 'trailing.', 'x'.repeat(129), 'ok\nHost: x'];
    for (const customer of forged) {
      const e = await failure(auth(new Request(`${server.origin}/api/users`), { customer }));
      expect(e).toBeInstanceOf(CredentialError);
      expect(e.message).toMatch(/^msgraph: the customer's vendor id ".*" is not a plain id \(letters, digits, "-", "_" and single dots; at most 128\); it cannot go into the token URL$/);
    }
    expect(server.tokenRequests).toHaveLength(0);
    // A plain id is percent-encoded anyway and lands in its own path segment.
    expect((await call(auth, '/users', { customer: 'Tenant_1.example' })).status).toBe(200);
    expect(server.tokenRequests.map((r) => r.path)).toEqual(['/Tenant_1.example/oauth2/v2.0/token']);
  });

  it('resolves a relative per-customer token URL against the tenant host', () => {
    const relative = { ...graph, auth: { schemes: [], oauth2: { grant: 'client_credentials' as const, tokenUrl: '/{customer}/oauth2/v2.0/token' } } };
    expect(resolveTokenUrl(relative, relative.auth.oauth2.tokenUrl, 'https://login.example.com/api')).toBe('https://login.example.com/{customer}/oauth2/v2.0/token');
    expect(resolveTokenUrl(graph, graph.auth.oauth2!.tokenUrl, 'https://graph.microsoft.com/v1.0')).toBe('https://login.microsoftonline.com/{customer}/oauth2/v2.0/token');
  });

  it('refuses credentials that would make the token one for every customer', () => {
    const base = { baseUrl: 'https://graph.microsoft.com/v1.0' };
    expect(() => createAuthenticator(graph, { kind: 'bearer', token: CLIENT_SECRET }, base))
      .toThrow("msgraph: a bearer credential does not fit: every call uses the customer's own token (its token URL has {customer}); give an oauth2-client-credentials credential (the connector declares the spec's OAuth2 client_credentials grant)");
    expect(() => createAuthenticator(graph, clientCredentials({ tokenUrl: 'https://login.microsoftonline.com/organizations/oauth2/v2.0/token' }), base))
      .toThrow('msgraph: a oauth2-client-credentials credential does not fit: credential.tokenUrl must keep {customer}: this connector\'s tokens are per customer');
    expect(() => createAuthenticator(graph, clientCredentials({ tokenUrl: 'https://{customer}.evil.example/token' }), base))
      .toThrow("msgraph: {customer} must be in the token URL's path, not its host");
    expect(() => createAuthenticator(dattoRmm, password({ tokenUrl: 'https://login.example.com/{customer}/token' }), base))
      .toThrow("datto_rmm: a oauth2-password credential does not fit: credential.tokenUrl has {customer}, but the connector's spec does not declare per-customer tokens");
  });
});

describe('header value prefixes (SentinelOne)', () => {
  it('writes the spec\'s prefix before the key on the wire', async () => {
    const auth = createAuthenticator(sentinelone, { kind: 'apiKey', key: 'eyJrIjoi-s1-token' }, { baseUrl: `${server.origin}/api` });
    const req = new Request(`${server.origin}/web/api/v2.1/threats`);
    await auth(req, {});
    await fetch(req);
    expect(server.apiRequests.at(-1)!.authorization).toBe('ApiToken eyJrIjoi-s1-token');
  });

  it('refuses a key stored with the prefix, without showing the key', () => {
    for (const key of ['ApiToken eyJrIjoi-s1-token', 'apitoken eyJrIjoi-s1-token', '  ApiToken eyJrIjoi-s1-token']) {
      const e = (() => {
        try {
          createAuthenticator(sentinelone, { kind: 'apiKey', key }, { baseUrl: 'https://acme.sentinelone.net' });
        } catch (err) {
          return err as Error;
        }
        throw new Error('expected a refusal');
      })();
      expect(e.message).toBe('sentinelone: the API key starts with "ApiToken", which the connector writes before the key itself; store the key without it');
      expect(e.message).not.toContain('eyJrIjoi');
    }
  });
});

describe('the oauth2-password credential in the configuration file', () => {
  it('accepts it with secrets from the environment and points at what is missing', async () => {
    const { parseUpstreamConfig, UpstreamConfigError } = await import('../runtime/credentials/config.ts');
    const env = { DATTO_API_KEY: API_KEY, DATTO_SECRET_KEY: SECRET_KEY };
    const ok = parseUpstreamConfig('up.yaml', `upstreams:
  datto_rmm:
    variables: { platform: merlot }
    credential: { kind: oauth2-password, username: "\${DATTO_API_KEY}", password: "\${DATTO_SECRET_KEY}", clientSecret: public }
`, env, { warn: () => {} });
    expect(ok.datto_rmm!.credential).toEqual({ kind: 'oauth2-password', username: API_KEY, password: SECRET_KEY, clientSecret: 'public' });
    let error: InstanceType<typeof UpstreamConfigError> | undefined;
    try {
      parseUpstreamConfig('up.yaml', `upstreams:
  datto_rmm:
    credential: { kind: oauth2-password, username: "\${DATTO_API_KEY}", audience: x }
`, env, { warn: () => {} });
    } catch (e) {
      error = e as InstanceType<typeof UpstreamConfigError>;
    }
    expect(error?.problems).toEqual([
      'up.yaml:3:5: upstreams.datto_rmm.credential: needs password',
      'up.yaml:3:72: upstreams.datto_rmm.credential.audience: is not a known setting',
    ]);
  });
});
