/**
 * Operator commands over the governance store: tenants, customers, API keys, entitlements,
 * quotas, usage and audit. Every command takes --store (or SPECGATE_STORE); the store module
 * (SQLite/PostgreSQL drivers) loads inside the action, so `--help` answers at once. A store that
 * does not exist is an error unless --create-store is given. Every change goes through
 * runtime/admin/changes.ts, as the admin API's do, and is audited with the actor `cli:<OS user>`.
 */
import { Option, type Command } from 'commander';
import { QUOTA_PERIODS as PERIODS, SHOWN_ONCE, keyStatus, parseDate, reportWindow } from '../../runtime/admin/rules.ts';
import type { Series, SeriesQuery } from '../../runtime/store/repos/reports.ts';

type StoreModule = typeof import('../../runtime/store/index.ts') & typeof import('../../runtime/admin/operations.ts') & {
  /** The operator changes, made and audited as the CLI's actor. */
  changes(store: Store): import('../../runtime/admin/changes.ts').Changes;
};
type Store = import('../../runtime/store/index.ts').Store;
export interface StoreOpts { store?: string; createStore?: boolean }
interface TenantOpts extends StoreOpts { tenant: string; json?: boolean }

export function registerAdmin(program: Command): void {
  const tenant = program.command('tenant').description('tenants: the isolation unit every key, grant and quota belongs to');
  leaf(tenant, 'create', 'create a tenant and print its id')
    .argument('<name>', 'display name')
    .option('--id <id>', 'choose the id instead of a generated UUID')
    .option('--json', 'print JSON')
    .action((name: string, o: StoreOpts & { id?: string; json?: boolean }) => withStore(o, async (s, m) => {
      const t = await m.changes(s).createTenant({ name, id: o.id });
      print(o.json, t, () => `created tenant ${t.id} (${t.name})`);
    }));
  leaf(tenant, 'list', 'list tenants')
    .option('--json', 'print JSON')
    .action((o: StoreOpts & { json?: boolean }) => withStore(o, async (s, m) => {
      const rows = await m.tenantsRepo(s).listTenants();
      print(o.json, rows, () => table(['ID', 'NAME', 'CREATED'], rows.map((t) => [t.id, t.name, t.createdAt])));
    }));

  const customer = program.command('customer').description("a tenant's customers and their ids in vendors' systems");
  tenantLeaf(customer, 'create', 'create a customer of a tenant and print its id')
    .argument('<name>', 'display name')
    .option('--id <id>', 'choose the id instead of a generated UUID')
    .action((name: string, o: TenantOpts & { id?: string }) => withTenant(o, async (s, m) => {
      const c = await m.changes(s).createCustomer({ tenantId: o.tenant, name, id: o.id });
      print(o.json, c, () => `created customer ${c.id} (${c.name}) in tenant ${o.tenant}`);
    }));
  tenantLeaf(customer, 'list', "list a tenant's customers")
    .action((o: TenantOpts) => withTenant(o, async (s, m) => {
      const rows = await m.tenantsRepo(s).listCustomers(o.tenant);
      print(o.json, rows, () => table(['ID', 'NAME', 'CREATED'], rows.map((c) => [c.id, c.name, c.createdAt])));
    }));
  tenantLeaf(customer, 'vendor-id', "record the customer's id in the system behind a connector")
    .requiredOption('--customer <id>', 'customer id')
    .argument('<connector>', 'connector name')
    .argument('<vendorId>', "the customer's id in that vendor's system")
    .option('--name <name>', 'which of several ids the customer has in that vendor (a spec\'s customer.ids, e.g. siteUid); default the unnamed id')
    .action((connector: string, vendorId: string, o: TenantOpts & { customer: string; name?: string }) => withTenant(o, async (s, m) => {
      await m.changes(s).setVendorId(o.tenant, o.customer, connector, vendorId, o.name ?? '');
      print(o.json, { tenantId: o.tenant, customerId: o.customer, connector, vendorId, ...(o.name && { name: o.name }) },
        () => `customer ${o.customer} is ${vendorId}${o.name ? ` (${o.name})` : ''} in ${connector}`);
    }));

  const key = program.command('key').description('API keys: create (shown once), list, revoke');
  tenantLeaf(key, 'create', 'create an API key; the key is printed once and never again')
    .requiredOption('--subject <subject>', 'who the key acts as (user or service name)')
    .option('--roles <roles>', 'comma-separated roles', '')
    .option('--expires <when>', 'ISO date-time or a duration from now: 30d, 12h, 45m')
    .action((o: TenantOpts & { subject: string; roles: string; expires?: string }) => withTenant(o, async (s, m) => {
      const expiresAt = o.expires === undefined ? null : parseExpiry(o.expires, new Date());
      const roles = o.roles.split(',').map((r) => r.trim()).filter(Boolean);
      const { key: secret, info } = await m.changes(s).createKey({ tenantId: o.tenant, subject: o.subject, roles, expiresAt });
      printNewKey(o.json, secret, info, `created key ${info.id} for ${info.subject} in tenant ${o.tenant}${info.expiresAt ? `, expires ${info.expiresAt}` : ''}`);
    }));
  tenantLeaf(key, 'list', "list a tenant's keys (ids and status only, never secrets)")
    .action((o: TenantOpts) => withTenant(o, async (s, m) => {
      const rows = await m.apiKeysRepo(s, keyOptions()).list(o.tenant);
      const status = (k: (typeof rows)[number]) => keyStatus(k);
      print(o.json, rows.map((k) => ({ ...k, status: status(k) })), () => table(['ID', 'SUBJECT', 'ROLES', 'STATUS', 'EXPIRES', 'CREATED'],
        rows.map((k) => [k.id, k.subject, k.roles.join(','), status(k), k.expiresAt ?? '-', k.createdAt])));
    }));
  tenantLeaf(key, 'revoke', 'revoke a key at once')
    .argument('<keyId>', 'key id (as in `key list`)')
    .action((keyId: string, o: TenantOpts) => withTenant(o, async (s, m) => {
      if (!(await m.changes(s).revokeKey(o.tenant, keyId))) throw new Error(`key "${keyId}" is not an active key of tenant "${o.tenant}"`);
      print(o.json, { tenantId: o.tenant, keyId, revoked: true }, () => `revoked key ${keyId}`);
    }));

  tenantLeaf(program, 'grant', 'entitle a tenant to a connector\'s tools (both are picomatch globs)')
    .argument('<connector>', 'connector name or glob')
    .argument('[toolGlob]', 'tool name glob', '*')
    .action((connector: string, toolGlob: string, o: TenantOpts) => withTenant(o, async (s, m) => {
      await m.changes(s).grant(o.tenant, connector, toolGlob);
      print(o.json, { tenantId: o.tenant, connector, toolGlob }, () => `granted ${connector} ${toolGlob} to tenant ${o.tenant}`);
    }));
  tenantLeaf(program, 'revoke-grant', 'remove one entitlement (same connector and glob as granted)')
    .argument('<connector>', 'connector name or glob')
    .argument('[toolGlob]', 'tool name glob', '*')
    .action((connector: string, toolGlob: string, o: TenantOpts) => withTenant(o, async (s, m) => {
      await m.changes(s).revokeGrant(o.tenant, connector, toolGlob);
      print(o.json, { tenantId: o.tenant, connector, toolGlob, revoked: true }, () => `revoked grant ${connector} ${toolGlob} from tenant ${o.tenant}`);
    }));
  tenantLeaf(program, 'grants', "list a tenant's entitlements")
    .action((o: TenantOpts) => withTenant(o, async (s, m) => {
      const rows = await m.settingsRepo(s).entitlements(o.tenant);
      print(o.json, rows, () => table(['CONNECTOR', 'TOOLS'], rows.map((e) => [e.connector, e.toolGlob])));
    }));

  const quota = program.command('quota').description('call quotas per tenant, tool glob and period');
  tenantLeaf(quota, 'set', 'set (or replace) a quota')
    .requiredOption('--scope <glob>', "tool name glob the quota counts ('*' for every tool)")
    .requiredOption('--period <period>', `one of ${PERIODS.join(', ')}`)
    .requiredOption('--limit <n>', 'calls allowed per period (non-negative integer)')
    .action((o: TenantOpts & { scope: string; period: string; limit: string }) => withTenant(o, async (s, m) => {
      if (!PERIODS.includes(o.period)) throw new Error(`bad --period "${o.period}": use ${PERIODS.join(', ')}`);
      if (!/^\d+$/.test(o.limit)) throw new Error(`bad --limit "${o.limit}": must be a non-negative integer`);
      if (!o.scope.trim()) throw new Error('--scope must not be empty');
      const rule = { tenantId: o.tenant, scope: o.scope, period: o.period, limit: Number(o.limit) };
      await m.changes(s).setQuota(rule);
      print(o.json, rule, () => `quota for tenant ${o.tenant}: ${rule.limit} calls per ${rule.period} for "${rule.scope}"`);
    }));
  tenantLeaf(quota, 'list', "list a tenant's quotas")
    .action((o: TenantOpts) => withTenant(o, async (s, m) => {
      const rows = await m.quotaRepo(s).listQuotas(o.tenant);
      print(o.json, rows, () => table(['SCOPE', 'PERIOD', 'LIMIT'], rows.map((q) => [q.scope, q.period, String(q.limit)])));
    }));

  tenantLeaf(program, 'usage', 'usage for a period (default: this month so far): totals, grouped by day, hour, customer, connector or tool, or the raw records as CSV')
    .option('--from <iso>', 'inclusive start (ISO date or date-time, UTC when no offset); default the first of this month')
    .option('--to <iso>', 'exclusive end; default now')
    .addOption(new Option('--by <group>', 'one row per day, hour, customer, connector or tool: calls, billable units, errors, refusals').choices(USAGE_GROUPS))
    .addOption(new Option('--csv', 'export the raw records as CSV').conflicts(['json', 'by']))
    .action((o: TenantOpts & { from?: string; to?: string; by?: UsageGroup; csv?: boolean }) => withTenant(o, async (s, m) => {
      const { from, to } = reportWindow(o.from, o.to, { from: '--from', to: '--to' }, new Date());
      const usage = m.usageRepo(s);
      if (o.csv) return void process.stdout.write(await usage.exportCsv(o.tenant, from, to));
      if (o.by) return printUsageGroups(o, await m.reportsRepo(s).series({ tenantId: o.tenant, from, to, ...groupQuery(o.by) }), from, to);
      const rows = await usage.report(o.tenant, from, to);
      print(o.json, rows, () => table(['CUSTOMER', 'CONNECTOR', 'TOOL', 'OUTCOME', 'CALLS', 'UNITS', 'UPSTREAM BYTES', 'LATENCY MS'],
        rows.map((r) => [r.customerId ?? '-', r.connector, r.tool, r.outcome, String(r.calls), String(r.units), String(r.upstreamBytes), String(r.latencyMsTotal)])));
    }));
}

