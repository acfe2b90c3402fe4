/**
 * The connector's authentication model: the security schemes the vendor document declares, and
 * what the spec's `auth:` block adds where the document is silent or wrong (a header value prefix,
 * an OAuth2 password grant, a per-customer token endpoint). Checked here, with positions, so a
 * mistake fails at generation rather than on a technician's first call.
 */
import type { AuthModel } from '../runtime/model.ts';
import { customerPlaceholderProblem, hasCustomerToken } from '../runtime/credentials/customer-token.ts';
import type { AuthSpec } from './spec/types.ts';
import type { LoadedDocument } from './openapi/types.ts';

type Report = (severity: 'error' | 'warning', path: Array<string | number>, code: string, message: string, hint?: string) => void;

export function authModel(doc: LoadedDocument, spec?: AuthSpec): AuthModel {
  const schemes = (doc.document.components?.securitySchemes ?? {}) as Record<string, Record<string, any>>;
  const model: AuthModel = {
    schemes: Object.keys(schemes).sort().map((name) => {
      const s = schemes[name] ?? {};
      const type = (['apiKey', 'http', 'oauth2', 'openIdConnect', 'mutualTLS'].includes(s.type) ? s.type : 'http') as AuthModel['schemes'][number]['type'];
      const out: AuthModel['schemes'][number] = { name, type };
      if (type === 'apiKey') {
        if (['header', 'query', 'cookie'].includes(s.in)) out.in = s.in;
        if (typeof s.name === 'string') out.paramName = s.name;
      }
      if (type === 'http' && typeof s.scheme === 'string') out.scheme = s.scheme.toLowerCase();
      if (type === 'oauth2') {
        const url = s.flows?.clientCredentials?.tokenUrl;
        if (typeof url === 'string') out.tokenUrl = url;
      }
      return out;
    }),
  };
  if (spec?.apiKey) model.apiKey = { header: spec.apiKey.header, ...(spec.apiKey.prefix !== undefined && { prefix: spec.apiKey.prefix }) };
  if (spec?.oauth2) {
    const o = spec.oauth2;
    model.oauth2 = {
      grant: o.grant,
      ...(o.tokenUrl !== undefined && { tokenUrl: o.tokenUrl }),
      ...(o.scope !== undefined && { scope: o.scope }),
      ...(o.clientId !== undefined && { clientId: o.clientId }),
    };
  }
  return model;
}

/** Header parameters the credential broker sets: hidden from every tool's arguments. */
export function credentialHeaders(auth: AuthModel): Set<string> {
  const owned = new Set(auth.schemes.filter((s) => s.type === 'apiKey' && s.paramName).map((s) => `${s.in}:${s.paramName!.toLowerCase()}`));
  if (auth.apiKey) owned.add(`header:${auth.apiKey.header.toLowerCase()}`);
  return owned;
}

/** What the schema cannot say about the `auth:` block. */
export function checkAuth(auth: AuthModel, report: Report): void {
  const o = auth.oauth2;
  if (auth.apiKey && o) {
    report('error', ['auth'], 'auth/conflict', 'auth declares both apiKey and oauth2; a connector authenticates one way',
      'keep the one the vendor uses');
  }
  if (!o) return;
  const declared = o.tokenUrl ?? auth.schemes.find((s) => s.type === 'oauth2' && s.tokenUrl)?.tokenUrl;
  if (!declared) {
    report('error', ['auth', 'oauth2'], 'auth/token-url', 'auth.oauth2 needs a tokenUrl: the vendor document declares no OAuth2 token URL',
      'give auth.oauth2.tokenUrl, e.g. https://{platform}-api.example.com/auth/oauth/token');
    return;
  }
  if (o.tokenUrl === undefined) return;
  const absolute = /^[a-z][a-z0-9+.-]*:\/\//i.test(o.tokenUrl);
  if (absolute && !/^https:\/\//i.test(o.tokenUrl) && !/^http:\/\/(127\.0\.0\.1|localhost)[:/]/i.test(o.tokenUrl)) {
    report('error', ['auth', 'oauth2', 'tokenUrl'], 'auth/token-url', `token URL ${o.tokenUrl} must use https: the credential travels with the request`);
  }
  if (!absolute && !o.tokenUrl.startsWith('/')) {
    report('error', ['auth', 'oauth2', 'tokenUrl'], 'auth/token-url', `token URL ${o.tokenUrl} must be an absolute https URL or a path starting with /`);
  }
  const problem = customerPlaceholderProblem(o.tokenUrl);
  if (problem) report('error', ['auth', 'oauth2', 'tokenUrl'], 'auth/customer-placeholder', problem);
}

/** One line for the catalog page: how the connector authenticates. */
export function describeAuth(auth: AuthModel): string {
  const schemes = auth.schemes.map((s) => `${s.name} (${s.type}${s.paramName ? ` \`${s.paramName}\`` : ''}${s.scheme ? ` ${s.scheme}` : ''})`).join(', ') || 'none declared';
  if (auth.apiKey) {
    return `API key in header \`${auth.apiKey.header}\`${auth.apiKey.prefix ? `, written after the prefix \`${auth.apiKey.prefix.replace(/`/g, "'")}\`` : ''}`;
  }
  if (auth.oauth2) {
    const o = auth.oauth2;
    const grant = o.grant === 'password' ? 'OAuth2 password grant' : 'OAuth2 client credentials';
    return [
      grant,
      o.tokenUrl ? `token URL \`${o.tokenUrl}\`` : '',
      o.scope ? `scope \`${o.scope}\`` : '',
      o.clientId ? `public client id \`${o.clientId}\`` : '',
      hasCustomerToken(auth) ? 'credential (per-customer token)' : '',
    ].filter(Boolean).join(', ');
  }
  return schemes;
}
