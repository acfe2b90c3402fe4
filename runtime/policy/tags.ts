/**
 * Tags as rules compare them: vendors write `Asset Passwords`, `asset passwords` or
 * `Asset  Passwords` for the same thing, so lower-case, trimmed, inner white space one space.
 * A module of its own so that the call path can describe a tool to the policy without loading
 * the policy engine (an ungoverned runtime never does).
 */
export function normalizeTag(tag: string): string {
  return String(tag).trim().toLowerCase().replace(/\s+/g, ' ');
}
