/**
 * The credential broker's per-connector hook: given the scheme the vendor's document declares
 * and the operator's credential, adds the credential to each outgoing request. The guarded fetch
 * calls it only after the allow-list check, and scrubs whatever headers it adds from error text.
 * Mismatches (an API key for an OAuth2 vendor, a query-placed key) are refused at construction,
 * so a misconfigured connector fails at startup rather than on a technician's first call.
 */
import type { AuthModel, ConnectorModel } from '../model.ts';
import type { AuthCall } from '../upstream/guard.ts';
import { createTokenSource, type TokenSource } from './oauth.ts';
import { CUSTOMER_PLACEHOLDER, customerPlaceholderProblem, fillCustomer, hasCustomerToken } from './customer-token.ts';
import { CredentialError, isSafeUrl, type VendorCredential } from './types.ts';

type Scheme = AuthModel['schemes'][number];

export interface AuthenticatorOptions {
  /** The tenant's resolved base URL (see resolveBaseUrl); relative token URLs resolve against its origin. */
  baseUrl: string;
  /** The upstream's server variables: they fill the same `{name}` placeholders in the token URL. */
  variables?: Record<string, string>;
  fetch?: typeof fetch;
  now?: () => number;
}

/** An Authenticate that always answers asynchronously (a token may have to be fetched first). */
export type Authenticator = (req: Request, call?: AuthCall) => Promise<(() => void) | void>;

/** Per-customer token sources kept at once; the least recently used goes first beyond it. */
const MAX_TOKEN_SOURCES = 10_000;

