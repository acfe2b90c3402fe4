/**
 * The deployment topology of deploy/compose.yaml without containers: a throwaway PostgreSQL, N
 * `specgate serve --store postgres://...` instances on free loopback ports (each with its admin API
 * on a listener of its own), and a round-robin balancer in front of them that routes around an
 * instance that stops answering.
 *
 * `npm run cluster [-- --instances N] [--generated dir]` starts it over generated/ (connectors
 * without an upstream run against their mocks), seeds a demo tenant and prints the balancer URL
 * and an API key; Ctrl-C stops everything. test/cluster.test.ts drives the same code.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { findPostgres, startPostgres, type PgCluster } from '../test/helpers/postgres.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'specgate.js');

export interface ClusterOptions {
  generatedDir: string;
  instances?: number;
  /** Extra environment of every instance (upstream URLs, LOG_LEVEL, ...). */
  env?: Record<string, string>;
  /** Runs once the store is migrated and before any instance starts: tenants, keys, grants. */
  seed?: (storeUrl: string) => Promise<void>;
  log?: (line: string) => void;
}

export interface Instance {
  name: string;
  /** The instance's own MCP endpoint, bypassing the balancer. */
  url: string;
  adminUrl: string;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

export interface Cluster {
  /** The balancer's MCP endpoint: what clients use. */
  url: string;
  storeUrl: string;
  /** The static admin token every instance accepts (SPECGATE_ADMIN_TOKEN). */
  adminToken: string;
  instances: Instance[];
  balancer: Balancer;
  stop(): Promise<void>;
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const log = options.log ?? (() => {});
  const pg = findPostgres();
  if (!pg.ok) throw new Error(pg.reason);
  const postgres: PgCluster = await startPostgres(pg);
  const instances: Instance[] = [];
  let balancer: Balancer | undefined;
  const adminToken = `sgt_${randomBytes(24).toString('base64url')}`;
  const stop = async () => {
    await balancer?.close();
    await Promise.all(instances.map(stopInstance));
    await postgres.stop();
  };
  try {
    const storeUrl = await postgres.createDatabase();
    // Migrate once, before the instances race to do it.
    const { openStore } = await import('../runtime/store/index.ts');
    await (await openStore(storeUrl)).close();
    await options.seed?.(storeUrl);
    const count = options.instances ?? 2;
    const started = await Promise.all(Array.from({ length: count }, (_, i) => startInstance(`specgate-${i + 1}`, storeUrl, adminToken, options)));
    instances.push(...started);
    for (const i of instances) log(`${i.name}: ${i.url} (admin ${i.adminUrl})`);
    balancer = await startBalancer(instances.map((i) => ({ name: i.name, origin: new URL(i.url).origin })));
    log(`balancer: ${balancer.origin}/mcp`);
    return { url: `${balancer.origin}/mcp`, storeUrl, adminToken, instances, balancer, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

const READY = /serving MCP on (http:\/\/127\.0\.0\.1:\d+\/mcp)/;
const ADMIN = /admin API on (http:\/\/127\.0\.0\.1:\d+\/admin\/v1)/;

async function startInstance(name: string, storeUrl: string, adminToken: string, options: ClusterOptions): Promise<Instance> {
  const child = spawn(process.execPath, [bin, 'serve', '--store', storeUrl, '--generated', options.generatedDir, '--port', '0', '--host', '127.0.0.1', '--admin-port', '0'], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'warn', SPECGATE_ADMIN_TOKEN: adminToken, ...options.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const [url, adminUrl] = await new Promise<[string, string]>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} not ready after 120 s:\n${stderr.slice(-2000)}`));
    }, 120_000);
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-50_000);
      const mcp = READY.exec(stderr);
      const admin = ADMIN.exec(stderr);
      if (mcp && admin) {
        clearTimeout(timer);
        resolve([mcp[1], admin[1]]);
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (code ${code}, signal ${signal}) before it was ready:\n${stderr.slice(-2000)}`));
    });
  });
  return { name, url, adminUrl, child, exited, stderr: () => stderr };
}

async function stopInstance(instance: Instance): Promise<void> {
  if (instance.child.exitCode !== null || instance.child.signalCode !== null) return;
  instance.child.kill('SIGTERM');
  const timer = setTimeout(() => instance.child.kill('SIGKILL'), 10_000);
  await instance.exited;
  clearTimeout(timer);
}

export interface Balancer {
  origin: string;
  /** Requests each backend answered, by name. */
  answered: Record<string, number>;
  /** Backends currently taken out of rotation. */
  down(): string[];
  close(): Promise<void>;
}

/** The header the balancer adds to every answer: which instance gave it (what HAProxy's `http-response set-header` does in deploy/). */
export const BACKEND_HEADER = 'x-specgate-backend';
const MAX_BODY = 8 * 1024 * 1024;
/** How long a backend that refused a connection stays out of rotation before it is tried again. */
const DOWN_MS = 2_000;

