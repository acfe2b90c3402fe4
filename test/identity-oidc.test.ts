/**
 * OAuth/OIDC bearer tokens beside API keys, end to end: a real OpenID provider (oidc-provider) on
 * 127.0.0.1 issues client_credentials JWT access tokens over HTTP, the official MCP client presents
 * them to the governed runtime over real HTTP, and the runtime calls a real recording upstream.
 * Entra ID cannot be reached from a test, so its token shape is signed with a local key pair whose
 * JWKS is served locally, under the `entra` preset's issuer form and claims. On SQLite and
 * PostgreSQL, since the token's tenant is checked against the store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { SignJWT, UnsecuredJWT, decodeJwt, generateKeyPair } from 'jose';
import { GATEWAY_CHAIN } from '../runtime/governance/audit.ts';
import { apiKeysRepo, auditRepo, openStore, settingsRepo, tenantsRepo, type Store } from '../runtime/store/index.ts';
import { parseRuntimeConfig } from '../runtime/credentials/config.ts';
import { startRecorder, type Recorder } from './fixtures/call/harness.ts';
import { generateInto, listAll, tempDir } from './helpers/e2e.ts';
import { HELPDESK_SPEC, governedClient, serveGoverned } from './helpers/governed.ts';
import { findPostgres, startPostgres, type PgCluster } from './helpers/postgres.ts';
import { startKeyIssuer, startOidcProvider, type KeyIssuer, type OidcClient, type OidcProvider } from './identity/issuers.ts';

const RESOURCE = 'https://mcp.specgate.test/mcp';
const OTHER_RESOURCE = 'https://other.example/api';
/** An Entra directory (tenant) id and an app registration's client id, both made up. */
const ENTRA_TID = '3f2a1b6c-0d4e-4f5a-9b8c-7d6e5f4a3b2c';
const ENTRA_APP = 'b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e';
const ENTRA_ISSUER = `https://login.microsoftonline.com/${ENTRA_TID}/v2.0`;
/** A provider whose key set cannot be fetched (nothing listens on port 9). */
const DOWN_ISSUER = 'https://idp-down.example.test';

const agentA: OidcClient = { id: 'agent-a', secret: 'agent-a-secret-5b0d9e2f7c1a', tenant: 'msp-a' };
const ghost: OidcClient = { id: 'agent-ghost', secret: 'agent-ghost-secret-8e3c1d4b', tenant: 'msp-unknown' };
const shortLived: OidcClient = { id: 'agent-short', secret: 'agent-short-secret-2a7f6e9c', tenant: 'msp-a', ttl: 1 };
const noTenant: OidcClient = { id: 'agent-none', secret: 'agent-none-secret-4c8b2d6a' };

const pgAvail = findPostgres();
const backends: Array<[string, boolean]> = [['sqlite', true], [pgAvail.ok ? 'postgres' : `postgres (skipped: ${pgAvail.reason})`, pgAvail.ok]];

let dir: string;
let op: OidcProvider;
let untrusted: OidcProvider;
let entra: KeyIssuer;
let pg: PgCluster | undefined;

beforeAll(async () => {
  dir = tempDir('identity-oidc');
  const specFile = path.join(dir, 'helpdesk.yaml');
  fs.writeFileSync(specFile, HELPDESK_SPEC);
  await generateInto([specFile], path.join(dir, 'generated'));
  op = await startOidcProvider([agentA, ghost, shortLived, noTenant], [RESOURCE, OTHER_RESOURCE]);
  untrusted = await startOidcProvider([agentA], [RESOURCE]);
  entra = await startKeyIssuer();
  if (pgAvail.ok) pg = await startPostgres(pgAvail);
});

