// Table types for the governance store. Timestamps are ISO-8601 UTC strings (`Date#toISOString`):
// they sort lexicographically in both SQLite and PostgreSQL, so range queries need no dialect code.

export interface TenantsTable { id: string; name: string; created_at: string }
export interface CustomersTable { id: string; tenant_id: string; name: string; created_at: string }
/** `name` is '' for the customer's unnamed (default) id in the vendor. */
export interface CustomerVendorIdsTable { customer_id: string; connector: string; name: string; vendor_id: string }
export interface ApiKeysTable {
  id: string;
  tenant_id: string;
  subject: string;
  /** JSON array of role names. */
  roles: string;
  /** Hex HMAC-SHA256 of the full plaintext key; the plaintext is never stored. */
  hash: string;
  prefix: string;
  expires_at: string | null;
  revoked_at: string | null;
  created_at: string;
}
/** Operator keys for the admin API (migration 003): a null tenant_id is a global key. */
export interface AdminKeysTable {
  id: string;
  tenant_id: string | null;
  subject: string;
  /** Hex HMAC-SHA256 of the full plaintext key, as for api_keys. */
  hash: string;
  prefix: string;
  expires_at: string | null;
  revoked_at: string | null;
  created_at: string;
}
export interface CredentialsTable {
  tenant_id: string;
  connector: string;
  ciphertext: string;
  key_id: string;
  /** The credential's kind (apiKey, basic, ...), readable without the master key; '' for rows from before 002. */
  kind: string;
  updated_at: string;
}
export interface EntitlementsTable { tenant_id: string; connector: string; tool_glob: string }
export interface QuotasTable {
  tenant_id: string;
  /** '*', '<connector>' or '<connector>/<tool>'. */
  scope: string;
  /** 'day' | 'month' (free text: the runtime decides how it maps to period_start). */
  period: string;
  limit: number;
}
export interface QuotaCountersTable { tenant_id: string; scope: string; period_start: string; used: number }
export interface UsageTable {
  call_id: string;
  tenant_id: string;
  customer_id: string | null;
  subject: string | null;
  connector: string;
  tool: string;
  outcome: string;
  latency_ms: number;
  upstream_bytes: number;
  units: number;
  at: string;
  // The tenant's usage hash chain (migration 005); null only on a row written around the chain.
  seq: number | null;
  prev_hash: string | null;
  hash: string | null;
}
export interface AuditTable {
  tenant_id: string;
  /** 1-based, contiguous per tenant: each tenant has its own chain. */
  seq: number;
  at: string;
  /** Canonical JSON of the record (sorted keys). */
  record: string;
  // Copies of record fields so search can use indexes; verify checks they still match the record.
  customer_id: string | null;
  subject: string | null;
  connector: string | null;
  tool: string | null;
  prev_hash: string;
  hash: string;
}

export interface RateLimitsTable {
  tenant_id: string;
  /** 'tenant' (all its calls) or 'identity' (each subject on its own). */
  scope: string;
  per_second: number;
}
export interface ApprovalsTable {
  id: string;
  tenant_id: string;
  subject: string;
  customer_id: string | null;
  connector: string;
  tool: string;
  arguments_hash: string;
  /** Canonical JSON of the arguments, secrets redacted: what the approver reviews. */
  arguments: string;
  decision_id: string;
  reason: string;
  /** 'pending' | 'approved' | 'denied' | 'used'. Expiry is read from expires_at, not stored. */
  status: string;
  requested_at: string;
  expires_at: string;
  decided_at: string | null;
  decided_by: string | null;
  note: string | null;
  used_by_call: string | null;
}

/** Signed checkpoints of the audit and usage chains (migration 005); see runtime/store/checkpoints.ts. */
export interface AuditCheckpointsTable {
  id: string;
  /** 'chain': one chain's heads; 'set': the list of every chain at that moment. */
  kind: string;
  /** The chain (tenant id) of a 'chain' checkpoint; null for a set. */
  chain: string | null;
  at: string;
  /** Canonical JSON: exactly the bytes signed. */
  payload: string;
  key_id: string;
  /** Base64 Ed25519 signature of the payload. */
  signature: string;
}

/** One row (id 1): moved by a trigger on every change to the rows a call reads (migration 007). */
export interface SettingsVersionTable { id: number; version: number | string }

export interface Schema {
  tenants: TenantsTable;
  customers: CustomersTable;
  customer_vendor_ids: CustomerVendorIdsTable;
  api_keys: ApiKeysTable;
  admin_keys: AdminKeysTable;
  credentials: CredentialsTable;
  entitlements: EntitlementsTable;
  quotas: QuotasTable;
  quota_counters: QuotaCountersTable;
  usage: UsageTable;
  audit: AuditTable;
  rate_limits: RateLimitsTable;
  approvals: ApprovalsTable;
  audit_checkpoints: AuditCheckpointsTable;
  settings_version: SettingsVersionTable;
}
