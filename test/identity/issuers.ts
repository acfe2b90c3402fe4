/**
 * Identity providers for the identity tests, on 127.0.0.1: a real OpenID provider (the
 * oidc-provider package) issuing JWT access tokens for the client_credentials grant with RFC 8707
 * resource indicators, and a bare key pair whose JWKS is served over HTTP, for token shapes no
 * local provider issues (Entra ID's, forged ones).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';
import Provider, { errors } from 'oidc-provider';

export interface Served { url: string; close(): Promise<void> }

/** An HTTP server on 127.0.0.1 with its handler chosen once the port (hence the URL) is known. */
async function serve(handlerFor: (url: string) => http.RequestListener | Promise<http.RequestListener>): Promise<Served> {
  let handler: http.RequestListener = (_req, res) => res.writeHead(503).end();
  const server = http.createServer((req, res) => handler(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  handler = await handlerFor(url);
  return {
    url,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

export interface OidcClient {
  id: string;
  secret: string;
  /** Becomes the token's `specgate_tenant` claim. */
  tenant?: string;
  /** Access token lifetime, seconds; default 300. */
  ttl?: number;
}

export interface OidcProvider extends Served {
  issuer: string;
  /** A client_credentials access token for `resource` (RFC 8707), fetched over HTTP from the token endpoint. */
  token(client: OidcClient, resource: string, scope?: string): Promise<string>;
}

const SCOPES = ['mcp:tools', 'technician'];

/** A real OpenID provider whose access tokens for `resources` are RS256 JWTs (RFC 9068). */
export async function startOidcProvider(clients: OidcClient[], resources: string[]): Promise<OidcProvider> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'test-rs256', use: 'sig', alg: 'RS256' };
  const byId = new Map(clients.map((c) => [c.id, c]));
  let issuer = '';
  const served = await serve((url) => {
    issuer = url;
    const provider = new Provider(url, {
      clients: clients.map((c) => ({
        client_id: c.id, client_secret: c.secret, grant_types: ['client_credentials'], redirect_uris: [], response_types: [],
        token_endpoint_auth_method: 'client_secret_post', scope: SCOPES.join(' '),
      })),
      jwks: { keys: [jwk] },
      cookies: { keys: ['identity-test-cookie-key'] },
      scopes: SCOPES,
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => resources[0],
          useGrantedResource: () => true,
          getResourceServerInfo: (_ctx: unknown, indicator: string, client: { clientId: string }) => {
            if (!resources.includes(indicator)) throw new errors.InvalidTarget();
            return { scope: SCOPES.join(' '), audience: indicator, accessTokenFormat: 'jwt', accessTokenTTL: byId.get(client.clientId)?.ttl ?? 300, jwt: { sign: { alg: 'RS256' } } };
          },
        },
      },
      ttl: { ClientCredentials: (_ctx: unknown, _token: unknown, client: { clientId: string }) => byId.get(client.clientId)?.ttl ?? 300 },
      extraTokenClaims: (_ctx: unknown, token: { clientId: string }) => {
        const tenant = byId.get(token.clientId)?.tenant;
        return tenant ? { specgate_tenant: tenant } : {};
      },
    });
    return provider.callback();
  });
  return {
    ...served,
    issuer,
    async token(client, resource, scope = SCOPES.join(' ')) {
      const response = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret, resource, scope }),
      });
      const body = (await response.json()) as { access_token?: string; error?: string; error_description?: string };
      if (!body.access_token) throw new Error(`token endpoint: ${response.status} ${body.error}: ${body.error_description}`);
      return body.access_token;
    },
  };
}

export interface KeyIssuer extends Served {
  /** Where the public key is served as a JWKS. */
  jwksUri: string;
  /** A token signed with this key pair, with `claims` as given (iat/exp added unless present). */
  sign(claims: JWTPayload, header?: { alg?: string; typ?: string }): Promise<string>;
  publicJwk: JWK;
}

/** A key pair and its JWKS endpoint: tokens shaped like any provider's, signed locally. */
export async function startKeyIssuer(kid = 'local-rs256'): Promise<KeyIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, use: 'sig', alg: 'RS256' };
  const served = await serve(() => (req, res) => {
    if (req.url !== '/keys') return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [publicJwk] }));
  });
  return {
    ...served,
    jwksUri: `${served.url}/keys`,
    publicJwk,
    sign(claims, header = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iat: now, exp: now + 600, ...claims })
        .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT', ...header } as { alg: string })
        .sign(privateKey);
    },
  };
}
