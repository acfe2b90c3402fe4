/**
 * Step 6.2 (runtime/call-path.ts): who is calling, from `Authorization: Bearer ...` alone. A bearer starting with `sg_` is
 * a specgate API key, whose row gives the subject, tenant and roles; any other bearer shaped like
 * a JWT is an OAuth/OIDC access token, trusted only when a configured identity provider signed it
 * for this gateway (runtime/identity/jwt.ts), whose claims then give them. Nothing the client says
 * elsewhere counts.
 */
import type { apiKeysRepo } from '../store/index.ts';
import { looksLikeJwt, type JwtVerifier } from '../identity/jwt.ts';
import { Refusal } from './refusal.ts';

export interface Identity {
  subject: string;
  tenantId: string;
  /** Sorted. */
  roles: string[];
  /**
   * Which credential, never the secret: the API key's id (its public prefix), or for a token
   * `oidc:<issuer>#<jti>` (`#sub:<subject>` when the token has no jti).
   */
  keyId: string;
  method: 'api_key' | 'oidc';
  /** The token's issuer, for `oidc`. */
  issuer?: string;
}

type ApiKeys = Pick<ReturnType<typeof apiKeysRepo>, 'verify'>;

export interface Authenticators {
  keys: ApiKeys;
  /** Set when identity providers are configured; without it only API keys are accepted. */
  jwt?: JwtVerifier;
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;
const API_KEY_PREFIX = 'sg_';

export async function authenticate(auth: Authenticators, headers: Record<string, string | undefined>): Promise<Identity> {
  const expected = auth.jwt ? 'an API key or an access token as "Authorization: Bearer ..."' : 'an API key as "Authorization: Bearer sg_..."';
  const header = headers.authorization;
  if (header === undefined || header.trim() === '') {
    throw new Refusal('authenticate', 'missing', `Not authenticated: send ${expected}`, 401);
  }
  const m = BEARER.exec(header);
  if (!m) throw new Refusal('authenticate', 'invalid', `Not authenticated: the Authorization header must be "Bearer ${auth.jwt ? '...' : 'sg_...'}"`, 401);
  const bearer = m[1];
  if (auth.jwt && !bearer.startsWith(API_KEY_PREFIX) && looksLikeJwt(bearer)) {
    const token = await auth.jwt.verify(bearer);
    return { subject: token.subject, tenantId: token.tenantId, roles: token.roles, keyId: token.tokenId, method: 'oidc', issuer: token.issuer };
  }
  const result = await auth.keys.verify(bearer);
  if (result.ok) {
    const { key } = result;
    return { subject: key.subject, tenantId: key.tenantId, roles: [...key.roles].sort(), keyId: key.id, method: 'api_key' };
  }
  // Malformed and unknown keys get one message, so a probe learns nothing about which prefixes exist.
  switch (result.reason) {
    case 'expired': throw new Refusal('authenticate', 'expired', 'Not authenticated: the API key has expired', 401);
    case 'revoked': throw new Refusal('authenticate', 'revoked', 'Not authenticated: the API key has been revoked', 401);
    default: throw new Refusal('authenticate', 'invalid', 'Not authenticated: the API key is not valid', 401);
  }
}