export function createAuthenticator(model: ConnectorModel, credential: VendorCredential, options: AuthenticatorOptions): Authenticator {
  const schemes = model.auth.schemes;
  const declared = [
    ...schemes.map(describe),
    ...(model.auth.apiKey ? [`the spec's API key header ${model.auth.apiKey.header}`] : []),
    ...(model.auth.oauth2 ? [`the spec's OAuth2 ${model.auth.oauth2.grant} grant`] : []),
  ].join(', ') || 'no security scheme';
  const misfit = (why: string) => new CredentialError(`${model.name}: a ${credential.kind} credential does not fit: ${why} (the connector declares ${declared})`);
  const clientIdScheme = schemes.find((s) => s.type === 'apiKey' && s.paramName?.toLowerCase() === 'clientid');
  const basic = schemes.find((s) => s.type === 'http' && s.scheme?.toLowerCase() === 'basic');
  const perCustomer = hasCustomerToken(model.auth);
  if (perCustomer && credential.kind !== 'oauth2-client-credentials' && credential.kind !== 'oauth2-password') {
    throw misfit(`every call uses the customer's own token (its token URL has ${CUSTOMER_PLACEHOLDER}); give an oauth2-${model.auth.oauth2!.grant === 'password' ? 'password' : 'client-credentials'} credential`);
  }

  switch (credential.kind) {
    case 'apiKey': {
      let name: string;
      let prefix = '';
      if (model.auth.apiKey) {
        name = model.auth.apiKey.header;
        prefix = model.auth.apiKey.prefix ?? '';
      } else {
        const keys = schemes.filter((s) => s.type === 'apiKey' && !(basic && s === clientIdScheme));
        const header = keys.find((s) => s.in === 'header' && s.paramName);
        if (!header) {
          if (keys.some((s) => s.in === 'query')) throw misfit('its API key goes in the query string, which the credential broker cannot set (the request URL is fixed and checked before credentials are added)');
          throw misfit('the document has no header API key scheme');
        }
        name = header.paramName as string;
      }
      // The prefix is the spec's to write: a key stored with it would go out as "ApiToken ApiToken ...".
      const bare = prefix.trim();
      if (bare && credential.key.trimStart().toLowerCase().startsWith(bare.toLowerCase())) {
        throw new CredentialError(`${model.name}: the API key starts with "${bare}", which the connector writes before the key itself; store the key without it`);
      }
      const value = `${prefix}${credential.key}`;
      return async (req) => req.headers.set(name, value);
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
      const fits = model.auth.oauth2 !== undefined
        || schemes.some((s) => (s.type === 'http' && s.scheme?.toLowerCase() === 'bearer') || s.type === 'oauth2' || s.type === 'openIdConnect');
      if (!fits) throw misfit('the document has no bearer, oauth2 or openIdConnect scheme');
      const value = `Bearer ${credential.token}`;
      return async (req) => req.headers.set('authorization', value);
    }
    case 'oauth2-client-credentials':
    case 'oauth2-password': {
      const spec = model.auth.oauth2;
      const grant = credential.kind === 'oauth2-password' ? 'password' : 'client_credentials';
      const oauth = schemes.find((s) => s.type === 'oauth2');
      if (spec && spec.grant !== grant) throw misfit(`the spec declares the OAuth2 ${spec.grant} grant; give an oauth2-${spec.grant === 'password' ? 'password' : 'client-credentials'} credential`);
      if (!spec && !oauth) throw misfit('the document has no oauth2 scheme');
      if (credential.tokenUrl !== undefined && credential.tokenUrl.includes(CUSTOMER_PLACEHOLDER) !== perCustomer) {
        throw misfit(perCustomer
          ? `credential.tokenUrl must keep ${CUSTOMER_PLACEHOLDER}: this connector's tokens are per customer`
          : `credential.tokenUrl has ${CUSTOMER_PLACEHOLDER}, but the connector's spec does not declare per-customer tokens`);
      }
      const template = resolveTokenUrl(model, credential.tokenUrl ?? spec?.tokenUrl ?? oauth?.tokenUrl, options.baseUrl, options.variables);
      const clientId = credential.clientId ?? spec?.clientId;
      const sourceOptions = {
        connector: model.name,
        grant: credential.kind === 'oauth2-password'
          ? { type: 'password' as const, username: credential.username, password: credential.password }
          : { type: 'client_credentials' as const },
        ...(clientId !== undefined && { clientId }),
        ...(credential.clientSecret !== undefined && { clientSecret: credential.clientSecret }),
        scope: credential.scope ?? spec?.scope,
        // The contract has no audience field yet; read it if the model ever carries one (Pax8's x-audience).
        audience: credential.kind === 'oauth2-client-credentials' ? credential.audience ?? (oauth as Scheme & { audience?: string } | undefined)?.audience : undefined,
        fetch: options.fetch,
        now: options.now,
      };
      // One source per customer when the token is the customer's: keyed by tenant and customer, so
      // one customer's token can never be handed to another's call.
      const sources = new Map<string, TokenSource>();
      const sourceFor = (call: AuthCall): TokenSource => {
        let key = '';
        let tokenUrl = template;
        if (perCustomer) {
          if (call.customer === undefined || call.customer === '') {
            throw new CredentialError(`${model.name}: every call of this connector uses the customer's own token; the call has no customer with a ${model.name} id (select one with the Specgate-Customer header and map its ${model.name} id)`);
          }
          tokenUrl = fillCustomer(model.name, template, call.customer);
          key = JSON.stringify([call.tenant ?? '', call.customer]);
        }
        let source = sources.get(key);
        if (source) {
          sources.delete(key);
        } else {
          source = createTokenSource({ ...sourceOptions, tokenUrl });
          if (sources.size >= MAX_TOKEN_SOURCES) sources.delete(sources.keys().next().value as string);
        }
        sources.set(key, source);
        return source;
      };
      return async (req, call = {}) => {
        const source = sourceFor(call);
        const token = await source.token();
        req.headers.set('authorization', `Bearer ${token}`);
        // The vendor refused it (revoked, or expired early): the next call asks for a new one.
        return () => source.invalidate(token);
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
export function resolveTokenUrl(model: ConnectorModel, raw: string | undefined, baseUrl: string, variables: Record<string, string> = {}): string {
  if (!raw) throw new CredentialError(`${model.name}: the connector declares no OAuth2 token URL; give credential.tokenUrl`);
  const problem = customerPlaceholderProblem(raw);
  if (problem) throw new CredentialError(`${model.name}: ${problem}`);
  // {customer} is filled per call; a stand-in carries it through URL parsing unencoded.
  let text = raw.replace(CUSTOMER_PLACEHOLDER, CUSTOMER_STAND_IN);
  text = text.replace(/\{([^{}/]+)\}/g, (whole, name: string) => {
    const value = variables[name];
    if (value === undefined) return whole;
    if (!/^[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?$/i.test(value)) {
      throw new CredentialError(`${model.name}: the variable "${name}" must be a host name or label to fill the token URL, got ${JSON.stringify(value.slice(0, 80))}`);
    }
    return value.toLowerCase();
  });
  const base = new URL(baseUrl);
  let resolved: string;
  const absolute = /^[a-z][a-z0-9+.-]*:\/\//i.exec(text);
  if (!absolute) {
    resolved = new URL(text.startsWith('/') ? text : `/${text}`, base.origin).href;
  } else if (/[{}]/.test(text)) {
    const origin = /^[a-z]+:\/\/[^/]+/i.exec(text)?.[0] ?? '';
    const sameHost = model.servers.some((s) => s.startsWith(`${origin}/`) || s === origin);
    const rest = text.slice(origin.length);
    if (!sameHost || /[{}]/.test(rest)) {
      throw new CredentialError(`${model.name}: the token URL ${raw} has template variables that neither the upstream's variables nor its base URL fill; give credential.tokenUrl`);
    }
    resolved = new URL(rest || '/', base.origin).href;
  } else {
    resolved = text;
  }
  let url: URL;
  try {
    url = new URL(resolved);
  } catch {
    throw new CredentialError(`${model.name}: the token URL ${JSON.stringify(raw.slice(0, 200))} is not a valid URL`);
  }
  if (!isSafeUrl(url)) throw new CredentialError(`${model.name}: the token URL must use https (http only for 127.0.0.1 or localhost), got ${url.protocol}//${url.host}`);
  if (url.username || url.password) throw new CredentialError(`${model.name}: the token URL must not carry user info`);
  return url.href.replace(CUSTOMER_STAND_IN, CUSTOMER_PLACEHOLDER);
}

const CUSTOMER_STAND_IN = 'specgate-customer-stand-in';

function describe(s: Scheme): string {
  const detail = s.type === 'apiKey' ? ` in ${s.in ?? '?'} ${s.paramName ?? ''}`.trimEnd() : s.type === 'http' ? ` ${s.scheme ?? ''}`.trimEnd() : '';
  return `${s.name} (${s.type}${detail})`;
}
