import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { initial } from './001_initial.ts';
import { credentialKind } from './002_credential_kind.ts';
import { adminKeys } from './003_admin_keys.ts';
import { rateLimitsApprovals } from './004_rate_limits_approvals.ts';
import { auditCheckpoints } from './005_audit_checkpoints.ts';
import { namedVendorIds } from './006_named_vendor_ids.ts';
import { settingsVersion } from './007_settings_version.ts';

// A static list instead of folder scanning: works the same from source, bundles and tests.
// Names sort in apply order; never rename or edit an applied one, add a new entry instead.
const migrations: Record<string, Migration> = {
  '001_initial': initial,
  '002_credential_kind': credentialKind,
  '003_admin_keys': adminKeys,
  '004_rate_limits_approvals': rateLimitsApprovals,
  '005_audit_checkpoints': auditCheckpoints,
  '006_named_vendor_ids': namedVendorIds,
  '007_settings_version': settingsVersion,
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/** Applies every pending migration; throws naming the migration that failed. */
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`store migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

export const migrationNames = Object.keys(migrations);