/** A subcommand that opens the store. */
export function leaf(parent: Command, name: string, description: string): Command {
  return parent.command(name).description(description)
    .addOption(new Option('--store <url>', 'governance store: sqlite:<path> or postgres://… (default sqlite:.specgate/specgate.db)').env('SPECGATE_STORE'))
    .option('--create-store', 'create the store if it does not exist (otherwise a store that is not there is an error)');
}

/** A subcommand scoped to one existing tenant. */
export function tenantLeaf(parent: Command, name: string, description: string): Command {
  return leaf(parent, name, description).requiredOption('--tenant <id>', 'tenant id').option('--json', 'print JSON');
}

export async function withStore(o: StoreOpts, fn: (store: Store, mod: StoreModule) => Promise<void>): Promise<void> {
  const { changes, cliActor } = await import('../../runtime/admin/changes.ts');
  const mod: StoreModule = {
    ...(await import('../../runtime/store/index.ts')), ...(await import('../../runtime/admin/operations.ts')),
    changes: (store: Store) => changes(store, cliActor(), keyOptions()),
  };
  const store = await mod.openStore(o.store ?? mod.DEFAULT_STORE_URL, { create: !!o.createStore });
  try {
    await fn(store, mod);
  } finally {
    await store.close();
  }
}

export function withTenant(o: StoreOpts & { tenant: string }, fn: (store: Store, mod: StoreModule) => Promise<void>): Promise<void> {
  return withStore(o, async (store, mod) => {
    // Foreign keys would refuse most writes anyway, but with an SQL error instead of the tenant's name,
    // and reads of an unknown tenant would silently print nothing.
    if (!(await mod.tenantsRepo(store).getTenant(o.tenant))) throw new Error(`unknown tenant "${o.tenant}" (see \`specgate tenant list\`)`);
    await fn(store, mod);
  });
}

