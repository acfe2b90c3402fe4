/**
 * The admin HTTP API: what `specgate` admin commands do, over HTTP, for operators' tooling.
 * Resources under `/admin/v1`: tenants, customers (+ vendor ids), keys, grants, quotas, rate
 * limits, approvals, usage, audit, credentials. Every route has JSON Schemas (Fastify's ajv validation; a 400 names the
 * field and the rule), every error has one body shape `{ error: { code, message, field?, rule? } }`,
 * lists page with `?limit&after` and answer `{ items, next }`, and every mutation is audited in
 * the chain of the tenant concerned.
 *
 * It runs on a listener of its own (startAdminServer), bound to 127.0.0.1 by default, as mature
 * gateways do with their control plane (Kong's Admin API on :8001 and Envoy's admin interface
 * both default to loopback): the port that faces AI clients never exposes the operator surface,
 * and a firewall or a private network can guard one without touching the other.
 */
import { uuidv7 } from '../ids.ts';
import { Ajv, type ErrorObject } from 'ajv';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { OperatorError } from './rules.ts';
import { CredentialInputError } from '../credentials/broker.ts';
import { AdminHttpError, adminDeps, type AdminApiOptions } from './context.ts';
import { challenge } from './auth.ts';
import auth from './auth.ts';
import tenants from './tenants.ts';
import customers from './customers.ts';
import keys from './keys.ts';
import grants from './grants.ts';
import quotas from './quotas.ts';
import usage from './usage.ts';
import audit from './audit.ts';
import credentials from './credentials.ts';
import approvals from './approvals.ts';
import rateLimits from './rate-limits.ts';
import reports from './reports.ts';
import whoami from './whoami.ts';
import { describeAdminApi, serveAdminApiDocument } from './openapi.ts';
import consoleUi from './console.ts';
import { pointerPath } from '../config-load/ajv-messages.ts';

export type { AdminApiOptions } from './context.ts';
export const ADMIN_PREFIX = '/admin/v1';

// Bodies are validated strictly (no coercion: "5" is not a limit); query strings and path
// parameters are text by nature, so they are coerced to the schema's types. Unknown fields are
// refused (additionalProperties: false), never silently dropped: a typo must not pass as a default.
const strict = new Ajv({ allErrors: false, useDefaults: true, coerceTypes: false, removeAdditional: false });
const coercing = new Ajv({ allErrors: false, useDefaults: true, coerceTypes: 'array', removeAdditional: false });

const OPERATOR_STATUS = { 'not-found': 404, conflict: 409, invalid: 400, forbidden: 403 } as const;

/** `body.name`, `querystring.limit`: where a validation error is, from ajv's pointer and params. */
function fieldOf(context: string | undefined, e: ErrorObject): string {
  const extra = e.keyword === 'required' ? (e.params as { missingProperty: string }).missingProperty
    : e.keyword === 'additionalProperties' ? (e.params as { additionalProperty: string }).additionalProperty
    : undefined;
  const parts = pointerPath(e.instancePath);
  return [context ?? 'request', ...parts, ...(extra ? [extra] : [])].join('.');
}

function validationMessage(field: string, e: ErrorObject): string {
  if (e.keyword === 'required') return `${field} is required`;
  if (e.keyword === 'additionalProperties') return `${field} is not an accepted field`;
  return `${field} ${e.message ?? 'is invalid'}`;
}

/** Unique-key violations that slip past the existence checks (a race between two creates). */
function isDuplicate(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/** The admin routes, for registration under a prefix (ADMIN_PREFIX). */
export async function adminApi(app: FastifyInstance, options: AdminApiOptions): Promise<void> {
  const deps = adminDeps(options);
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema));

  app.setErrorHandler((err: FastifyError | AdminHttpError | OperatorError | CredentialInputError, request, reply) => {
    const send = (status: number, code: string, message: string, extra: Record<string, string> = {}) =>
      reply.code(status).type('application/json').send({ error: { code, message, ...extra } });
    if ('validation' in err && err.validation?.length) {
      const first = err.validation[0] as ErrorObject;
      const field = fieldOf(err.validationContext, first);
      return send(400, 'invalid-request', validationMessage(field, first), { field, rule: first.keyword });
    }
    if (err instanceof AdminHttpError) {
      // A credential that was sent and refused names the header (RFC 6750 invalid_token); a missing one does not.
      if (err.statusCode === 401) reply.header('www-authenticate', challenge(err.field !== undefined));
      return send(err.statusCode, err.code, err.message, err.field ? { field: err.field } : {});
    }
    if (err instanceof OperatorError) {
      return send(OPERATOR_STATUS[err.kind], err.kind === 'invalid' ? 'invalid-request' : err.kind, err.message, err.field ? { field: err.field } : {});
    }
    if (err instanceof CredentialInputError) return send(400, 'invalid-request', err.message, { field: 'body' });
    if (isDuplicate(err)) return send(409, 'conflict', 'an item with that id already exists');
    const status = (err as FastifyError).statusCode;
    if (status && status >= 400 && status < 500) return send(status, 'invalid-request', err.message);
    // Unexpected: logged with the request id; the answer names nothing internal.
    request.log.error({ err }, 'admin request failed');
    return send(500, 'internal', `internal error (request ${request.id})`);
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: { code: 'not-found', message: `no admin route ${request.method} ${request.url.split('?')[0]}` } }));

  await app.register(auth, deps);
  for (const resource of [whoami, tenants, customers, keys, grants, quotas, rateLimits, approvals, usage, reports, audit, credentials]) await app.register(resource, deps);
}

export interface AdminServerOptions extends AdminApiOptions {
  port: number;
  /** Default 127.0.0.1: reachable from the host only until an operator decides otherwise. */
  host?: string;
  logger?: Logger;
}

/**
 * The operator's listener, not yet listening: the admin API, its OpenAPI document and the console.
 * The document and the console's files are public (they hold no data); every API route needs an
 * admin credential.
 */
export async function buildAdminServer(options: Omit<AdminServerOptions, 'port'>): Promise<FastifyInstance> {
  const { host: _host, logger, ...api } = options;
  const app = Fastify({
    ...(logger ? { loggerInstance: logger.child({ component: 'admin' }) } : { logger: false }),
    genReqId: () => uuidv7(),
    requestIdHeader: false,
    bodyLimit: 256 * 1024,
  }) as unknown as FastifyInstance;
  await describeAdminApi(app);
  await app.register(adminApi, { ...api, prefix: ADMIN_PREFIX } as AdminApiOptions);
  serveAdminApiDocument(app);
  await app.register(consoleUi);
  return app;
}

/** The admin API on a listener of its own. */
export async function startAdminServer(options: AdminServerOptions): Promise<FastifyInstance> {
  const app = await buildAdminServer(options);
  await app.listen({ port: options.port, host: options.host ?? '127.0.0.1' });
  return app;
}
