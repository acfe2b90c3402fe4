/**
 * Operator changes and their audit records, one path for both front ends: the admin HTTP API and
 * the `specgate` commands make a change by calling these, so the same change leaves the same
 * record (`event: admin`, the action, the actor, the target) in the chain of the tenant concerned
 * whichever way it was made. Changes that concern no one tenant (a global admin key, a keyring
 * rotation) go to the gateway chain.
 *
 * The actor is the admin key's subject over HTTP, and `cli:<OS user>` on the command line:
 * whoever can open the store can act, and the OS account is what identifies them there.
 */
import os from 'node:os';
import {
  adminKeysRepo, apiKeysRepo, auditRepo, quotaRepo, rateLimitsRepo, settingsRepo,
  type AdminKeyInfo, type ApiKeyInfo, type Customer, type QuotaRule, type RateLimit, type RateLimitScope, type Store, type Tenant,
} from '../store/index.ts';
import { GATEWAY_CHAIN, redactArguments } from '../governance/audit.ts';
import type { CredentialBroker } from '../credentials/broker.ts';
import { operations } from './operations.ts';
import { OperatorError } from './rules.ts';

export interface Actor {
  /** The operator: an admin key's subject, `admin-token`, or `cli:<OS user>`. */
  subject: string;
  /** Which front end: `admin-api` or `cli`. */
  via: 'admin-api' | 'cli';
  /** The admin key's id, over HTTP. */
  keyId?: string | null;
  /** The admin API request's id. */
  requestId?: string;
}

/** The CLI's actor: the OS user running the command. */
export function cliActor(): Actor {
  let user: string;
  try {
    user = os.userInfo().username;
  } catch {
    // A container user without a passwd entry: its uid is still who it is.
    user = process.env.USER ?? `uid-${process.getuid?.() ?? 'unknown'}`;
  }
  return { subject: `cli:${user}`, via: 'cli' };
}

export interface ChangeOptions {
  /** The API key pepper (SPECGATE_KEY_PEPPER). */
  pepper?: string;
  now?: () => Date;
}

type Broker = Pick<CredentialBroker, 'put' | 'list' | 'remove'>;

