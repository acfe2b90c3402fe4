/**
 * The JWT verifier and the bearer routing on their own, against keys served over real HTTP: the
 * claim mappings (fixed tenant, space-separated scopes as roles), time claims, discovery, and the
 * refusals that the end-to-end suite does not reach.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { apiKeysRepo, openStore, tenantsRepo, type Store } from '../runtime/store/index.ts';
import { authenticate } from '../runtime/governance/authenticate.ts';
import { createJwtVerifier, looksLikeJwt } from '../runtime/identity/jwt.ts';
import type { ProviderConfig } from '../runtime/identity/providers.ts';
import { Refusal } from '../runtime/governance/refusal.ts';
import { startKeyIssuer, type KeyIssuer } from './identity/issuers.ts';

const ISSUER = 'https://idp.example.com';
const AUD = 'https://mcp.example.com/mcp';
const known = async (id: string) => id === 'msp-a';

let keys: KeyIssuer;
let discovery: http.Server;
let discoveryUrl: string;
let store: Store;

beforeAll(async () => {
  keys = await startKeyIssuer();
  // A discovery document that names another issuer than the one it is fetched for.
  discovery = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer: 'https://impostor.example.com', jwks_uri: keys.jwksUri }));
  });
  await new Promise<void>((r) => discovery.listen(0, '127.0.0.1', () => r()));
  discoveryUrl = `http://127.0.0.1:${(discovery.address() as AddressInfo).port}`;
  store = await openStore('sqlite::memory:');
  await tenantsRepo(store).createTenant({ id: 'msp-a', name: 'MSP A' });
});

afterAll(async () => {
  await keys?.close();
  discovery?.closeAllConnections();
  await new Promise<void>((r) => (discovery ? discovery.close(() => r()) : r()));
  await store?.close();
});

function verifier(over: Partial<ProviderConfig> = {}, now?: () => Date) {
  return createJwtVerifier(
    { providers: [{ name: 'idp', issuer: ISSUER, jwksUri: keys.jwksUri, audiences: [AUD], tenant: { fixed: 'msp-a' }, ...over }] },
    { knownTenant: known, ...(now && { now }) },
  );
}

/** The refusal a verification ends in: 401 for a token found wanting, 503 when it could not be checked. */
async function refusal(p: Promise<unknown>): Promise<Refusal> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(Refusal);
  const r = e as Refusal;
  expect(r.status).toBe(r.code === 'provider-unavailable' ? 503 : 401);
  return r;
}

