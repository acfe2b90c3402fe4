/**
 * OAuth2 tokens for the vendor (RFC 6749): client credentials (4.4) as HaloPSA, Pax8 and Microsoft
 * Graph run it, and the resource owner password grant (4.3) as Datto RMM runs it (a public client,
 * the API key as username and the secret key as password). A form POST to the token URL, a bearer
 * token back with `expires_in`. The token is cached until shortly before it expires and concurrent
 * callers share one request, so a burst of tool calls costs one token request. When the server
 * hands out a refresh token, it renews the access token; if the refresh is refused, the grant is
 * run again.
 */
import { CredentialError } from './types.ts';

export type Grant =
  | { type: 'client_credentials' }
  | { type: 'password'; username: string; password: string };

export interface TokenSourceOptions {
  connector: string;
  tokenUrl: string;
  grant: Grant;
  /** Optional for the password grant (a vendor may want none). */
  clientId?: string;
  clientSecret?: string;
  scope?: string;
  audience?: string;
  fetch?: typeof fetch;
  now?: () => number;
  timeoutMs?: number;
}

export interface TokenSource {
  token(): Promise<string>;
  /**
   * Drops the cached token after the upstream refused it; with `token`, only if that is still the
   * cached one (a call that was refused must not drop the token a later call already renewed).
   */
  invalidate(token?: string): void;
}

/** Used when the server does not say how long a token lives. */
const DEFAULT_LIFETIME_S = 300;

export function createTokenSource(options: TokenSourceOptions): TokenSource {
  const now = options.now ?? Date.now;
  const doFetch = options.fetch ?? fetch;
  const url = new URL(options.tokenUrl);
  const where = `${options.connector}: token request to ${url.origin}${url.pathname}`;
  let cached: { token: string; refreshAt: number } | undefined;
  let refreshToken: string | undefined;
  let pending: Promise<string> | undefined;

  /** The client authenticates in the form for client credentials (as HaloPSA and Pax8 expect), with HTTP Basic for the password grant (as Datto RMM's public client does). */
  function formFor(grant: Record<string, string>): { form: URLSearchParams; headers: Record<string, string> } {
    const form = new URLSearchParams(grant);
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (options.grant.type === 'password' && options.clientId !== undefined && options.clientSecret !== undefined) {
      const basic = `${encodeURIComponent(options.clientId)}:${encodeURIComponent(options.clientSecret)}`;
      headers.authorization = `Basic ${Buffer.from(basic, 'utf8').toString('base64')}`;
    } else {
      if (options.clientId !== undefined) form.set('client_id', options.clientId);
      if (options.clientSecret !== undefined) form.set('client_secret', options.clientSecret);
    }
    if (options.scope) form.set('scope', options.scope);
    if (options.audience) form.set('audience', options.audience);
    return { form, headers };
  }

  function rejected(status: number, body: Record<string, unknown> | undefined, refreshing: boolean): CredentialError {
    // Only the standard error code is shown: a description might echo what was sent.
    const code = typeof body?.error === 'string' && /^[a-z_]{1,40}$/.test(body.error) ? ` ${body.error}` : '';
    if (refreshing) return new CredentialError(`${where}: the vendor refused the refresh token (HTTP ${status}${code})`);
    const extra = `${options.scope ? ', scope' : ''}${options.audience ? ', audience' : ''}`;
    if (options.grant.type === 'password') {
      return new CredentialError(`${where}: the vendor rejected the username and password (HTTP ${status}${code}); check the username and password${options.clientId !== undefined ? ', client id' : ''}${options.clientSecret !== undefined ? ' and client secret' : ''}${extra}, and that API access is enabled for that user`);
    }
    return new CredentialError(`${where}: the vendor rejected the client credentials (HTTP ${status}${code}); check the client id, secret${extra} and the API application's grant`);
  }

  async function post(grant: Record<string, string>, refreshing: boolean): Promise<string> {
    const { form, headers } = formFor(grant);
    let res: Response;
    try {
      res = await doFetch(options.tokenUrl, { method: 'POST', headers, body: form.toString(), redirect: 'manual', signal: AbortSignal.timeout(options.timeoutMs ?? 10_000) });
    } catch (err) {
      const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
      const why = e.name === 'TimeoutError' ? 'timed out' : e.cause?.code ?? e.cause?.message ?? e.message ?? 'network error';
      throw new CredentialError(`${where} failed: ${why}`);
    }
    const text = await res.text().catch(() => '');
    const body = parseJson(text);
    if (res.status === 400 || res.status === 401 || res.status === 403) throw rejected(res.status, body, refreshing);
    if (res.status >= 300 && res.status < 400) throw new CredentialError(`${where}: answered with a redirect (HTTP ${res.status}); the token URL is probably wrong`);
    if (!res.ok) throw new CredentialError(`${where}: HTTP ${res.status}`);
    const token = body?.access_token;
    if (typeof token !== 'string' || token === '') throw new CredentialError(`${where}: the answer has no access_token`);
    if (typeof body?.token_type === 'string' && body.token_type.toLowerCase() !== 'bearer') {
      throw new CredentialError(`${where}: token_type ${JSON.stringify(body.token_type.slice(0, 40))} is not bearer`);
    }
    // A refresh answer without a new refresh token keeps the old one (RFC 6749 6).
    if (typeof body?.refresh_token === 'string' && body.refresh_token !== '') refreshToken = body.refresh_token;
    const lifetime = Number(body?.expires_in ?? DEFAULT_LIFETIME_S);
    const seconds = Number.isFinite(lifetime) && lifetime > 0 ? lifetime : DEFAULT_LIFETIME_S;
    // Refresh a minute early (or halfway, for short-lived tokens) so no request carries a token that expires in flight.
    const margin = Math.min(60, seconds / 2);
    cached = { token, refreshAt: now() + (seconds - margin) * 1000 };
    return token;
  }

  async function request(): Promise<string> {
    if (refreshToken !== undefined) {
      const using = refreshToken;
      try {
        return await post({ grant_type: 'refresh_token', refresh_token: using }, true);
      } catch (err) {
        // An expired or revoked refresh token: the grant itself still works.
        if (refreshToken === using) refreshToken = undefined;
        if (!(err instanceof CredentialError)) throw err;
      }
    }
    const g = options.grant;
    return post(g.type === 'password' ? { grant_type: 'password', username: g.username, password: g.password } : { grant_type: 'client_credentials' }, false);
  }

  return {
    async token() {
      if (cached && now() < cached.refreshAt) return cached.token;
      pending ??= request().finally(() => {
        pending = undefined;
      });
      return pending;
    },
    invalidate(token) {
      if (token === undefined || cached?.token === token) cached = undefined;
    },
  };
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