/** The runtime must hash keys with the same pepper; both read it from the environment. */
export function keyOptions() {
  return { pepper: process.env.SPECGATE_KEY_PEPPER };
}

/** A new key: its secret alone on stdout so `KEY=$(specgate … create)` works; what it is, on stderr. */
export function printNewKey(json: boolean | undefined, key: string, info: object, summary: string): void {
  if (json) return print(true, { key, info, notice: SHOWN_ONCE });
  process.stdout.write(`${key}\n`);
  process.stderr.write(`${summary}\n${SHOWN_ONCE}\n`);
}

export function print(json: boolean | undefined, data: unknown, text?: () => string): void {
  if (json || !text) return void process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
  const out = text();
  process.stdout.write(out.endsWith('\n') || out === '' ? out : `${out}\n`);
}

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [header, ...rows].map(line).join('\n');
}

const UNIT_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000 };

export function parseExpiry(value: string, now: Date): Date {
  const dur = /^(\d+)([dhm])$/.exec(value);
  let at: Date;
  try {
    at = dur ? new Date(now.getTime() + Number(dur[1]) * UNIT_MS[dur[2]]) : new Date(parseDate(value, '--expires'));
  } catch {
    throw new Error(`bad --expires "${value}": use an ISO date-time or a duration like 30d, 12h, 45m`);
  }
  if (at.getTime() <= now.getTime()) throw new Error(`--expires ${value} is not in the future`);
  return at;
}

