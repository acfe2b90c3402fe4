/**
 * OAuth2 client credentials (RFC 6749 4.4) as HaloPSA and Pax8 run it: a form POST to the token
 * URL, a bearer token back with `expires_in`. The token is cached until shortly before it expires
 * and concurrent callers share one request, so a burst of tool calls costs one token request.
 */
import { CredentialError } from './types.ts';

export interface TokenSourceOptions {
  connector: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scope?: string;
  audience?: string;
  fetch?: typeof fetch;
  now?: () => number;
  timeoutMs?: number;
}

export interface TokenSource {
  token(): Promise<string>;
  /** Drops the cached token, e.g. after the upstream refused it. */
  invalidate(): void;
}

/** Used when the server does not say how long a token lives. */
const DEFAULT_LIFETIME_S = 300;

export function createTokenSource(options: TokenSourceOptions): TokenSource {
  const now = options.now ?? Date.now;
  const doFetch = options.fetch ?? fetch;
  let cached: { token: string; refreshAt: number } | undefined;
  let pending: Promise<string> | undefined;

  async function request(): Promise<string> {
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: options.clientId, client_secret: options.clientSecret });
    if (options.scope) form.set('scope', options.scope);
    if (options.audience) form.set('audience', options.audience);
    const where = `${options.connector}: token request to ${new URL(options.tokenUrl).origin}${new URL(options.tokenUrl).pathname}`;
    let res: Response;
    try {
      res = await doFetch(options.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
        redirect: 'manual',
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
    } catch (err) {
      const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
      const why = e.name === 'TimeoutError' ? 'timed out' : e.cause?.code ?? e.cause?.message ?? e.message ?? 'network error';
      throw new CredentialError(`${where} failed: ${why}`);
    }
    const text = await res.text().catch(() => '');
    const body = parseJson(text);
    if (res.status === 400 || res.status === 401 || res.status === 403) {
      // Only the standard error code is shown: a description might echo what was sent.
      const code = typeof body?.error === 'string' && /^[a-z_]{1,40}$/.test(body.error) ? ` ${body.error}` : '';
      throw new CredentialError(`${where}: the vendor rejected the client credentials (HTTP ${res.status}${code}); check the client id, secret${options.scope ? ', scope' : ''}${options.audience ? ', audience' : ''} and the API application's grant`);
    }
    if (res.status >= 300 && res.status < 400) throw new CredentialError(`${where}: answered with a redirect (HTTP ${res.status}); the token URL is probably wrong`);
    if (!res.ok) throw new CredentialError(`${where}: HTTP ${res.status}`);
    const token = body?.access_token;
    if (typeof token !== 'string' || token === '') throw new CredentialError(`${where}: the answer has no access_token`);
    if (typeof body?.token_type === 'string' && body.token_type.toLowerCase() !== 'bearer') {
      throw new CredentialError(`${where}: token_type ${JSON.stringify(body.token_type.slice(0, 40))} is not bearer`);
    }
    const lifetime = Number(body?.expires_in ?? DEFAULT_LIFETIME_S);
    const seconds = Number.isFinite(lifetime) && lifetime > 0 ? lifetime : DEFAULT_LIFETIME_S;
    // Refresh a minute early (or halfway, for short-lived tokens) so no request carries a token that expires in flight.
    const margin = Math.min(60, seconds / 2);
    cached = { token, refreshAt: now() + (seconds - margin) * 1000 };
    return token;
  }

  return {
    async token() {
      if (cached && now() < cached.refreshAt) return cached.token;
      pending ??= request().finally(() => {
        pending = undefined;
      });
      return pending;
    },
    invalidate() {
      cached = undefined;
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
