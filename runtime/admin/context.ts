/**
 * What every admin route shares: the authenticated operator on the request, the one error type
 * routes throw, tenant access (scope first, then existence), the audit record of a mutation, and
 * cursor pagination with its query schema.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  adminKeysRepo, apiKeysRepo, approvalsRepo, auditRepo, quotaRepo, rateLimitsRepo, reportsRepo, settingsRepo, tenantsRepo, usageRepo, type AuditKeys, type Store, type Tenant,
} from '../store/index.ts';
import type { CredentialBroker } from '../credentials/broker.ts';
import { operations } from './operations.ts';
import type { CatalogReport } from './catalog-report.ts';
import { changes } from './changes.ts';

/** Who is calling the admin API. `tenantId` null: a global operator; else only that tenant. */
export interface AdminIdentity { subject: string; keyId: string | null; tenantId: string | null }

declare module 'fastify' {
  interface FastifyRequest {
    admin: AdminIdentity;
  }
}

export type AdminErrorCode = 'invalid-request' | 'unauthenticated' | 'forbidden' | 'not-found' | 'conflict' | 'unavailable';

/** Every refusal a route makes; the error handler turns it into `{ error: { code, message, field? } }`. */
export class AdminHttpError extends Error {
  override name = 'AdminHttpError';
  constructor(readonly statusCode: 400 | 401 | 403 | 404 | 409 | 503, readonly code: AdminErrorCode, message: string, readonly field?: string) {
    super(message);
  }
}

export interface AdminApiOptions {
  store: Store;
  /** The API key pepper (SPECGATE_KEY_PEPPER): admin keys and the tenant keys minted here use it. */
  pepper?: string;
  /**
   * A static operator token (SPECGATE_ADMIN_TOKEN), global in scope: the bootstrap path before any
   * admin key exists. Stored admin keys are preferred: revocable, expiring, tenant-scoped, named.
   */
  adminToken?: string;
  /** The credential broker; without it the credentials routes answer 503. */
  broker?: Pick<CredentialBroker, 'put' | 'list' | 'remove'>;
  /** The catalog the runtime serves, with upstream health, for the console; without it `/catalog` is empty. */
  catalog?: () => CatalogReport;
  /** The keys audit verification checks checkpoints with (default: SPECGATE_AUDIT_KEYS[_FILE]). */
  auditKeys?: AuditKeys;
  now?: () => Date;
}

export type AdminDeps = ReturnType<typeof adminDeps>;

export function adminDeps(options: AdminApiOptions) {
  const { store } = options;
  const now = options.now ?? (() => new Date());
  const keyOptions = { pepper: options.pepper, now };
  const ops = operations(store, now);
  const audit = auditRepo(store, now);
  return {
    options,
    now,
    ops,
    tenants: tenantsRepo(store, now),
    apiKeys: apiKeysRepo(store, keyOptions),
    adminKeys: adminKeysRepo(store, keyOptions),
    settings: settingsRepo(store, now),
    quotas: quotaRepo(store),
    rateLimits: rateLimitsRepo(store),
    approvals: approvalsRepo(store, { now }),
    usage: usageRepo(store, now),
    reports: reportsRepo(store),
    audit,

    /**
     * The tenant a request names, once the caller may act on it: scope is checked before existence
     * so a tenant-scoped operator cannot probe which other tenants exist.
     */
    async tenant(request: FastifyRequest, tenantId: string): Promise<Tenant> {
      requireScope(request.admin, tenantId);
      return ops.requireTenant(tenantId);
    },

    /** The operator changes (runtime/admin/changes.ts), made and audited as this request's operator. */
    changes(request: FastifyRequest) {
      const { subject, keyId } = request.admin;
      return changes(store, { subject, keyId, requestId: request.id, via: 'admin-api' }, keyOptions);
    },
  };
}

export function requireScope(admin: AdminIdentity, tenantId: string): void {
  if (admin.tenantId !== null && admin.tenantId !== tenantId) {
    throw new AdminHttpError(403, 'forbidden', `this admin key may act only on tenant "${admin.tenantId}"`);
  }
}

export function requireGlobal(admin: AdminIdentity, what: string): void {
  if (admin.tenantId !== null) throw new AdminHttpError(403, 'forbidden', `${what} needs a global admin key; this one may act only on tenant "${admin.tenantId}"`);
}

// ---- schemas shared by the routes ----

/** Ids in paths: anything the store holds (the CLI accepts any text), bounded. */
export const idParam = { type: 'string', minLength: 1, maxLength: 200 } as const;
/** Ids an operator chooses through the API: safe in a URL path without escaping. */
export const newId = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]*$', maxLength: 128 } as const;
export const connectorName = { type: 'string', pattern: '^[a-z][a-z0-9_]*$', maxLength: 64 } as const;
export const name = { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' } as const;

export const tenantParams = {
  type: 'object', required: ['tenant'], additionalProperties: false, properties: { tenant: idParam },
} as const;

export const pageQuery = {
  type: 'object', additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
    after: { type: 'string', minLength: 1, maxLength: 200 },
  },
} as const;

export interface PageQuery { limit: number; after?: string }
export interface Page<T> { items: T[]; next: string | null }

/**
 * One page of an ordered list: the items after the one whose key is `after`, at most `limit`.
 * `next` is the last item's key while more remain. The cursor is a key, not an offset, so a row
 * inserted meanwhile does not shift the pages; a cursor naming no item is refused.
 */
export function page<T>(items: T[], keyOf: (item: T) => string, q: PageQuery): Page<T> {
  let start = 0;
  if (q.after !== undefined) {
    const at = items.findIndex((i) => keyOf(i) === q.after);
    if (at < 0) throw new AdminHttpError(400, 'invalid-request', `querystring.after "${q.after}" names no item of this list`, 'querystring.after');
    start = at + 1;
  }
  const slice = items.slice(start, start + q.limit);
  const more = start + q.limit < items.length;
  return { items: slice, next: more && slice.length ? keyOf(slice[slice.length - 1]) : null };
}

/**
 * `GET path`: one page of a list that belongs to the tenant named in the path. With `item`, the
 * response schema lists the fields that may leave: whatever else a row grows never does.
 */
export function tenantList<T>(app: FastifyInstance, deps: AdminDeps, path: string, list: (tenant: string) => Promise<T[]>, keyOf: (item: T) => string, item?: object): void {
  const response = item && { 200: { type: 'object', properties: { items: { type: 'array', items: item }, next: { type: ['string', 'null'] } } } };
  app.get<{ Params: { tenant: string }; Querystring: PageQuery }>(path, {
    schema: { params: tenantParams, querystring: pageQuery, ...(response && { response }) },
  }, async (request) => {
    const { tenant } = request.params;
    await deps.tenant(request, tenant);
    return page(await list(tenant), keyOf, request.query);
  });
}