export function parseCount(value: string, flag: string, min: number): number {
  if (!/^\d+$/.test(value) || Number(value) < min) throw new Error(`bad ${flag} "${value}": must be an integer >= ${min}`);
  return Number(value);
}

const USAGE_GROUPS = ['day', 'hour', 'customer', 'connector', 'tool'] as const;
type UsageGroup = (typeof USAGE_GROUPS)[number];

/** Time groups are buckets of one series; key groups are the series' totals per key, busiest first. */
function groupQuery(by: UsageGroup): Pick<SeriesQuery, 'bucket' | 'by'> {
  return by === 'day' || by === 'hour' ? { bucket: by } : { bucket: 'day', by };
}

function printUsageGroups(o: { json?: boolean; by?: UsageGroup }, series: Series, from: string, to: string): void {
  if (o.by === 'day' || o.by === 'hour') {
    const rows = series.points.map((p) => ({ at: p.at, calls: p.calls, units: p.units, errors: p.errors, refused: p.refused, p95Ms: p.p95 }));
    return print(o.json, { from, to, by: o.by, rows }, () => table(['PERIOD', 'CALLS', 'UNITS', 'ERRORS', 'REFUSED', 'P95 MS'],
      rows.map((r) => [o.by === 'day' ? r.at.slice(0, 10) : r.at.slice(0, 13).replace('T', ' ') + 'h', String(r.calls), String(r.units), String(r.errors), String(r.refused), r.p95Ms === null ? '-' : String(r.p95Ms)])));
  }
  const rows = series.totals;
  print(o.json, { from, to, by: o.by, rows }, () => table([o.by!.toUpperCase(), 'CALLS', 'UNITS', 'ERRORS', 'REFUSED'],
    rows.map((r) => [r.key ?? '-', String(r.calls), String(r.units), String(r.errors), String(r.refused)])));
}
