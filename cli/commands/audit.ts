/**
 * The audit log: search, verify (hash chains, usage chains and signed checkpoints), write a
 * checkpoint, export the checkpoints for a store outside the database, print the public keys.
 * The audit table deliberately has no foreign key to tenants, so no command requires the tenant
 * to exist: entries outlive a deleted tenant.
 */
import fs from 'node:fs';
import type { Command } from 'commander';
import { parseDate } from '../../runtime/admin/rules.ts';
import { OUTCOME_PATTERN } from '../../runtime/admin/audit-outcome.ts';
import { leaf, parseCount, print, table, withStore, type StoreOpts } from './admin.ts';

type KeyOpts = { auditKeyFile?: string; publicKeys?: string };

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('the tamper-evident audit log: search, verify, checkpoint, export-checkpoints, public-keys');
  leaf(audit, 'search', "search a tenant's audit entries, newest first, as a table (or JSON)")
    .requiredOption('--tenant <id>', 'tenant id (_gateway: requests refused before a tenant was known)')
    .option('--customer <id>', 'only this customer')
    .option('--subject <subject>', 'only this subject')
    .option('--connector <name>', 'only this connector')
    .option('--tool <name>', 'only this tool')
    .option('--outcome <outcome>', 'only this outcome: ok, error, refused, cancelled, replayed ...')
    .option('--from <iso>', 'inclusive start')
    .option('--to <iso>', 'exclusive end')
    .option('--oldest-first', 'oldest entries first')
    .option('--before <seq>', 'newest first: only entries before this seq (paging)')
    .option('--after <seq>', 'oldest first: only entries after this seq (paging)')
    .option('--limit <n>', 'at most this many entries', '100')
    .option('--json', 'print JSON')
    .action((o: StoreOpts & { tenant: string; json?: boolean; customer?: string; subject?: string; connector?: string; tool?: string; outcome?: string; from?: string; to?: string; oldestFirst?: boolean; before?: string; after?: string; limit: string }) => withStore(o, async (s, m) => {
      const limit = parseCount(o.limit, '--limit', 1);
      if (o.outcome !== undefined && !new RegExp(OUTCOME_PATTERN).test(o.outcome)) throw new Error(`bad --outcome "${o.outcome}": a word such as ok, error, refused, cancelled`);
      const order = o.oldestFirst || o.after !== undefined ? 'asc' : 'desc';
      const entries = await m.auditRepo(s).search({
        tenant: o.tenant, customer: o.customer, subject: o.subject, connector: o.connector, tool: o.tool, outcome: o.outcome,
        from: o.from === undefined ? undefined : parseDate(o.from, '--from'),
        to: o.to === undefined ? undefined : parseDate(o.to, '--to'),
        afterSeq: o.after === undefined ? undefined : parseCount(o.after, '--after', 0),
        beforeSeq: o.before === undefined ? undefined : parseCount(o.before, '--before', 1),
        order, limit,
      });
      const cell = (v: unknown) => (typeof v === 'string' && v !== '' ? v : '-');
      print(o.json, entries, () => table(['SEQ', 'TIME (UTC)', 'OUTCOME', 'SUBJECT', 'CUSTOMER', 'TOOL', 'REASON'], entries.map((e) => [
        String(e.seq), e.at.slice(0, 19).replace('T', ' '), cell(e.record.outcome ?? e.record.action ?? e.record.event), cell(e.record.subject),
        cell(e.record.customer), cell(e.record.tool), cell(e.record.reason).slice(0, 80),
      ])));
      if (entries.length === limit) process.stderr.write(`showing ${limit} entries; continue with ${order === 'desc' ? '--before' : '--after'} ${entries[entries.length - 1].seq}\n`);
    }));

  keyOptions(leaf(audit, 'verify', 'walk the audit and usage hash chains and hold them against the newest signed checkpoints; exit 1 on any problem'))
    .option('--tenant <id>', 'only this tenant')
    .option('--checkpoints <file>', 'an exported copy of the checkpoints (JSON lines) kept outside the database: also detects deleted checkpoints (rollback)')
    .option('--json', 'print JSON')
    .action((o: StoreOpts & KeyOpts & { tenant?: string; checkpoints?: string; json?: boolean }) => withStore(o, async (s, m) => {
      const keys = o.publicKeys ? m.parseAuditPublicKeys(readFile(o.publicKeys, '--public-keys'), `public key file ${o.publicKeys}`) : m.loadAuditKeys({ file: o.auditKeyFile });
      const external = o.checkpoints === undefined ? undefined : m.parseCheckpointExport(readFile(o.checkpoints, '--checkpoints'), o.checkpoints);
      const r = await m.checkpointsRepo(s).verify({ keys, tenant: o.tenant, external });
      if (o.json) print(true, r);
      else {
        for (const p of r.problems) process.stderr.write(`${p.kind}: ${p.message}\n`);
        for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
        if (r.uncovered.length) process.stderr.write(`note: not yet covered by a checkpoint: ${r.uncovered.join(', ')}\n`);
        const summary = `${r.chains} chain(s), ${r.entries} entries, ${r.usageRows} usage rows, ${r.checkpoints} valid checkpoint(s)${r.latestCheckpoint ? `, newest ${r.latestCheckpoint}` : ''}`;
        if (r.ok) process.stdout.write(`audit ok: ${summary}\n`);
        else process.stderr.write(`audit verify failed: ${r.problems.length} problem(s); ${summary}\n`);
      }
      if (!r.ok) process.exitCode = 1;
    }));

  leaf(audit, 'checkpoint', 'sign and store a checkpoint of every audit and usage chain now (the runtime also writes them on a schedule and on shutdown)')
    .option('--audit-key-file <file>', `the audit signing keys (default: env SPECGATE_AUDIT_KEYS_FILE or SPECGATE_AUDIT_KEYS)`)
    .option('--json', 'print JSON')
    .action((o: StoreOpts & KeyOpts & { json?: boolean }) => withStore(o, async (s, m) => {
      const keys = m.loadAuditKeys({ file: o.auditKeyFile });
      if (!keys) throw new Error(m.MISSING_AUDIT_KEYS);
      const r = await m.checkpointsRepo(s).write(keys);
      print(o.json, r, () => r.written
        ? `audit checkpoint written: set ${r.set}, ${r.chains} chain(s), ${r.changed} with new entries (key ${keys.signer!.keyId})`
        : `audit checkpoint: nothing changed since the last one (${r.chains} chain(s))`);
    }));

  leaf(audit, 'export-checkpoints', 'print every stored checkpoint as JSON lines, for a copy kept outside the database')
    .option('--out <file>', 'write to this file instead of stdout')
    .option('--tenant <id>', "only this tenant's checkpoints (and the set checkpoints)")
    .action((o: StoreOpts & { out?: string; tenant?: string }) => withStore(o, async (s, m) => {
      const lines = (await m.checkpointsRepo(s).list(o.tenant)).map((c) => JSON.stringify(c));
      const text = lines.length ? `${lines.join('\n')}\n` : '';
      if (o.out === undefined) return void process.stdout.write(text);
      fs.writeFileSync(o.out, text);
      process.stderr.write(`wrote ${lines.length} checkpoint(s) to ${o.out}\n`);
    }));

  audit.command('new-key').description('print a fresh audit signing key entry for SPECGATE_AUDIT_KEYS (put it first to make it current)')
    .option('--id <id>', 'key id (default: a<today>)')
    .action(async (o: { id?: string }) => {
      const { newKeyEntry } = await import('../../runtime/credentials/keyring.ts');
      process.stdout.write(`${newKeyEntry(o.id ?? `a${new Date().toISOString().slice(0, 10).replace(/-/g, '')}`)}\n`);
    });

  audit.command('public-keys').description('print the public halves of the audit keys (<id>:<base64>), for `audit verify --public-keys` by an auditor who must not sign')
    .option('--audit-key-file <file>', 'the audit signing keys (default: env SPECGATE_AUDIT_KEYS_FILE or SPECGATE_AUDIT_KEYS)')
    .action(async (o: KeyOpts) => {
      const { loadAuditKeys, MISSING_AUDIT_KEYS } = await import('../../runtime/store/audit-keys.ts');
      const keys = loadAuditKeys({ file: o.auditKeyFile });
      if (!keys) throw new Error(MISSING_AUDIT_KEYS);
      process.stdout.write(`${keys.publicEntries().join('\n')}\n`);
    });
}

function keyOptions(cmd: Command): Command {
  return cmd
    .option('--audit-key-file <file>', 'the audit keys (default: env SPECGATE_AUDIT_KEYS_FILE or SPECGATE_AUDIT_KEYS)')
    .option('--public-keys <file>', 'verify with these public keys (`specgate audit public-keys`) instead of the signing keys');
}

function readFile(file: string, flag: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'the file does not exist' : (e as Error).message;
    throw new Error(`${flag} ${file}: cannot read it: ${reason}`);
  }
}
