/**
 * Operator keys for the admin HTTP API (`serve --admin-port`): create (shown once), list, revoke.
 * Whoever can open the store can mint one, which is the trust boundary the admin commands already
 * have. A key with --tenant manages only that tenant; without, every tenant.
 */
import type { Command } from 'commander';
import { keyOptions, leaf, parseExpiry, print, printNewKey, table, withStore, type StoreOpts } from './admin.ts';
import { keyStatus } from '../../runtime/admin/rules.ts';

export function registerAdminKey(program: Command): void {
  const adminKey = program.command('admin-key').description('operator keys for the admin HTTP API: create (shown once), list, revoke');
  leaf(adminKey, 'create', 'create an admin key; the key is printed once and never again')
    .requiredOption('--subject <subject>', 'the operator the key belongs to (recorded in the audit log)')
    .option('--tenant <id>', 'restrict the key to one tenant (default: global, every tenant)')
    .option('--expires <when>', 'ISO date-time or a duration from now: 30d, 12h, 45m')
    .option('--json', 'print JSON')
    .action((o: StoreOpts & { subject: string; tenant?: string; expires?: string; json?: boolean }) => withStore(o, async (s, m) => {
      const expiresAt = o.expires === undefined ? null : parseExpiry(o.expires, new Date());
      const { key, info } = await m.changes(s).createAdminKey({ subject: o.subject, tenantId: o.tenant ?? null, expiresAt });
      printNewKey(o.json, key, info, `created admin key ${info.id} for ${info.subject} (${info.tenantId ? `tenant ${info.tenantId} only` : 'every tenant'})`);
    }));
  leaf(adminKey, 'list', 'list admin keys (ids and status only, never secrets)')
    .option('--json', 'print JSON')
    .action((o: StoreOpts & { json?: boolean }) => withStore(o, async (s, m) => {
      const rows = (await m.adminKeysRepo(s, keyOptions()).list()).map((k) => ({ ...k, status: keyStatus(k) }));
      print(o.json, rows, () => table(['ID', 'SUBJECT', 'TENANT', 'STATUS', 'EXPIRES', 'CREATED'],
        rows.map((k) => [k.id, k.subject, k.tenantId ?? '*', k.status, k.expiresAt ?? '-', k.createdAt])));
    }));
  leaf(adminKey, 'revoke', 'revoke an admin key at once')
    .argument('<keyId>', 'key id (as in `admin-key list`)')
    .option('--json', 'print JSON')
    .action((keyId: string, o: StoreOpts & { json?: boolean }) => withStore(o, async (s, m) => {
      if (!(await m.changes(s).revokeAdminKey(keyId))) throw new Error(`admin key "${keyId}" is not an active key`);
      print(o.json, { keyId, revoked: true }, () => `revoked admin key ${keyId}`);
    }));
}