export function changes(store: Store, actor: Actor, options: ChangeOptions = {}) {
  const now = options.now ?? (() => new Date());
  const ops = operations(store, now);
  const audit = auditRepo(store, now);
  const settings = settingsRepo(store, now);
  const quotas = quotaRepo(store);
  const rateLimits = rateLimitsRepo(store);
  const keyOptions = { pepper: options.pepper, now };

  /**
   * Appends the change to `chain`. `target` goes through the call audit's redaction, which blanks
   * any field named like a secret (…key…, …token…): name target fields accordingly (`id`, `holder`, `sealedWith`).
   */
  async function record(chain: string, action: string, target: Record<string, unknown>): Promise<void> {
    await audit.append(chain, {
      event: 'admin', action, subject: actor.subject, via: actor.via, ...(actor.keyId ? { keyId: actor.keyId } : {}),
      ...(actor.requestId ? { requestId: actor.requestId } : {}),
      target: redactArguments(target) as Record<string, unknown>,
    });
  }

  return {
    record,

    async createTenant(input: { name: string; id?: string }): Promise<Tenant> {
      const tenant = await ops.createTenant(input);
      await record(tenant.id, 'tenant.create', { tenant: tenant.id, name: tenant.name });
      return tenant;
    },

    async createCustomer(input: { tenantId: string; name: string; id?: string }): Promise<Customer> {
      const customer = await ops.createCustomer(input);
      await record(input.tenantId, 'customer.create', { customer: customer.id, name: customer.name });
      return customer;
    },

    async setVendorId(tenantId: string, customer: string, connector: string, vendorId: string, name = ''): Promise<void> {
      await ops.setVendorId(tenantId, customer, connector, vendorId, name);
      await record(tenantId, 'customer.vendor-id', { customer, connector, vendorId, ...(name && { name }) });
    },

    async createKey(input: { tenantId: string; subject: string; roles: string[]; expiresAt: Date | null }): Promise<{ key: string; info: ApiKeyInfo }> {
      const created = await apiKeysRepo(store, keyOptions).create(input);
      const { info } = created;
      await record(input.tenantId, 'key.create', { id: info.id, holder: info.subject, roles: info.roles, expiresAt: info.expiresAt });
      return created;
    },

    /** False when the key is not an active key of the tenant (nothing changed, nothing recorded). */
    async revokeKey(tenantId: string, keyId: string): Promise<boolean> {
      if (!(await apiKeysRepo(store, keyOptions).revoke(tenantId, keyId))) return false;
      await record(tenantId, 'key.revoke', { id: keyId });
      return true;
    },

    async grant(tenantId: string, connector: string, toolGlob: string): Promise<void> {
      if (await ops.hasGrant(tenantId, connector, toolGlob)) throw new OperatorError('conflict', `tenant "${tenantId}" already has grant ${connector} ${toolGlob}`);
      await settings.grant(tenantId, connector, toolGlob);
      await record(tenantId, 'grant.create', { connector, toolGlob });
    },

    async revokeGrant(tenantId: string, connector: string, toolGlob: string): Promise<void> {
      await ops.revokeGrant(tenantId, connector, toolGlob);
      await record(tenantId, 'grant.revoke', { connector, toolGlob });
    },

    /** Sets or replaces the quota of (scope, period); says whether one existed. */
    async setQuota(rule: QuotaRule): Promise<{ existed: boolean }> {
      const existed = (await quotas.listQuotas(rule.tenantId)).some((q) => q.scope === rule.scope && q.period === rule.period);
      await quotas.setQuota(rule);
      await record(rule.tenantId, existed ? 'quota.replace' : 'quota.create', { scope: rule.scope, period: rule.period, limit: rule.limit });
      return { existed };
    },

    async setRateLimit(limit: RateLimit): Promise<{ existed: boolean }> {
      const existed = (await rateLimits.list(limit.tenantId)).some((r) => r.scope === limit.scope);
      await rateLimits.set(limit);
      await record(limit.tenantId, existed ? 'rate-limit.replace' : 'rate-limit.create', { scope: limit.scope, perSecond: limit.perSecond });
      return { existed };
    },

    async removeRateLimit(tenantId: string, scope: RateLimitScope): Promise<void> {
      if (!(await rateLimits.list(tenantId)).some((r) => r.scope === scope)) throw new OperatorError('not-found', `tenant "${tenantId}" has no ${scope} rate limit`, 'scope');
      await rateLimits.remove(tenantId, scope);
      await record(tenantId, 'rate-limit.remove', { scope });
    },

    async putCredential(broker: Broker, tenantId: string, connector: string, entry: unknown): Promise<{ existed: boolean; stored: Awaited<ReturnType<Broker['put']>> }> {
      const existed = (await broker.list(tenantId)).some((c) => c.connector === connector);
      const stored = await broker.put(tenantId, connector, entry as Parameters<Broker['put']>[2]);
      await record(tenantId, existed ? 'credential.replace' : 'credential.create', { connector, kind: stored.kind, sealedWith: stored.keyId });
      return { existed, stored };
    },

    /** False when the tenant has no credential for the connector. */
    async removeCredential(broker: Pick<Broker, 'remove'>, tenantId: string, connector: string): Promise<boolean> {
      if (!(await broker.remove(tenantId, connector))) return false;
      await record(tenantId, 'credential.remove', { connector });
      return true;
    },

    /** A keyring rotation re-seals every tenant's credentials: recorded in the gateway chain. */
    async recordRotation(report: { keyId: string; resealed: number; unchanged: number }): Promise<void> {
      await record(GATEWAY_CHAIN, 'credential.rotate', { sealedWith: report.keyId, resealed: report.resealed, unchanged: report.unchanged });
    },

    /** A tenant-scoped admin key is recorded in its tenant's chain, a global one in the gateway chain. */
    async createAdminKey(input: { subject: string; tenantId: string | null; expiresAt: Date | null }): Promise<{ key: string; info: AdminKeyInfo }> {
      if (input.tenantId !== null) await ops.requireTenant(input.tenantId);
      const created = await adminKeysRepo(store, keyOptions).create(input);
      const { info } = created;
      await record(info.tenantId ?? GATEWAY_CHAIN, 'admin-key.create', { id: info.id, holder: info.subject, scope: info.tenantId ?? '*', expiresAt: info.expiresAt });
      return created;
    },

    async revokeAdminKey(keyId: string): Promise<boolean> {
      const repo = adminKeysRepo(store, keyOptions);
      const info = (await repo.list()).find((k) => k.id === keyId);
      if (!(await repo.revoke(keyId))) return false;
      await record(info?.tenantId ?? GATEWAY_CHAIN, 'admin-key.revoke', { id: keyId });
      return true;
    },
  };
}

export type Changes = ReturnType<typeof changes>;
