/**
 * The credential broker's per-connector hook: given the scheme the vendor's document declares
 * and the operator's credential, adds the credential to each outgoing request. The guarded fetch
 * calls it only after the allow-list check, and scrubs whatever headers it adds from error text.
 * Mismatches (an API key for an OAuth2 vendor, a query-placed key) are refused at construction,
 * so a misconfigured connector fails at startup rather than on a technician's first call.
 */
import type { AuthModel, ConnectorModel } from '../model.ts';
import { createTokenSource } from './oauth.ts';
import { CredentialError, isSafeUrl, type VendorCredential } from './types.ts';

type Scheme = AuthModel['schemes'][number];

export interface AuthenticatorOptions {
  /** The tenant's resolved base URL (see resolveBaseUrl); relative token URLs resolve against its origin. */
  baseUrl: string;
  fetch?: typeof fetch;
  now?: () => number;
}

export type Authenticator = (req: Request) => Promise<void>;

export function createAuthenticator(model: ConnectorModel, credential: VendorCredential, options: AuthenticatorOptions): Authenticator {
  const schemes = model.auth.schemes;
  const declared = schemes.length ? schemes.map(describe).join(', ') : 'no security scheme';
  const misfit = (why: string) => new CredentialError(`${model.name}: a ${credential.kind} credential does not fit: ${why} (the document declares ${declared})`);
  const clientIdScheme = schemes.find((s) => s.type === 'apiKey' && s.paramName?.toLowerCase() === 'clientid');
  const basic = schemes.find((s) => s.type === 'http' && s.scheme?.toLowerCase() === 'basic');

  switch (credential.kind) {
    case 'apiKey': {
      const keys = schemes.filter((s) => s.type === 'apiKey' && !(basic && s === clientIdScheme));
      const header = keys.find((s) => s.in === 'header' && s.paramName);
      if (!header) {
        if (keys.some((s) => s.in === 'query')) throw misfit('its API key goes in the query string, which the credential broker cannot set (the request URL is fixed and checked before credentials are added)');
        throw misfit('the document has no header API key scheme');
      }
      const name = header.paramName as string;
      return async (req) => req.headers.set(name, credential.key);
    }
    case 'basic': {
      if (!basic) throw misfit('the document has no http basic scheme');
      const value = `Basic ${Buffer.from(`${credential.username}:${credential.password}`, 'utf8').toString('base64')}`;
      return async (req) => req.headers.set('authorization', value);
    }
    case 'connectwise': {
      if (!basic) throw misfit('the document has no http basic scheme');
      if (!clientIdScheme || clientIdScheme.in !== 'header') throw misfit('the document has no clientId header scheme');
      const value = `Basic ${Buffer.from(`${credential.companyId}+${credential.publicKey}:${credential.privateKey}`, 'utf8').toString('base64')}`;
      const clientIdHeader = clientIdScheme.paramName as string;
      return async (req) => {
        req.headers.set('authorization', value);
        req.headers.set(clientIdHeader, credential.clientId);
      };
    }
    case 'bearer': {
      const fits = schemes.some((s) => (s.type === 'http' && s.scheme?.toLowerCase() === 'bearer') || s.type === 'oauth2' || s.type === 'openIdConnect');
      if (!fits) throw misfit('the document has no bearer, oauth2 or openIdConnect scheme');
      const value = `Bearer ${credential.token}`;
      return async (req) => req.headers.set('authorization', value);
    }
    case 'oauth2-client-credentials': {
      const oauth = schemes.find((s) => s.type === 'oauth2');
      if (!oauth) throw misfit('the document has no oauth2 scheme');
      const tokenUrl = resolveTokenUrl(model, credential.tokenUrl ?? oauth.tokenUrl, options.baseUrl);
      const source = createTokenSource({
        connector: model.name,
        tokenUrl,
        clientId: credential.clientId,
        clientSecret: credential.clientSecret,
        scope: credential.scope,
        // The contract has no audience field yet; read it if the model ever carries one (Pax8's x-audience).
        audience: credential.audience ?? (oauth as Scheme & { audience?: string }).audience,
        fetch: options.fetch,
        now: options.now,
      });
      return async (req) => {
        req.headers.set('authorization', `Bearer ${await source.token()}`);
      };
    }
    default: {
      const kind: string = (credential as { kind?: unknown }).kind as string;
      throw new CredentialError(`${model.name}: unknown credential kind ${JSON.stringify(kind)}`);
    }
  }
}

/**
 * Where to ask for a token. A relative URL resolves against the tenant's origin. A templated
 * URL on the same host as one of the document's servers (HaloPSA: `https://{tenant}.halopsa.com/auth/token`
 * next to `https://{tenant}.halopsa.com/api`) follows the tenant's actual host, which also serves
 * on-premises installs whose base URL was given explicitly.
 */
export function resolveTokenUrl(model: ConnectorModel, raw: string | undefined, baseUrl: string): string {
  if (!raw) throw new CredentialError(`${model.name}: the oauth2 scheme has no token URL; give credential.tokenUrl`);
  const base = new URL(baseUrl);
  let resolved: string;
  const absolute = /^[a-z][a-z0-9+.-]*:\/\//i.exec(raw);
  if (!absolute) {
    resolved = new URL(raw.startsWith('/') ? raw : `/${raw}`, base.origin).href;
  } else if (/[{}]/.test(raw)) {
    const origin = /^[a-z]+:\/\/[^/]+/i.exec(raw)?.[0] ?? '';
    const sameHost = model.servers.some((s) => s.startsWith(`${origin}/`) || s === origin);
    const rest = raw.slice(origin.length);
    if (!sameHost || /[{}]/.test(rest)) {
      throw new CredentialError(`${model.name}: the token URL ${raw} has template variables that the base URL cannot fill; give credential.tokenUrl`);
    }
    resolved = new URL(rest || '/', base.origin).href;
  } else {
    resolved = raw;
  }
  let url: URL;
  try {
    url = new URL(resolved);
  } catch {
    throw new CredentialError(`${model.name}: the token URL ${JSON.stringify(raw.slice(0, 200))} is not a valid URL`);
  }
  if (!isSafeUrl(url)) throw new CredentialError(`${model.name}: the token URL must use https (http only for 127.0.0.1 or localhost), got ${url.protocol}//${url.host}`);
  if (url.username || url.password) throw new CredentialError(`${model.name}: the token URL must not carry user info`);
  return url.href;
}

function describe(s: Scheme): string {
  const detail = s.type === 'apiKey' ? ` in ${s.in ?? '?'} ${s.paramName ?? ''}`.trimEnd() : s.type === 'http' ? ` ${s.scheme ?? ''}`.trimEnd() : '';
  return `${s.name} (${s.type}${detail})`;
}
