/**
 * The document's security schemes as the credential broker needs them, and the request parts
 * that the broker or HTTP own (never a tool argument, never in the typed client).
 */
import type { AuthModel } from '../../runtime/model.ts';
import type { LoadedDocument } from '../openapi/types.ts';

/** Headers that HTTP or the credential broker owns; OpenAPI itself says to ignore the first three. */
export const RESERVED_HEADERS = new Set(['accept', 'content-type', 'authorization']);

export function authModel(doc: LoadedDocument): AuthModel {
  const schemes = (doc.document.components?.securitySchemes ?? {}) as Record<string, Record<string, any>>;
  return {
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
}

/** `in:name` (name lower-cased) of each parameter an apiKey scheme declares: the broker sends it. */
export function credentialParameterKeys(auth: AuthModel): Set<string> {
  return new Set(auth.schemes.filter((s) => s.type === 'apiKey' && s.paramName).map((s) => `${s.in}:${s.paramName!.toLowerCase()}`));
}

/** Whether a vendor parameter is the broker's or HTTP's rather than the caller's. */
export function isOwnedParameter(credentialKeys: ReadonlySet<string>, p: { in: string; name: string }): boolean {
  const key = `${p.in}:${p.name.toLowerCase()}`;
  return credentialKeys.has(key) || (p.in === 'header' && RESERVED_HEADERS.has(p.name.toLowerCase()));
}
