// A throwaway local PostgreSQL cluster for storage tests, or the one named by SPECGATE_TEST_PG_URL.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export type PgAvailability = { ok: true; url?: string; binDir?: string } | { ok: false; reason: string };

/** Where PostgreSQL comes from, decided synchronously so tests can skip or fail at collection time. */
export function findPostgres(): PgAvailability {
  const url = process.env.SPECGATE_TEST_PG_URL;
  if (url) return { ok: true, url };
  const candidates: string[] = [];
  if (process.env.PG_BIN) candidates.push(process.env.PG_BIN);
  const cfg = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  if (cfg.status === 0) candidates.push(cfg.stdout.trim());
  const debian = '/usr/lib/postgresql';
  if (fs.existsSync(debian)) {
    for (const v of fs.readdirSync(debian).sort((a, b) => Number(b) - Number(a))) candidates.push(path.join(debian, v, 'bin'));
  }
  const binDir = candidates.find((d) => fs.existsSync(path.join(d, 'initdb')) && fs.existsSync(path.join(d, 'pg_ctl')));
  if (!binDir) return { ok: false, reason: 'PostgreSQL not found: set SPECGATE_TEST_PG_URL, or install it (apt-get install -y postgresql) so initdb and pg_ctl exist' };
  if (process.getuid?.() === 0 && spawnSync('id', ['-u', 'postgres']).status !== 0) {
    return { ok: false, reason: 'running as root but there is no "postgres" user to run initdb as' };
  }
  return { ok: true, binDir };
}

export interface PgCluster {
  /** Creates a fresh, empty database and returns its URL. */
  createDatabase(): Promise<string>;
  stop(): Promise<void>;
}

/** `durable`: fsync on, for benchmarks that must pay what a production commit pays. */
export async function startPostgres(avail: Extract<PgAvailability, { ok: true }>, options: { durable?: boolean } = {}): Promise<PgCluster> {
  if (avail.url) return { createDatabase: () => createDatabase(avail.url!), stop: async () => undefined };
  const bin = (name: string) => path.join(avail.binDir!, name);
  const asRoot = process.getuid?.() === 0;
  // initdb refuses to run as root, so as root everything runs as the postgres user in a dir it owns.
  const run = (cmd: string, args: string[]) => {
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
    return execFileSync(file, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'specgate-pg-'));
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
    fs.chownSync(dir, uid, gid);
  }
  const data = path.join(dir, 'data');
  const port = await freePort();
  try {
    run(bin('initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
    // fsync off: durability of a throwaway test cluster does not matter, speed does (unless durable).
    const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=${options.durable ? 'on' : 'off'} -c max_connections=60`;
    run(bin('pg_ctl'), ['-D', data, '-o', opts, '-l', path.join(dir, 'log'), '-w', '-t', '60', 'start']);
  } catch (err) {
    const log = fs.existsSync(path.join(dir, 'log')) ? fs.readFileSync(path.join(dir, 'log'), 'utf8') : '';
    fs.rmSync(dir, { recursive: true, force: true });
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`could not start a test PostgreSQL from ${avail.binDir}: ${(err as Error).message}\n${stderr}\n${log}`);
  }
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    createDatabase: () => createDatabase(adminUrl),
    async stop() {
      try { run(bin('pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']); } finally { fs.rmSync(dir, { recursive: true, force: true }); }
    },
  };
}

async function createDatabase(adminUrl: string): Promise<string> {
  const name = `specgate_test_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try { await client.query(`create database ${name}`); } finally { await client.end(); }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** One store a test file runs its cases on: a name for the describe, whether it can run here, a fresh store URL. */
export type StoreBackend = [name: string, available: boolean, newUrl: () => Promise<string>];

/**
 * SQLite, and PostgreSQL where a cluster can start (CI installs one): each `newUrl()` is a fresh
 * store. PostgreSQL's cluster starts on first use, one for the whole file, each store a database
 * of its own; `stop()` (in afterAll) stops it.
 */
export function storeBackends(sqliteUrl: () => string): { backends: StoreBackend[]; stop(): Promise<void> } {
  const avail = findPostgres();
  let cluster: PgCluster | undefined;
  return {
    backends: [
      ['sqlite', true, async () => sqliteUrl()],
      [avail.ok ? 'postgres' : `postgres (skipped: ${avail.reason})`, avail.ok, async () => {
        if (!avail.ok) throw new Error(avail.reason);
        cluster ??= await startPostgres(avail);
        return cluster.createDatabase();
      }],
    ],
    stop: async () => cluster?.stop(),
  };
}
