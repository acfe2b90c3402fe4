/** A tenant's API keys (what AI clients authenticate with on /mcp): the secret is shown once, in the 201. */
import type { FastifyInstance } from 'fastify';
import type { ApiKeyInfo } from '../store/index.ts';
import { AdminHttpError, idParam, name, tenantList, tenantParams, type AdminDeps } from './context.ts';
import { SHOWN_ONCE, keyStatus, parseDate } from './rules.ts';

const keyInfo = {
  type: 'object',
  properties: {
    id: { type: 'string' }, tenantId: { type: 'string' }, subject: { type: 'string' }, roles: { type: 'array', items: { type: 'string' } },
    prefix: { type: 'string' }, expiresAt: { type: ['string', 'null'] }, revokedAt: { type: ['string', 'null'] }, createdAt: { type: 'string' },
    status: { type: 'string' },
  },
} as const;

export default async function keys(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  const withStatus = (k: ApiKeyInfo) => ({ ...k, status: keyStatus(k, deps.now()) });

  tenantList(app, deps, '/tenants/:tenant/keys', async (tenant) => (await deps.apiKeys.list(tenant)).map(withStatus), (k) => k.id, keyInfo);

  app.post<{ Params: { tenant: string }; Body: { subject: string; roles?: string[]; expiresAt?: string } }>('/tenants/:tenant/keys', {
    schema: {
      params: tenantParams,
      body: {
        type: 'object', required: ['subject'], additionalProperties: false,
        properties: {
          subject: name,
          roles: { type: 'array', uniqueItems: true, maxItems: 50, items: { type: 'string', pattern: '^[A-Za-z0-9_.:-]+$', maxLength: 64 } },
          expiresAt: { type: 'string', maxLength: 40 },
        },
      },
      response: { 201: { type: 'object', properties: { key: { type: 'string' }, info: keyInfo, notice: { type: 'string' } } } },
    },
  }, async (request, reply) => {
    const { tenant } = request.params;
    await deps.tenant(request, tenant);
    const { subject, roles, expiresAt } = request.body;
    const expires = expiresAt === undefined ? null : new Date(parseDate(expiresAt, 'body.expiresAt'));
    if (expires && expires <= deps.now()) throw new AdminHttpError(400, 'invalid-request', 'body.expiresAt must be in the future', 'body.expiresAt');
    const { key, info } = await deps.changes(request).createKey({ tenantId: tenant, subject, roles: roles ?? [], expiresAt: expires });
    // The one response that carries the secret: no cache may keep it.
    return reply.code(201).header('cache-control', 'no-store')
      .send({ key, info: withStatus(info), notice: SHOWN_ONCE });
  });

  app.delete<{ Params: { tenant: string; key: string } }>('/tenants/:tenant/keys/:key', {
    schema: { params: { type: 'object', required: ['tenant', 'key'], additionalProperties: false, properties: { tenant: idParam, key: idParam } } },
  }, async (request, reply) => {
    const { tenant, key } = request.params;
    await deps.tenant(request, tenant);
    if (!(await deps.changes(request).revokeKey(tenant, key))) throw new AdminHttpError(404, 'not-found', `key "${key}" is not an active key of tenant "${tenant}"`, 'key');
    return reply.code(204).send();
  });
}
