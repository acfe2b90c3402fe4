/**
 * The CLI as an operator runs it, in real processes: a store that does not exist is an error
 * naming the resolved location (never a new, empty store) unless --create-store is given, on
 * SQLite and PostgreSQL; and the operator changes not covered by test/admin-cli.test.ts (admin
 * keys, rate limits, vendor credentials) leave the same audit records the admin API's do.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { auditRepo, openStore, tenantsRepo } from '../runtime/store/index.ts';
import { GATEWAY_CHAIN } from '../runtime/governance/audit.ts';
import { root, tempDir } from './helpers/e2e.ts';
import { findPostgres, startPostgres } from './helpers/postgres.ts';

const bin = path.join(root, 'bin', 'specgate.js');
const dir = tempDir('store-cli');
const masterKeys = `k1:${randomBytes(32).toString('base64')}`;

function run(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd: options.cwd ?? root, env: { ...process.env, SPECGATE_KEY_PEPPER: '', SPECGATE_STORE: '', SPECGATE_MASTER_KEYS: masterKeys, ...options.env } },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }));
  });
}

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('opening a store', () => {
  it('a mistyped relative SQLite path is an error naming the resolved path, and creates nothing', async () => {
    const [list, serve] = await Promise.all([
      run(['tenant', 'list', '--store', 'sqlite:typo/specgate.db'], { cwd: dir }),
      run(['serve', '--store', 'sqlite:typo/specgate.db', '--port', '0'], { cwd: dir }),
    ]);
    for (const r of [list, serve]) {
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`store ${path.join(dir, 'typo/specgate.db')} does not exist`);
      expect(r.stderr).toContain('--create-store');
    }
    expect(fs.existsSync(path.join(dir, 'typo'))).toBe(false);
  });

  it('--create-store creates it, and later commands open it without', async () => {
    const created = await run(['tenant', 'create', 'Acme', '--id', 'acme', '--store', 'sqlite:new/specgate.db', '--create-store'], { cwd: dir });
    expect(created).toMatchObject({ code: 0, stdout: 'created tenant acme (Acme)\n' });
    expect(fs.existsSync(path.join(dir, 'new/specgate.db'))).toBe(true);
    const list = await run(['tenant', 'list', '--json', '--store', `sqlite:${path.join(dir, 'new/specgate.db')}`]);
    expect(JSON.parse(list.stdout)).toMatchObject([{ id: 'acme' }]);
  });

  it('a reserved tenant id is refused', async () => {
    const r = await run(['tenant', 'create', 'Sneaky', '--id', GATEWAY_CHAIN, '--store', `sqlite:${path.join(dir, 'new/specgate.db')}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`tenant id "${GATEWAY_CHAIN}" is reserved`);
  });

  const pg = findPostgres();
  it.skipIf(!pg.ok)('a PostgreSQL database without specgate tables is an error without --create-store, never shown with its password', async () => {
    const cluster = await startPostgres(pg as Extract<typeof pg, { ok: true }>);
    try {
      const url = await cluster.createDatabase();
      const withPassword = url.replace('postgres://', 'postgres://').replace(/^(postgres(?:ql)?:\/\/)([^@/]+)@/, (_m, scheme: string, user: string) => `${scheme}${user.split(':')[0]}:hunter2secret@`);
      const refused = await run(['tenant', 'list', '--store', url]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/has no specgate tables: check the URL, or pass --create-store/);
      const masked = await run(['tenant', 'list', '--store', withPassword]);
      expect(masked.stderr).not.toContain('hunter2secret');
      const created = await run(['tenant', 'create', 'PG', '--id', 'pg', '--store', url, '--create-store']);
      expect(created.code).toBe(0);
      expect((await run(['tenant', 'list', '--json', '--store', url])).stdout).toContain('"pg"');
    } finally {
      await cluster.stop();
    }
  });
});

describe('operator changes through the CLI are audited', () => {
  const storeUrl = `sqlite:${path.join(dir, 'audited.db')}`;
  const admin = (...args: string[]) => run([...args, '--store', storeUrl]);

  it('admin keys, rate limits and vendor credentials, each as cli:<OS user>', async () => {
    const setup = await openStore(storeUrl);
    await tenantsRepo(setup).createTenant({ id: 'acme', name: 'Acme' });
    await setup.close();

    const [globalKey, tenantKey, rate, cred] = await Promise.all([
      admin('admin-key', 'create', '--subject', 'root', '--json'),
      admin('admin-key', 'create', '--subject', 'ops', '--tenant', 'acme', '--json'),
      admin('rate-limit', 'set', '--tenant', 'acme', '--scope', 'tenant', '--per-second', '5'),
      run(['credential', 'set', '--tenant', 'acme', 'hudu', '--type', 'apiKey', '--value-env', 'HUDU_KEY', '--variable', 'hudu_host=acme.huducloud.com', '--store', storeUrl], { env: { HUDU_KEY: 'planted-hudu-secret' } }),
    ]);
    for (const r of [globalKey, tenantKey, rate, cred]) expect(r.stderr + r.stdout).not.toMatch(/^specgate: /m);
    for (const r of [globalKey, tenantKey, rate, cred]) expect(r.code).toBe(0);
    const globalId = (JSON.parse(globalKey.stdout) as { info: { id: string } }).info.id;
    const [revoked, removedRate, removedCred, rotated] = await Promise.all([
      admin('admin-key', 'revoke', globalId),
      admin('rate-limit', 'remove', '--tenant', 'acme', '--scope', 'tenant'),
      admin('credential', 'remove', '--tenant', 'acme', 'hudu'),
      admin('credential', 'rotate'),
    ]);
    for (const r of [revoked, removedRate, removedCred, rotated]) expect(r.code).toBe(0);

    const store = await openStore(storeUrl);
    try {
      const audit = auditRepo(store);
      const acme = (await audit.search({ tenant: 'acme' })).map((e) => e.record);
      const gateway = (await audit.search({ tenant: GATEWAY_CHAIN })).map((e) => e.record);
      const actor = { event: 'admin', subject: `cli:${os.userInfo().username}`, via: 'cli' };
      expect(acme.map((r) => r.action).sort()).toEqual(['admin-key.create', 'credential.create', 'credential.remove', 'rate-limit.create', 'rate-limit.remove'].sort());
      expect(gateway.map((r) => r.action).sort()).toEqual(['admin-key.create', 'admin-key.revoke', 'credential.rotate'].sort());
      for (const r of [...acme, ...gateway]) expect(r).toMatchObject(actor);
      expect(acme.find((r) => r.action === 'credential.create')?.target).toMatchObject({ connector: 'hudu', kind: 'apiKey', sealedWith: 'k1' });
      const everything = JSON.stringify([acme, gateway]);
      expect(everything).not.toContain('planted-hudu-secret');
      expect(everything).not.toMatch(/sga_[0-9a-f]{12}_[A-Za-z0-9_-]{43}/);
    } finally {
      await store.close();
    }
  });
});