afterAll(async () => {
  await op?.close();
  await untrusted?.close();
  await entra?.close();
  await pg?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** The identity section as an operator writes it, read by the runtime configuration reader. */
function identityConfig() {
  const text = `upstreams: {}
identity:
  resource: ${RESOURCE}
  providers:
    - name: local-oidc
      issuer: ${op.issuer}
      tenant: { claim: specgate_tenant }
      rolesClaim: scope
      requiredScope: mcp:tools
      clockTolerance: 0
    - name: contoso-entra
      preset: entra
      directory: \${ENTRA_TENANT_ID}
      jwksUri: ${entra.jwksUri}
      audiences: [${ENTRA_APP}, api://specgate-test]
      tenant:
        claim: tid
        map: { ${ENTRA_TID}: msp-b }
    - name: down-idp
      issuer: ${DOWN_ISSUER}
      jwksUri: http://127.0.0.1:9/keys
      audiences: [${RESOURCE}]
      tenant: { fixed: msp-a }
`;
  const config = parseRuntimeConfig('identity.yaml', text, { ENTRA_TENANT_ID: ENTRA_TID });
  expect(config.identity?.providers).toHaveLength(3);
  return config.identity!;
}

/** Claims of an Entra ID v2.0 app-only access token (client credentials, app roles). */
function entraClaims(over: Record<string, unknown> = {}) {
  return {
    iss: ENTRA_ISSUER, aud: ENTRA_APP, tid: ENTRA_TID, ver: '2.0', azp: 'c0ffee00-1111-4222-8333-944445555666', azpacr: '1',
    oid: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d', sub: 'pairwise-subject-for-this-app', roles: ['technician'],
    uti: 'AbCdEfGhIjKlMnOpQrSt', ...over,
  };
}

for (const [name, available] of backends) {
  describe.skipIf(!available)(`OIDC bearer tokens on ${name}`, () => {
    let store: Store;
    let upstream: Recorder;
    let upstreamB: Recorder;
    let app: FastifyInstance;
    let url: string;
    let apiKey: string;

    beforeAll(async () => {
      store = await openStore(name === 'sqlite' ? `sqlite:${path.join(dir, 'store.db')}` : await pg!.createDatabase());
      const tenants = tenantsRepo(store);
      await tenants.createTenant({ id: 'msp-a', name: 'MSP A' });
      await tenants.createTenant({ id: 'msp-b', name: 'MSP B' });
      await tenants.createCustomer({ id: 'contoso', tenantId: 'msp-a', name: 'Contoso' });
      await tenants.setVendorId('contoso', 'helpdesk', '4242');
      const settings = settingsRepo(store);
      await settings.grant('msp-a', 'helpdesk', '*');
      await settings.grant('msp-b', 'helpdesk', 'helpdesk_get_*');
      apiKey = (await apiKeysRepo(store).create({ tenantId: 'msp-a', subject: 'alice', roles: ['technician'] })).key;
      upstream = await startRecorder((u) => ({ body: u.pathname.endsWith('/tickets') ? { tickets: [{ id: 1, summary: 'printer' }] } : { id: 1, summary: 'shared' } }), '/api');
      upstreamB = await startRecorder(() => ({ body: { id: 2, summary: 'from B' } }), '/api');
      ({ app, url } = await serveGoverned(store, {
        generatedDir: path.join(dir, 'generated'),
        upstreams: { helpdesk: { baseUrl: upstream.url } },
        tenantUpstreamConfig: { 'msp-b': { helpdesk: { baseUrl: upstreamB.url } } },
        identity: identityConfig(),
      }));
    });
    afterAll(async () => {
      await app?.close();
      await upstream?.close();
      await upstreamB?.close();
      await store?.close();
    });

    const connect = (token: string, headers: Record<string, string> = {}) => governedClient(url, { authorization: `Bearer ${token}`, ...headers });

    /** One raw tools/list, to see the HTTP status, the challenge and the message. */
    const post = async (token: string, headers: Record<string, string> = {}) => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25', authorization: `Bearer ${token}`, ...headers },
        body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/list', params: {} }),
      });
      const body = (await response.json()) as { error?: { message: string } };
      return { status: response.status, challenge: response.headers.get('www-authenticate'), message: body.error?.message ?? '' };
    };

    /** A refused token: 401, the MCP challenge, a message saying why, and never the token itself. */
    const expectRefused = async (token: string, why: RegExp) => {
      const r = await post(token);
      expect(r.status).toBe(401);
      expect(r.challenge).toMatch(/^Bearer resource_metadata="http:\/\/127\.0\.0\.1:\d+\/\.well-known\/oauth-protected-resource", error="invalid_token"$/);
      expect(r.message).toMatch(why);
      expect(r.message).not.toContain(token);
      await expect(connect(token)).rejects.toThrow(/401/);
    };

    it('announces the trusted issuers and the resource in the protected-resource metadata', async () => {
      const metadata = await (await fetch(new URL('/.well-known/oauth-protected-resource', url))).json();
      expect(metadata).toEqual({
        resource: RESOURCE,
        authorization_servers: [op.issuer, ENTRA_ISSUER, DOWN_ISSUER],
        bearer_methods_supported: ['header'],
        resource_name: 'specgate MCP gateway',
      });
    });

    it("lists and calls tools for the token's tenant, and never sends the token upstream", async () => {
      const token = await op.token(agentA, RESOURCE);
      const client = await connect(token, { 'specgate-customer': 'contoso' });
      try {
        expect((await listAll(client)).map((t) => t.name)).toEqual(['helpdesk_get_article', 'helpdesk_get_ticket', 'helpdesk_list_tickets']);
        const before = upstream.requests.length;
        const r = (await client.callTool({ name: 'helpdesk_list_tickets', arguments: {} })) as { isError?: boolean; content: Array<{ text: string }> };
        expect(r.isError, r.content[0]?.text).toBeFalsy();
        expect(upstream.requests).toHaveLength(before + 1);
        expect(new URL(upstream.requests[before].url, 'http://x').searchParams.get('client_id')).toBe('4242');
        for (const request of [...upstream.requests, ...upstreamB.requests]) {
          expect(JSON.stringify(request)).not.toContain(token);
          expect(JSON.stringify(request)).not.toContain(token.split('.')[2]);
        }
      } finally {
        await client.close();
      }
      const audit = await auditRepo(store).search({ tenant: 'msp-a', subject: 'agent-a' });
      expect(audit.length).toBeGreaterThan(0);
      const record = audit[audit.length - 1].record as unknown as Record<string, unknown>;
      expect(record.keyId).toBe(`oidc:${op.issuer}#${decodeJwt(token).jti}`);
      expect(JSON.stringify(audit)).not.toContain(token);
    });

    it('still accepts API keys beside tokens', async () => {
      const client = await connect(apiKey, { 'specgate-customer': 'contoso' });
      try {
        expect((await listAll(client)).map((t) => t.name)).toEqual(['helpdesk_get_article', 'helpdesk_get_ticket', 'helpdesk_list_tickets']);
      } finally {
        await client.close();
      }
    });

    it("answers 503 with Retry-After, not 401, when a provider's keys cannot be fetched: the token may be good", async () => {
      const token = await entra.sign({ iss: DOWN_ISSUER, aud: RESOURCE, sub: 'agent-d' });
      const r = await post(token);
      expect([r.status, r.challenge]).toEqual([503, null]);
      expect(r.message).toBe('Cannot authenticate now: cannot fetch the signing keys of down-idp; retry later');
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25', authorization: `Bearer ${token}` },
        body: JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'tools/list', params: {} }),
      });
      expect(response.headers.get('retry-after')).toBe('30');
      // Refused from its headers before the body is read: the JSON-RPC id is unknown, so null.
      expect(await response.json()).toMatchObject({ id: null, error: { code: -32000 } });
      // The token's tenant is unknown until it verifies: the refusal is in the gateway chain.
      const refused = (await auditRepo(store).search({ tenant: GATEWAY_CHAIN })).find((e) => e.record.requestId === response.headers.get('x-request-id'));
      expect(refused?.record).toMatchObject({ outcome: 'refused', step: 'authenticate', code: 'provider-unavailable', status: 503, credential: 'token' });
    });

    it('refuses a token for another audience', async () => {
      await expectRefused(await op.token(agentA, OTHER_RESOURCE), /for another audience/);
    });

    it('refuses an expired token', async () => {
      const token = await op.token(shortLived, RESOURCE);
      const exp = decodeJwt(token).exp!;
      // The provider's shortest lifetime is a second; wait it out rather than fake a clock.
      while (Date.now() / 1000 < exp) await new Promise((r) => setTimeout(r, 100));
      await expectRefused(token, /has expired/);
    });

    it("refuses a token from an issuer it does not trust, even with this gateway's audience", async () => {
      await expectRefused(await untrusted.token(agentA, RESOURCE), /is not a trusted identity provider/);
    });

    it('refuses a tenant claim that names no tenant of this gateway, and a token without one', async () => {
      await expectRefused(await op.token(ghost, RESOURCE), /not a tenant of this gateway/);
      await expectRefused(await op.token(noTenant, RESOURCE), /no specgate_tenant claim/);
    });

    it('refuses a token without the required scope', async () => {
      await expectRefused(await op.token(agentA, RESOURCE, 'technician'), /lacks the scope mcp:tools/);
    });

    it("refuses a forged tenant header and argument, and uses the token's tenant", async () => {
      const token = await op.token(agentA, RESOURCE);
      const forged = await post(token, { 'specgate-tenant': 'msp-b', 'specgate-customer': 'contoso' });
      expect(forged.status).toBe(403);
      expect(forged.message).toMatch(/tenant/);
      const client = await connect(token, { 'specgate-customer': 'contoso' });
      try {
        const beforeB = upstreamB.requests.length;
        const refused = (await client.callTool({ name: 'helpdesk_get_ticket', arguments: { id: 1, tenant_id: 'msp-b' } })) as { isError?: boolean; content: Array<{ text: string }> };
        expect(refused.isError).toBe(true);
        expect(refused.content[0].text).toMatch(/tenant/);
        const ok = (await client.callTool({ name: 'helpdesk_get_ticket', arguments: { id: 1 } })) as { structuredContent?: { result: { summary: string } } };
        expect(ok.structuredContent?.result.summary).toBe('shared');
        expect(upstreamB.requests.length).toBe(beforeB);
      } finally {
        await client.close();
      }
    });

    it("refuses tokens in the trusted issuer's name that it did not sign: alg none, HS256, another key", async () => {
      const claims = { iss: op.issuer, aud: RESOURCE, sub: 'mallory', specgate_tenant: 'msp-a', scope: 'mcp:tools technician', exp: Math.floor(Date.now() / 1000) + 300 };
      await expectRefused(new UnsecuredJWT(claims).encode(), /signing algorithm is not accepted/);
      const hs = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: 'test-rs256' }).sign(new TextEncoder().encode('a-guessable-shared-secret-of-32-bytes!'));
      await expectRefused(hs, /algorithm is not accepted/);
      const { privateKey } = await generateKeyPair('RS256');
      const other = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'test-rs256' }).sign(privateKey);
      await expectRefused(other, /signature does not verify/);
    });

    describe('Entra ID preset', () => {
      it("maps tid to the tenant, oid to the subject and app roles to roles, for either audience form", async () => {
        for (const aud of [ENTRA_APP, 'api://specgate-test']) {
          const token = await entra.sign(entraClaims({ aud }));
          const client = await connect(token);
          try {
            // msp-b is entitled to the get tools only, and its calls go to its own upstream.
            expect((await listAll(client)).map((t) => t.name)).toEqual(['helpdesk_get_article', 'helpdesk_get_ticket']);
            const r = (await client.callTool({ name: 'helpdesk_get_ticket', arguments: { id: 2 } })) as { structuredContent?: { result: { summary: string } } };
            expect(r.structuredContent?.result.summary).toBe('from B');
          } finally {
            await client.close();
          }
        }
        const audit = await auditRepo(store).search({ tenant: 'msp-b' });
        expect(audit.map((a) => (a.record as unknown as Record<string, unknown>).subject)).toContain(entraClaims().oid);
        expect(audit.map((a) => (a.record as unknown as Record<string, unknown>).keyId)).toContain(`oidc:${ENTRA_ISSUER}#sub:${entraClaims().sub}`);
      });

      it('refuses a v1.0 issuer, an unmapped directory, a Graph audience and a token without oid', async () => {
        await expectRefused(await entra.sign(entraClaims({ iss: `https://sts.windows.net/${ENTRA_TID}/` })), /not a trusted identity provider/);
        await expectRefused(await entra.sign(entraClaims({ tid: '00000000-0000-0000-0000-000000000000' })), /tid is not mapped to a tenant/);
        await expectRefused(await entra.sign(entraClaims({ aud: 'https://graph.microsoft.com' })), /for another audience/);
        await expectRefused(await entra.sign(entraClaims({ oid: undefined })), /no oid claim/);
      });

      it('gives a token without app roles no tools: roles come from the token, and policy decides', async () => {
        const client = await connect(await entra.sign(entraClaims({ roles: undefined })));
        try {
          expect(await listAll(client)).toEqual([]);
        } finally {
          await client.close();
        }
      });
    });
  });
}
