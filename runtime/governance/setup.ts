/**
 * Builds the governed call path (runtime/call-path.ts, step 6) for one store: the store-bound parts
 * of its steps (repositories, the group commit, limiters, the JWT verifier), once per runtime.
 * Loaded only with a store, so that an ungoverned runtime never loads the store drivers or the
 * identity providers' libraries.
 */
import type { ToolCaller } from '../tool-call.ts';
import { apiKeysRepo, approvalsRepo, consumeQuotaIn, createGroupCommit, createSettingsCache, usageRepo, type Store, type ApiKeysOptions } from '../store/index.ts';
import { createJwtVerifier } from '../identity/jwt.ts';
import type { IdentityConfig } from '../identity/providers.ts';
import { createGovernedPath, type Governance } from '../call-path.ts';
import { authenticate } from './authenticate.ts';
import type { PolicyDecider } from './policy.ts';
import { createRateLimiter } from './rate-limit.ts';
import { createCallRecorder } from './record.ts';
import { createIdempotency } from './idempotency.ts';
import { createResponseCache, type ResponseCacheOptions } from './response-cache.ts';
import { createVendorBudgets, type VendorBudget } from './vendor-budget.ts';

export type { Governance, ChainRequest } from '../call-path.ts';
export { Refusal, type GovernanceRequest } from './refusal.ts';
export type { Identity } from './authenticate.ts';

export interface GovernanceOptions {
  store: Store;
  policy: PolicyDecider;
  /** Executes a call that got through (step 6.14); a runtime passes call-path.ts's `tenantExecutor`. */
  caller: Pick<ToolCaller, 'callTool'>;
  /** The API key pepper the keys were created with. */
  apiKeys?: ApiKeysOptions;
  /** Trusted OAuth/OIDC providers: their JWT access tokens are accepted beside API keys. */
  identity?: IdentityConfig;
  /** How long an approval request waits and an approval stays usable; default 24 h. */
  approvalTtlMs?: number;
  now?: () => Date;
  /** Told about an unexpected failure inside the path (it is audited as an internal error); for the log. */
  onInternalError?: (error: unknown, requestId: string) => void;
  /** Opt-in reuse of read results per tool (tenant, customer, tool and arguments in the key). */
  responseCache?: ResponseCacheOptions;
  /** Request budgets per connector, counted per tenant's vendor instance. */
  vendorBudgets?: Record<string, VendorBudget>;
}

export function createGovernance(options: GovernanceOptions): Governance {
  const { store } = options;
  const now = options.now ?? (() => new Date());
  const keys = apiKeysRepo(store, { ...options.apiKeys, now });
  // What a call reads before it runs, from memory while the store's settings version stands still:
  // each request confirms the version once, where it authenticates (6.2); its later steps read
  // `latest`, which is at least that fresh.
  const settings = createSettingsCache(store);
  const group = createGroupCommit(store);
  const jwt = options.identity?.providers.length
    ? createJwtVerifier(options.identity, { now, knownTenant: async (id) => (await settings.latest.getTenant(id)) !== undefined })
    : undefined;
  return createGovernedPath({
    now,
    identify: async (req) => {
      const view = await settings.current();
      return authenticate({ keys: { verify: (key) => keys.verify(key, view.apiKey) }, ...(jwt && { jwt }) }, req.headers);
    },
    tenants: settings.latest,
    settings: settings.latest,
    idempotency: createIdempotency({ ranCall: usageRepo(store, now).ranCall }),
    policy: options.policy,
    rateLimiter: createRateLimiter({ list: settings.latest.rateLimits }),
    approvals: approvalsRepo(store, { now, ...(options.approvalTtlMs !== undefined && { ttlMs: options.approvalTtlMs }) }),
    // Quota counters are taken in the group commit too: one transaction for many concurrent calls.
    // Not durable on their own: the call's usage and audit commit after them and make them durable,
    // and a counter lost with the machine belongs to a call that never answered.
    quotas: {
      listQuotas: settings.latest.listQuotas,
      consume: (tenantId, scope, periodStart, limit) => group.run([], (trx) => consumeQuotaIn(trx, tenantId, scope, periodStart, limit), { durable: false }),
    },
    // Always there: tools opt in in their spec; the operator's --cache rules only adjust.
    responseCache: createResponseCache(options.responseCache ?? {}),
    vendorBudgets: createVendorBudgets(options.vendorBudgets ?? {}),
    executor: options.caller,
    recorder: createCallRecorder(group, now),
    ...(options.onInternalError && { onInternalError: options.onInternalError }),
  });
}
