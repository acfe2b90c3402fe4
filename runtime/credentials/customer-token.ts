/**
 * Per-customer token endpoints. Microsoft 365 is the reason: an MSP reaches each customer's own
 * Entra tenant, so the token URL names the customer (`https://login.microsoftonline.com/{customer}/...`)
 * and a token belongs to that customer alone. `{customer}` is the conversation's customer's vendor
 * id for the connector, which comes from the identity's grant, never from a tool argument.
 */
import type { AuthModel } from '../model.ts';
import { CredentialError } from './types.ts';

export const CUSTOMER_PLACEHOLDER = '{customer}';

/** Whether the connector's tokens are per customer: its declared token URL names `{customer}`. */
export function hasCustomerToken(auth: AuthModel): boolean {
  return auth.oauth2?.tokenUrl?.includes(CUSTOMER_PLACEHOLDER) === true;
}

/**
 * Where `{customer}` may stand: in the path only. In the host, a vendor id would choose where the
 * client secret is sent. Undefined when the URL is fine, else why not.
 */
export function customerPlaceholderProblem(tokenUrl: string): string | undefined {
  const count = tokenUrl.split(CUSTOMER_PLACEHOLDER).length - 1;
  if (count === 0) return undefined;
  if (count > 1) return `${CUSTOMER_PLACEHOLDER} may appear once in the token URL`;
  const authority = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(tokenUrl)?.[0] ?? '';
  if (authority.includes(CUSTOMER_PLACEHOLDER)) return `${CUSTOMER_PLACEHOLDER} must be in the token URL's path, not its host`;
  const at = tokenUrl.indexOf(CUSTOMER_PLACEHOLDER);
  if (/[?#]/.test(tokenUrl.slice(0, at))) return `${CUSTOMER_PLACEHOLDER} must be in the token URL's path, not its query`;
  return undefined;
}

/**
 * A plain vendor id: letters, digits, `-`, `_` and single dots between them (a GUID, or a domain
 * such as contoso.onmicrosoft.com). Slashes, `..`, `%`, `?`, `#`, `@` and spaces could move the
 * request to another path or host, so they are refused before any URL is built.
 */
const PLAIN_ID = /^[A-Za-z0-9](?:[A-Za-z0-9_-]|\.(?=[A-Za-z0-9_-])){0,127}$/;

/** The token URL for one customer; refuses an id that is not a plain vendor id. */
export function fillCustomer(connector: string, tokenUrl: string, customerVendorId: string): string {
  if (!PLAIN_ID.test(customerVendorId)) {
    throw new CredentialError(`${connector}: the customer's vendor id ${JSON.stringify(customerVendorId.slice(0, 80))} is not a plain id (letters, digits, "-", "_" and single dots; at most 128); it cannot go into the token URL`);
  }
  return tokenUrl.replace(CUSTOMER_PLACEHOLDER, encodeURIComponent(customerVendorId));
}
