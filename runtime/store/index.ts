// The governance store: one import for the runtime and the CLI.
export { openStore, withWriteLock, DEFAULT_STORE_URL, StoreNotFoundError, type Store, type Dialect, type OpenStoreOptions } from './db.ts';
export { migrateToLatest, migrationNames } from './migrations/index.ts';
export type { Schema } from './schema.ts';
export { canonicalJson } from './canonical.ts';
export { tenantsRepo, VENDOR_ID_NAME, type Tenant, type Customer } from './repos/tenants.ts';
export { apiKeysRepo, type ApiKeyInfo, type VerifyResult, type ApiKeysOptions } from './repos/api-keys.ts';
export { adminKeysRepo, type AdminKeyInfo, type AdminVerifyResult } from './repos/admin-keys.ts';
export { quotaRepo, consumeQuotaIn, type QuotaRule, type ConsumeResult } from './repos/quota.ts';
export { usageRepo, insertUsageIn, checkUsageRecord, type UsageRecord, type UsageReportRow } from './repos/usage.ts';
export { auditRepo, appendAuditIn, auditLockKey, type AuditRecord, type AuditEntry, type AuditQuery, type VerifyAuditResult } from './repos/audit.ts';
export { settingsRepo, type StoredCredential, type CredentialInfo, type Entitlement } from './repos/settings.ts';
export { rateLimitsRepo, RATE_LIMIT_SCOPES, type RateLimit, type RateLimitScope } from './repos/rate-limits.ts';
export { approvalsRepo, isRequester, selfApprovalMessage, SelfApprovalError, type Approval, type ApprovalKey, type ApprovalRequest, type ApprovalStatus, type ApprovalsOptions } from './repos/approvals.ts';
export { createGroupCommit, type GroupCommit } from './group-commit.ts';
export { reportsRepo, REPORT_BUCKETS, REPORT_KEYS, type ReportBucket, type ReportKey, type Series, type SeriesPoint, type SeriesQuery } from './repos/reports.ts';
export { checkpointsRepo, parseCheckpointExport, type SignedCheckpoint, type IntegrityReport, type IntegrityProblem, type IntegrityProblemKind } from './checkpoints.ts';
export { loadAuditKeys, parseAuditPublicKeys, auditKeysFromKeyring, AUDIT_KEYS_ENV, AUDIT_KEYS_FILE_ENV, MISSING_AUDIT_KEYS, type AuditKeys } from './audit-keys.ts';
export { startCheckpointSchedule, checkpointIntervalMs, AUDIT_CHECKPOINT_INTERVAL_ENV, type CheckpointSchedule } from './checkpoint-schedule.ts';
