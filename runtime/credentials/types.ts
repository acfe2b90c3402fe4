/**
 * What an operator hands the credential broker for one vendor. Secrets live only in these
 * values and in the headers the authenticator adds; no error message ever carries them.
 */
import { ToolCallError } from '../upstream/errors.ts';

export type VendorCredential =
  | { kind: 'apiKey'; key: string }
  | { kind: 'bearer'; token: string }
  | { kind: 'basic'; username: string; password: string }
  /** ConnectWise PSA: basic auth with `<companyId>+<publicKey>:<privateKey>` plus a `clientId` header. */
  | { kind: 'connectwise'; companyId: string; publicKey: string; privateKey: string; clientId: string }
  | {
      kind: 'oauth2-client-credentials';
      clientId: string;
      clientSecret: string;
      scope?: string;
      audience?: string;
      /** Overrides the model's token URL; may be relative to the base URL's origin. */
      tokenUrl?: string;
    }
  /** OAuth2 password grant (Datto RMM: the API key as username, the secret key as password). */
  | {
      kind: 'oauth2-password';
      username: string;
      password: string;
      /** Overrides the spec's public client id. */
      clientId?: string;
      clientSecret?: string;
      scope?: string;
      /** Overrides the model's token URL; may be relative to the base URL's origin. */
      tokenUrl?: string;
    };

export type CredentialKind = VendorCredential['kind'];

/**
 * A credential or base-URL problem: the message names what is wrong, never a secret value. A
 * ToolCallError, so a failure at call time (a refused token request) reaches the caller as written.
 */
export class CredentialError extends ToolCallError {}

/** http is for a local test upstream only: anything else would send a credential in clear text. */
export function isSafeUrl(url: URL): boolean {
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && (url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]');
}
