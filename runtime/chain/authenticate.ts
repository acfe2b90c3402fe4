/**
 * Step 1: who is calling. The only credential is a specgate API key in `Authorization: Bearer
 * sg_...`; the key's row (not anything the client says) gives the subject, tenant and roles.
 */
import type { apiKeysRepo } from '../store/index.ts';
import { Refusal } from './refusal.ts';

export interface Identity {
  subject: string;
  tenantId: string;
  /** Sorted. */
  roles: string[];
  /** The API key's id (its public prefix), never the secret. */
  keyId: string;
}

type ApiKeys = Pick<ReturnType<typeof apiKeysRepo>, 'verify'>;

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

export async function authenticate(keys: ApiKeys, headers: Record<string, string | undefined>): Promise<Identity> {
  const header = headers.authorization;
  if (header === undefined || header.trim() === '') {
    throw new Refusal('authenticate', 'missing', 'Not authenticated: send an API key as "Authorization: Bearer sg_..."', 401);
  }
  const m = BEARER.exec(header);
  if (!m) throw new Refusal('authenticate', 'invalid', 'Not authenticated: the Authorization header must be "Bearer sg_..."', 401);
  const result = await keys.verify(m[1]);
  if (result.ok) {
    const { key } = result;
    return { subject: key.subject, tenantId: key.tenantId, roles: [...key.roles].sort(), keyId: key.id };
  }
  // Malformed and unknown keys get one message, so a probe learns nothing about which prefixes exist.
  switch (result.reason) {
    case 'expired': throw new Refusal('authenticate', 'expired', 'Not authenticated: the API key has expired', 401);
    case 'revoked': throw new Refusal('authenticate', 'revoked', 'Not authenticated: the API key has been revoked', 401);
    default: throw new Refusal('authenticate', 'invalid', 'Not authenticated: the API key is not valid', 401);
  }
}
