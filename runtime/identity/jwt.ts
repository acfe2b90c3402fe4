/**
 * OAuth/OIDC bearer tokens: a JWT access token is trusted when a configured provider's keys signed
 * it, for one of this gateway's audiences, within its lifetime; its claims then give the subject,
 * the specgate tenant and the roles. Every refusal is a 401 Refusal whose message says what was
 * wrong with the token without repeating the token.
 */
import { createRemoteJWKSet, decodeJwt, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { Refusal } from '../governance/refusal.ts';
import type { IdentityConfig, TrustedProvider } from './providers.ts';
import { resolveProvider } from './providers.ts';

/** What a verified token says about its bearer. */
export interface TokenIdentity {
  subject: string;
  tenantId: string;
  /** Sorted, de-duplicated. */
  roles: string[];
  issuer: string;
  /** Which token this was, for the audit trail: `oidc:<issuer>#<jti>` (or `#sub:<subject>` without a jti). Never the token. */
  tokenId: string;
}

export interface JwtVerifier {
  verify(token: string): Promise<TokenIdentity>;
  /** The trusted issuers, for the protected-resource metadata's `authorization_servers`. */
  readonly issuers: string[];
}

export interface JwtVerifierOptions {
  /** Whether a specgate tenant exists: a token may only name a tenant this gateway serves. */
  knownTenant(id: string): Promise<boolean>;
  now?: () => Date;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const TIMEOUT_MS = 5000;

/** Whether a bearer value is shaped like a compact JWS (three base64url parts), before any crypto. */
export function looksLikeJwt(bearer: string): boolean {
  return JWT_SHAPE.test(bearer);
}

/** Builds the verifier; throws on a configuration resolveProvider rejects (the config reader reports those with positions first). */
export function createJwtVerifier(config: IdentityConfig, options: JwtVerifierOptions): JwtVerifier {
  const now = options.now ?? (() => new Date());
  const byIssuer = new Map<string, { provider: TrustedProvider; keys: JWTVerifyGetKey }>();
  for (const entry of config.providers) {
    const { provider, problems } = resolveProvider(entry, config.resource);
    if (!provider) throw new Error(`identity provider ${entry.name}: ${problems.map((p) => `${p.path.join('.') || '(entry)'} ${p.message}`).join('; ')}`);
    if (byIssuer.has(provider.issuer)) throw new Error(`identity provider ${entry.name}: issuer ${provider.issuer} is already trusted by another provider`);
    byIssuer.set(provider.issuer, { provider, keys: remoteKeys(provider) });
  }

  return {
    issuers: [...byIssuer.keys()],
    async verify(token) {
      let unverified: JWTPayload;
      try {
        unverified = decodeJwt(token);
      } catch {
        throw refuse('invalid', 'the bearer token is neither a specgate API key nor a well-formed JWT');
      }
      // The issuer only picks which keys to try; jwtVerify then requires it to match exactly.
      const trusted = typeof unverified.iss === 'string' ? byIssuer.get(unverified.iss) : undefined;
      if (!trusted) throw refuse('untrusted-issuer', `the token's issuer ${describe(unverified.iss)} is not a trusted identity provider`);
      const { provider, keys } = trusted;
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, keys, {
          issuer: provider.issuer,
          audience: provider.audiences,
          algorithms: provider.algorithms,
          clockTolerance: provider.clockTolerance,
          currentDate: now(),
          requiredClaims: ['exp'],
          ...(provider.tokenType !== undefined && { typ: provider.tokenType }),
        }));
      } catch (e) {
        throw verificationRefusal(e, provider);
      }
      return {
        subject: subjectOf(payload, provider),
        tenantId: await tenantOf(payload, provider, options.knownTenant),
        roles: rolesOf(payload, provider),
        issuer: provider.issuer,
        tokenId: `oidc:${provider.issuer}#${typeof payload.jti === 'string' && payload.jti ? payload.jti : `sub:${payload.sub ?? ''}`}`,
      };
    },
  };
}

/** Keys from the provider's JWKS, its URI discovered once when not configured; jose caches and refreshes the set. */
function remoteKeys(provider: TrustedProvider): JWTVerifyGetKey {
  let pending: Promise<JWTVerifyGetKey> | undefined;
  const load = async (): Promise<JWTVerifyGetKey> => {
    const uri = provider.jwksUri ?? (await discoverJwksUri(provider));
    return createRemoteJWKSet(new URL(uri), { timeoutDuration: TIMEOUT_MS });
  };
  return async (header, token) => {
    // A failed discovery is retried on the next token rather than cached.
    pending ??= load().catch((e) => {
      pending = undefined;
      throw e;
    });
    return (await pending)(header, token);
  };
}