describe('JWT verifier', () => {
  it('gives a fixed tenant, the sub, and roles from a space-separated scp with the required scope', async () => {
    const token = await keys.sign({ iss: ISSUER, aud: AUD, sub: 'svc-1', scp: 'mcp:tools technician technician', jti: 'j-1' });
    expect(await verifier({ rolesClaim: 'scp', requiredScope: 'mcp:tools' }).verify(token)).toEqual({
      subject: 'svc-1', tenantId: 'msp-a', roles: ['mcp:tools', 'technician'], issuer: ISSUER, tokenId: `oidc:${ISSUER}#j-1`,
    });
    const r = await refusal(verifier({ requiredScope: 'mcp:admin' }).verify(token));
    expect([r.code, r.message]).toEqual(['insufficient-scope', 'Not authenticated: the token lacks the scope mcp:admin']);
  });

  it('with tokenType, accepts only tokens of that type, so an ID token cannot pass as an access token', async () => {
    const typed = verifier({ tokenType: 'at+jwt' });
    const access = await keys.sign({ iss: ISSUER, aud: AUD, sub: 'svc-1' }, { typ: 'at+jwt' });
    expect((await typed.verify(access)).subject).toBe('svc-1');
    const idToken = await keys.sign({ iss: ISSUER, aud: AUD, sub: 'svc-1' });
    const r = await refusal(typed.verify(idToken));
    expect([r.code, r.message]).toEqual(['wrong-type', 'Not authenticated: the token is not of type at+jwt (an ID token or another kind of token is not an access token)']);
    // Without the setting, any typ is accepted (Entra ID signs access tokens as plain JWT).
    expect((await verifier().verify(idToken)).subject).toBe('svc-1');
  });

  it('refuses a fixed tenant the store does not know', async () => {
    const token = await keys.sign({ iss: ISSUER, aud: AUD, sub: 'svc-1' });
    expect((await refusal(verifier({ tenant: { fixed: 'msp-gone' } }).verify(token))).code).toBe('unknown-tenant');
  });

  it('honours nbf and exp within the clock tolerance, and requires exp', async () => {
    const now = Math.floor(Date.now() / 1000);
    const early = await keys.sign({ iss: ISSUER, aud: AUD, sub: 's', nbf: now + 30 });
    expect((await refusal(verifier({ clockTolerance: 0 }).verify(early))).code).toBe('not-yet-valid');
    expect((await verifier({ clockTolerance: 60 }).verify(early)).subject).toBe('s');
    const late = await keys.sign({ iss: ISSUER, aud: AUD, sub: 's', exp: now - 30 });
    expect((await verifier({ clockTolerance: 60 }).verify(late)).subject).toBe('s');
    expect((await refusal(verifier({}, () => new Date((now + 120) * 1000)).verify(late))).message).toBe('Not authenticated: the token has expired');
    const forever = await keys.sign({ iss: ISSUER, aud: AUD, sub: 's', exp: undefined });
    expect((await refusal(verifier().verify(forever))).message).toBe('Not authenticated: the token\'s exp claim is missing');
  });

  it('refuses alg none as not a signed JWT', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ iss: ISSUER, aud: AUD, sub: 's', exp: Math.floor(Date.now() / 1000) + 60 })).toString('base64url');
    const r = await refusal(verifier().verify(`${header}.${body}.`));
    expect(r.code).toBe('algorithm');
  });

  it('refuses when the keys cannot be had: a discovery document for another issuer, an unreachable JWKS', async () => {
    const token = await keys.sign({ iss: discoveryUrl, aud: AUD, sub: 's' });
    const discovered = createJwtVerifier({ providers: [{ name: 'shady', issuer: discoveryUrl, audiences: [AUD], tenant: { fixed: 'msp-a' } }] }, { knownTenant: known });
    const r = await refusal(discovered.verify(token));
    expect(r.code).toBe('provider-unavailable');
    expect(r.message).toContain('names issuer "https://impostor.example.com"');
    const gone = await refusal(verifier({ jwksUri: 'http://127.0.0.1:9/keys' }).verify(await keys.sign({ iss: ISSUER, aud: AUD, sub: 's' })));
    expect([gone.code, gone.status, gone.message]).toEqual(['provider-unavailable', 503, 'Cannot authenticate now: cannot fetch the signing keys of idp; retry later']);
    expect(r.status).toBe(503);
  });

  it('refuses a configuration that trusts one issuer twice', () => {
    expect(() => createJwtVerifier({ providers: [
      { name: 'a', issuer: ISSUER, audiences: [AUD], tenant: { fixed: 'msp-a' } },
      { name: 'b', issuer: ISSUER, audiences: [AUD], tenant: { fixed: 'msp-a' } },
    ] }, { knownTenant: known })).toThrow(/issuer https:\/\/idp.example.com is already trusted/);
  });
});

describe('bearer routing', () => {
  it('sends sg_ bearers to API keys and JWT-shaped ones to the verifier, and says which it was', async () => {
    const apiKeys = apiKeysRepo(store);
    const { key } = await apiKeys.create({ tenantId: 'msp-a', subject: 'alice', roles: ['technician'] });
    const jwt = verifier();
    const byKey = await authenticate({ keys: apiKeys, jwt }, { authorization: `Bearer ${key}` });
    expect(byKey).toMatchObject({ method: 'api_key', subject: 'alice', tenantId: 'msp-a' });
    expect(byKey.issuer).toBeUndefined();
    const token = await keys.sign({ iss: ISSUER, aud: AUD, sub: 'svc-9' });
    expect(await authenticate({ keys: apiKeys, jwt }, { authorization: `Bearer ${token}` })).toMatchObject({ method: 'oidc', subject: 'svc-9', issuer: ISSUER, keyId: `oidc:${ISSUER}#sub:svc-9` });
    // Without providers a JWT is just an unknown API key.
    const plain = await refusal(authenticate({ keys: apiKeys }, { authorization: `Bearer ${token}` }));
    expect(plain.message).toBe('Not authenticated: the API key is not valid');
    const garbage = await refusal(authenticate({ keys: apiKeys, jwt }, { authorization: 'Bearer not-a-key-nor-a-token' }));
    expect(garbage.message).toBe('Not authenticated: the API key is not valid');
    expect((await refusal(authenticate({ keys: apiKeys, jwt }, {}))).message).toBe('Not authenticated: send an API key or an access token as "Authorization: Bearer ..."');
    expect(looksLikeJwt(token)).toBe(true);
    expect(looksLikeJwt(key)).toBe(false);
  });
});
