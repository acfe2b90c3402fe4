/**
 * Admin authentication: every admin request carries an operator credential in
 * `Authorization: Bearer …`, separate from tenant API keys (a tenant key `sg_…` is refused here,
 * and an admin key `sga_…` is refused on /mcp). Two kinds:
 *   - a stored admin key (`specgate admin-key create`), HMAC-hashed like API keys, global or
 *     restricted to one tenant (an MSP's own operator manages only its tenant);
 *   - the static SPECGATE_ADMIN_TOKEN, global, compared in constant time: a bootstrap path.
 * No credential: 401 with a Bearer challenge (RFC 6750); a bad one: 401 with error="invalid_token".
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { CREDENTIALS_IN_URL_MESSAGE, credentialInUrl } from '../mcp/edge.ts';
import { AdminHttpError, type AdminDeps, type AdminIdentity } from './context.ts';

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;
export const ADMIN_REALM = 'specgate-admin';

/** The challenge a 401 carries; `invalid` adds the RFC 6750 error code for a credential that was sent but refused. */
export function challenge(invalid: boolean): string {
  return `Bearer realm="${ADMIN_REALM}"${invalid ? ', error="invalid_token"' : ''}`;
}

/** Equal-length digests, so the comparison takes the same time whatever the token's length or content. */
function sameToken(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

export async function identify(deps: AdminDeps, header: string | undefined): Promise<AdminIdentity> {
  if (header === undefined || header.trim() === '') {
    throw new AdminHttpError(401, 'unauthenticated', 'Not authenticated: send an admin key as "Authorization: Bearer sga_..."');
  }
  const token = BEARER.exec(header)?.[1];
  const refused = (why: string) => new AdminHttpError(401, 'unauthenticated', `Not authenticated: ${why}`, 'headers.authorization');
  if (!token) throw refused('the Authorization header must be "Bearer <admin key>"');
  const { adminToken } = deps.options;
  if (adminToken && sameToken(token, adminToken)) return { subject: 'admin-token', keyId: null, tenantId: null };
  const result = await deps.adminKeys.verify(token);
  if (result.ok) return { subject: result.key.subject, keyId: result.key.id, tenantId: result.key.tenantId };
  // Malformed and unknown keys get one message, so a probe learns nothing about which prefixes exist.
  if (result.reason === 'expired' || result.reason === 'revoked') throw refused(`the admin key has ${result.reason === 'expired' ? 'expired' : 'been revoked'}`);
  throw refused('the admin credential is not valid');
}

async function auth(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  app.decorateRequest('admin', null as unknown as AdminIdentity);
  app.addHook('onRequest', async (request) => {
    const inUrl = credentialInUrl(request.url);
    if (inUrl) throw new AdminHttpError(400, 'invalid-request', `${CREDENTIALS_IN_URL_MESSAGE} (query parameter ${inUrl.param})`, `querystring.${inUrl.param}`);
    request.admin = await identify(deps, request.headers.authorization);
  });
}

// fastify-plugin: the hook must cover the sibling resource plugins registered after it.
export default fp(auth, { name: 'specgate-admin-auth', fastify: '5.x' });