async function discoverJwksUri(provider: TrustedProvider): Promise<string> {
  const url = `${provider.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  let doc: { issuer?: unknown; jwks_uri?: unknown };
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS), headers: { accept: 'application/json' } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    doc = (await response.json()) as typeof doc;
  } catch (e) {
    throw new DiscoveryError(`cannot read ${url}: ${(e as Error).message}`);
  }
  // OIDC Discovery 4.3: the document must name the issuer it was fetched for.
  if (doc.issuer !== provider.issuer) throw new DiscoveryError(`${url} names issuer ${describe(doc.issuer)}, not ${provider.issuer}`);
  if (typeof doc.jwks_uri !== 'string') throw new DiscoveryError(`${url} has no jwks_uri`);
  return doc.jwks_uri;
}

class DiscoveryError extends Error {}

function verificationRefusal(e: unknown, provider: TrustedProvider): Refusal {
  if (e instanceof DiscoveryError) return unavailable(provider, e.message);
  if (e instanceof errors.JWTExpired) return refuse('expired', 'the token has expired');
  if (e instanceof errors.JWTClaimValidationFailed) {
    switch (e.claim) {
      case 'aud': return refuse('wrong-audience', `the token is for another audience (${provider.name} tokens must be for ${provider.audiences.join(' or ')})`);
      case 'nbf': return refuse('not-yet-valid', 'the token is not valid yet (nbf)');
      case 'iat': return refuse('not-yet-valid', 'the token was issued in the future (iat)');
      case 'iss': return refuse('untrusted-issuer', `the token's issuer is not ${provider.issuer}`);
      case 'typ': return refuse('wrong-type', `the token is not of type ${provider.tokenType} (an ID token or another kind of token is not an access token)`);
      default: return refuse('invalid', `the token's ${e.claim} claim is ${e.reason === 'missing' ? 'missing' : 'not valid'}`);
    }
  }
  if (e instanceof errors.JOSEAlgNotAllowed) return refuse('algorithm', `the token's signing algorithm is not accepted for ${provider.name} (allowed: ${provider.algorithms.join(', ')})`);
  if (e instanceof errors.JWSSignatureVerificationFailed) return refuse('bad-signature', 'the token signature does not verify');
  if (e instanceof errors.JWKSNoMatchingKey) return refuse('unknown-key', `the token was not signed by a key of ${provider.name}`);
  if (e instanceof errors.JWKSTimeout || e instanceof errors.JWKSInvalid) return unavailable(provider);
  if (e instanceof errors.JOSEError) return refuse('invalid', 'the token is not a valid signed JWT');
  // The remote key set's own fetch failures (DNS, refused connection) are plain errors.
  return unavailable(provider);
}

/**
 * The token could not be checked, which says nothing about the token: a 503, so that a client
 * retries instead of discarding a good token and sending its user through a new sign-in.
 */
function unavailable(provider: TrustedProvider, detail?: string): Refusal {
  return new Refusal('authenticate', 'provider-unavailable',
    `Cannot authenticate now: cannot fetch the signing keys of ${provider.name}${detail ? `: ${detail}` : ''}; retry later`, 503);
}

function subjectOf(payload: JWTPayload, provider: TrustedProvider): string {
  const subject = payload[provider.subjectClaim];
  if (typeof subject !== 'string' || subject === '') throw refuse('missing-claim', `the token has no ${provider.subjectClaim} claim for the subject`);
  return subject;
}

async function tenantOf(payload: JWTPayload, provider: TrustedProvider, knownTenant: (id: string) => Promise<boolean>): Promise<string> {
  let tenant: string;
  if ('fixed' in provider.tenant) {
    tenant = provider.tenant.fixed;
  } else {
    const { claim, map } = provider.tenant;
    const value = payload[claim];
    if (typeof value !== 'string' || value === '') throw refuse('missing-claim', `the token has no ${claim} claim for the tenant`);
    if (map) {
      if (!Object.hasOwn(map, value)) throw refuse('unknown-tenant', `the token's ${claim} is not mapped to a tenant of this gateway`);
      tenant = map[value];
    } else {
      tenant = value;
    }
  }
  if (!(await knownTenant(tenant))) throw refuse('unknown-tenant', `the token's tenant is not a tenant of this gateway`);
  return tenant;
}

/** Roles from an array claim, or a space-separated one (`scp`, `scope`); the required scope checked on the way. */
function rolesOf(payload: JWTPayload, provider: TrustedProvider): string[] {
  if (provider.requiredScope !== undefined) {
    const scopes = [...claimList(payload.scp), ...claimList(payload.scope)];
    if (!scopes.includes(provider.requiredScope)) throw refuse('insufficient-scope', `the token lacks the scope ${provider.requiredScope}`);
  }
  return [...new Set(claimList(payload[provider.rolesClaim]))].sort();
}

function claimList(value: unknown): string[] {
  if (typeof value === 'string') return value.split(/\s+/).filter(Boolean);
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string' && v !== '');
  return [];
}

/** A claim value quoted for a message, capped: it comes from an unverified token. */
function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? 'undefined';
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function refuse(code: string, why: string): Refusal {
  return new Refusal('authenticate', code, `Not authenticated: ${why}`, 401);
}
