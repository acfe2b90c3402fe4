/**
 * Trusted identity providers: what the configuration file says about each, and the settings the
 * verifier actually uses once a preset has filled in its defaults. Every setting is explicit per
 * provider because providers disagree: Entra ID ignores RFC 8707 `resource` and puts its own app id
 * (a GUID or `api://...`) in `aud`, and its v1 and v2 tokens carry different issuers.
 */

/** Asymmetric only: a JWKS holds public keys, and an HS* token "signed" with one is a forgery. */
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
export type Algorithm = (typeof ASYMMETRIC_ALGORITHMS)[number];

/** Where the specgate tenant comes from: a claim (its value, or its value looked up in `map`), or one tenant for every token. */
export interface TenantMapping {
  claim?: string;
  map?: Record<string, string>;
  fixed?: string;
}

/** One `identity.providers[]` entry of the runtime configuration file, as written. */
export interface ProviderConfig {
  name: string;
  /** `entra` fills in Entra ID's issuer form and claim names; `oidc` (default) any standard provider. */
  preset?: 'oidc' | 'entra';
  issuer?: string;
  /** Entra: the directory (tenant) id the issuer is built from. */
  directory?: string;
  /** Entra: which access token version the app registration issues (accessTokenAcceptedVersion); default 2. */
  tokenVersion?: 1 | 2;
  /** Default: discovered from `<issuer>/.well-known/openid-configuration`. */
  jwksUri?: string;
  /** Accepted `aud` values; default: the identity section's `resource`. */
  audiences?: string[];
  algorithms?: Algorithm[];
  /** Seconds of clock skew tolerated on exp/nbf; default 60. */
  clockTolerance?: number;
  tenant: TenantMapping;
  subjectClaim?: string;
  rolesClaim?: string;
  /** A scope the token must carry in `scp` or `scope`. */
  requiredScope?: string;
  /**
   * The `typ` header every token must carry, e.g. `at+jwt` (RFC 9068 access tokens). With a
   * provider that issues typed tokens this keeps its ID tokens, signed by the same keys for the
   * same audience, from passing as access tokens.
   */
  tokenType?: string;
}

/** The `identity:` section of the runtime configuration file. */
export interface IdentityConfig {
  /** This gateway's resource identifier (RFC 9728 `resource`), e.g. https://mcp.example.com/mcp. */
  resource?: string;
  providers: ProviderConfig[];
}

/** A provider with every default applied: what the verifier checks a token against. */
export interface TrustedProvider {
  name: string;
  issuer: string;
  jwksUri?: string;
  audiences: string[];
  algorithms: Algorithm[];
  clockTolerance: number;
  tenant: { claim: string; map?: Record<string, string> } | { fixed: string };
  subjectClaim: string;
  rolesClaim: string;
  requiredScope?: string;
  tokenType?: string;
}

/** Entra ID's issuer for a directory: v2.0 tokens name login.microsoftonline.com, v1.0 tokens sts.windows.net. */
export function entraIssuer(directory: string, version: 1 | 2 = 2): string {
  return version === 1 ? `https://sts.windows.net/${directory}/` : `https://login.microsoftonline.com/${directory}/v2.0`;
}

/** A problem with one provider entry; `path` is relative to the entry, for the config reader's positions. */
export interface ProviderProblem { path: string[]; message: string }

/** Applies the preset and checks what the schema cannot (one tenant source, an issuer, an audience). */
export function resolveProvider(entry: ProviderConfig, resource: string | undefined): { provider?: TrustedProvider; problems: ProviderProblem[] } {
  const problems: ProviderProblem[] = [];
  const entra = entry.preset === 'entra';
  if (!entra && (entry.directory !== undefined || entry.tokenVersion !== undefined)) {
    problems.push({ path: [entry.directory !== undefined ? 'directory' : 'tokenVersion'], message: 'is an Entra ID setting: it needs preset: entra' });
  }
  const issuer = entry.issuer ?? (entra && entry.directory ? entraIssuer(entry.directory, entry.tokenVersion) : undefined);
  if (!issuer) problems.push({ path: [], message: entra ? 'needs issuer or directory (the Entra tenant id)' : 'needs issuer' });
  else checkUrl(issuer, entry.issuer !== undefined ? ['issuer'] : ['directory'], problems);
  if (entry.jwksUri !== undefined) checkUrl(entry.jwksUri, ['jwksUri'], problems);
  const audiences = entry.audiences ?? (resource ? [resource] : []);
  if (audiences.length === 0) {
    problems.push({ path: [], message: entra
      ? "needs audiences: Entra ID puts the app's client id or its api://... URI in aud, not this gateway's URL"
      : 'needs audiences (or identity.resource): a token for another audience must be refused' });
  }
  const t = entry.tenant;
  if ((t.claim === undefined) === (t.fixed === undefined)) problems.push({ path: ['tenant'], message: 'needs exactly one of claim or fixed' });
  else if (t.fixed !== undefined && t.map !== undefined) problems.push({ path: ['tenant', 'map'], message: 'applies to a tenant claim, not to a fixed tenant' });
  if (problems.length || !issuer) return { problems };
  return {
    problems,
    provider: {
      name: entry.name,
      issuer,
      ...(entry.jwksUri !== undefined && { jwksUri: entry.jwksUri }),
      audiences,
      algorithms: entry.algorithms ?? (entra ? ['RS256'] : [...ASYMMETRIC_ALGORITHMS]),
      clockTolerance: entry.clockTolerance ?? 60,
      tenant: t.fixed !== undefined ? { fixed: t.fixed } : { claim: t.claim!, ...(t.map && { map: t.map }) },
      // Entra's `sub` is pairwise per app; `oid` is the user's or service principal's stable object id.
      subjectClaim: entry.subjectClaim ?? (entra ? 'oid' : 'sub'),
      rolesClaim: entry.rolesClaim ?? 'roles',
      ...(entry.requiredScope !== undefined && { requiredScope: entry.requiredScope }),
      ...(entry.tokenType !== undefined && { tokenType: entry.tokenType }),
    },
  };
}

/** https only, except on the loopback interface (local providers, tests): keys fetched over plain http could be swapped. */
function checkUrl(value: string, path: string[], problems: ProviderProblem[]): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push({ path, message: `${JSON.stringify(value)} is not a URL` });
    return;
  }
  const loopback = url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    problems.push({ path, message: 'must be an https URL (http only for localhost/127.0.0.1)' });
  }
}

/** The issuers a client may get tokens from: the protected-resource metadata's `authorization_servers`. */
export function trustedIssuers(config: IdentityConfig): string[] {
  return config.providers.map((p) => resolveProvider(p, config.resource).provider?.issuer).filter((i): i is string => i !== undefined);
}