/**
 * Round robin over the backends. A backend that refuses the connection is taken out of rotation
 * and the request goes to the next one: it never reached the first, so it cannot run twice. A
 * connection that breaks after the request was sent is a 502 for the client, never a retry,
 * because the call may have run (the client's Idempotency-Key is what makes a retry safe).
 */
export async function startBalancer(backends: Array<{ name: string; origin: string }>): Promise<Balancer> {
  const downUntil = new Map<string, number>();
  const answered: Record<string, number> = Object.fromEntries(backends.map((b) => [b.name, 0]));
  let next = 0;
  const pick = (tried: Set<string>) => {
    const now = Date.now();
    for (let i = 0; i < backends.length; i++) {
      const b = backends[(next + i) % backends.length];
      if (tried.has(b.name) || (downUntil.get(b.name) ?? 0) > now) continue;
      next = (next + i + 1) % backends.length;
      return b;
    }
    return backends.find((b) => !tried.has(b.name));
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        res.writeHead(413).end();
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const tried = new Set<string>();
      const attempt = () => {
        const backend = pick(tried);
        if (!backend) {
          res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' }).end('no instance is up\n');
          return;
        }
        tried.add(backend.name);
        const target = new URL(req.url ?? '/', backend.origin);
        // A connection per request: a pooled socket to an instance that was killed would fail
        // in a way that cannot tell "never sent" from "sent and maybe run".
        const upstream = http.request(target, { method: req.method, headers: { ...req.headers, host: target.host, connection: 'close' }, agent: false }, (answer) => {
          answered[backend.name]++;
          res.writeHead(answer.statusCode ?? 502, { ...answer.headers, [BACKEND_HEADER]: backend.name });
          answer.pipe(res);
          answer.on('error', () => res.destroy());
        });
        upstream.on('error', (e: NodeJS.ErrnoException) => {
          if (res.headersSent) return void res.destroy();
          if (e.code === 'ECONNREFUSED') {
            downUntil.set(backend.name, Date.now() + DOWN_MS);
            return attempt();
          }
          res.writeHead(502, { 'content-type': 'text/plain', [BACKEND_HEADER]: backend.name }).end(`${backend.name} failed: ${e.code ?? e.message}\n`);
        });
        // A client that hangs up cancels the call at the instance too.
        res.on('close', () => { if (!res.writableFinished) upstream.destroy(); });
        upstream.end(body);
      };
      attempt();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    answered,
    down: () => backends.filter((b) => (downUntil.get(b.name) ?? 0) > Date.now()).map((b) => b.name),
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

/** `npm run cluster`: the topology over generated/, a demo tenant, and its key printed. */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { instances: { type: 'string', default: '2' }, generated: { type: 'string', default: path.join(root, 'generated') } } });
  const generatedDir = path.resolve(values.generated!);
  if (!fs.existsSync(path.join(generatedDir, 'index.ts'))) throw new Error(`${generatedDir}: no generated connectors; run \`npm run generate\` first`);
  const connectors = fs.readdirSync(generatedDir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  let key = '';
  const log = (line: string) => process.stderr.write(`[cluster] ${line}\n`);
  const cluster = await startCluster({
    generatedDir, instances: Number(values.instances), log,
    async seed(storeUrl) {
      const { openStore, tenantsRepo, apiKeysRepo, settingsRepo } = await import('../runtime/store/index.ts');
      const store = await openStore(storeUrl);
      try {
        await tenantsRepo(store).createTenant({ id: 'demo-msp', name: 'Demo MSP' });
        await tenantsRepo(store).createCustomer({ id: 'demo-customer', tenantId: 'demo-msp', name: 'Demo customer' });
        for (const c of connectors) {
          await tenantsRepo(store).setVendorId('demo-customer', c, '1');
          await settingsRepo(store).grant('demo-msp', c, '*');
        }
        ({ key } = await apiKeysRepo(store, process.env.SPECGATE_KEY_PEPPER ? { pepper: process.env.SPECGATE_KEY_PEPPER } : {}).create({ tenantId: 'demo-msp', subject: 'demo-technician', roles: ['technician'] }));
      } finally {
        await store.close();
      }
    },
  });
  log(`store: ${cluster.storeUrl}`);
  log(`ready: point an MCP client at ${cluster.url} with headers "Authorization: Bearer ${key}" and "Specgate-Customer: demo-customer"`);
  log(`admin token (every instance's admin API): ${cluster.adminToken}`);
  log('Ctrl-C stops the instances, the balancer and PostgreSQL');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await cluster.stop();
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((e: Error) => {
    process.stderr.write(`cluster: ${e.message}\n`);
    process.exitCode = 1;
  });
}
