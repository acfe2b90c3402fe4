/**
 * The request parts that the credential broker or HTTP own: never a tool argument, never in the
 * typed client. (The connector's authentication model itself is generator/auth.ts.)
 */

/** Headers that HTTP or the credential broker owns; OpenAPI itself says to ignore the first three. */
export const RESERVED_HEADERS = new Set(['accept', 'content-type', 'authorization']);

/**
 * Whether a vendor parameter is the broker's or HTTP's rather than the caller's. `credentialKeys`
 * are `in:name` (name lower-cased) of the parameters the broker sets (credentialHeaders()).
 */
export function isOwnedParameter(credentialKeys: ReadonlySet<string>, p: { in: string; name: string }): boolean {
  const key = `${p.in}:${p.name.toLowerCase()}`;
  return credentialKeys.has(key) || (p.in === 'header' && RESERVED_HEADERS.has(p.name.toLowerCase()));
}
