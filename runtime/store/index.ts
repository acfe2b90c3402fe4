// The governance store: one import for the runtime and the CLI.
export { openStore, withWriteLock, DEFAULT_STORE_URL, type Store, type Dialect, type OpenStoreOptions } from './db.ts';
export { migrateToLatest, migrationNames } from './migrations/index.ts';
export type { Schema } from './schema.ts';
export { canonicalJson } from './canonical.ts';
export { tenantsRepo, type Tenant, type Customer } from './repos/tenants.ts';
export { apiKeysRepo, type ApiKeyInfo, type VerifyResult, type ApiKeysOptions } from './repos/api-keys.ts';
export { quotaRepo, type QuotaRule, type ConsumeResult } from './repos/quota.ts';
export { usageRepo, type UsageRecord, type UsageReportRow } from './repos/usage.ts';
export { auditRepo, type AuditRecord, type AuditEntry, type AuditQuery, type VerifyAuditResult } from './repos/audit.ts';
export { settingsRepo, type StoredCredential, type Entitlement } from './repos/settings.ts';
