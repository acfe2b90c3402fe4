/**
 * A real governed deployment for the red team: `specgate serve --store` as a child process on a
 * free loopback port, over the launch catalog in generated/, the project's policies (plus one
 * drill rule that holds a call for approval), a runtime config whose vendor credentials carry
 * planted secrets, stored (encrypted) credentials with more planted secrets, an OpenID provider,
 * and a recording upstream. Seeded with three tenants, customers with vendor ids and API keys of
 * several roles. Everything it starts it stops; everything it writes is under one temp folder.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { projectRoot } from '../generator/paths.ts';
import { createCredentialBroker } from '../runtime/credentials/broker.ts';
import { parseKeyring } from '../runtime/credentials/keyring.ts';
import { apiKeysRepo, openStore, quotaRepo, rateLimitsRepo, settingsRepo, tenantsRepo, type Store } from '../runtime/store/index.ts';
import { startOidcProvider, type OidcClient, type OidcProvider } from '../test/identity/issuers.ts';
import { startRecorder, type Recorder } from './recorder.ts';

const run = promisify(execFile);
const SPECGATE = path.join(projectRoot, 'bin', 'specgate.js');
const READY = /serving MCP on (http:\/\/127\.0\.0\.1:(\d+)\/mcp)/;
/** Logs kept for the secret search; a flood cannot grow them past this. */
const MAX_LOG = 64 * 1024 * 1024;

export const MCP_HEADERS = {
  accept: 'application/json, text/event-stream',
  'content-type': 'application/json',
  'mcp-protocol-version': '2025-11-25',
} as const;

export const TENANT_A = 'rt-msp-a';
export const TENANT_B = 'rt-msp-b';
/** A tenant with a one-call-per-second rate limit, kept apart so the limit slows no other attack. */
export const TENANT_C = 'rt-msp-c';

export interface CustomerSeed { id: string; tenant: string; vendorIds: Record<string, string> }

export const CUSTOMERS: CustomerSeed[] = [
  { id: 'rt-contoso', tenant: TENANT_A, vendorIds: { hudu: '101', itglue: '201', pax8: 'c-301' } },
  { id: 'rt-fabrikam', tenant: TENANT_A, vendorIds: { hudu: '102', itglue: '202', pax8: 'c-302' } },
  { id: 'rt-globex', tenant: TENANT_B, vendorIds: { hudu: '901', itglue: '902', pax8: 'c-903' } },
  { id: 'rt-initech', tenant: TENANT_C, vendorIds: { hudu: '701' } },
];

/** The API keys the attacks hold, by name. */
export type KeyName = 'aTech' | 'aAdmin' | 'aNoRole' | 'aDrill' | 'bTech' | 'cTech';
const KEYS: Record<KeyName, { tenant: string; subject: string; roles: string[] }> = {
  aTech: { tenant: TENANT_A, subject: 'alice', roles: ['technician'] },
  aAdmin: { tenant: TENANT_A, subject: 'sam', roles: ['security-admin'] },
  // Same subject as aTech, and a role no rule allows anything to.
  aNoRole: { tenant: TENANT_A, subject: 'alice', roles: ['visitor'] },
  aDrill: { tenant: TENANT_A, subject: 'carol', roles: ['technician', 'approval-drill'] },
  bTech: { tenant: TENANT_B, subject: 'bob', roles: ['technician'] },
  cTech: { tenant: TENANT_C, subject: 'dave', roles: ['technician'] },
};

/** The tool the drill policy holds for approval (for callers with the approval-drill role). */
export const DRILL_TOOL = 'hudu_list_vlans';
const DRILL_POLICY = `package: specgate.redteam_drill
description: "Red-team drill: holds one low-risk read for approval so the approval flow can be attacked."
default: allow
rules:
  - id: drill-needs-approval
    effect: require_approval
    message: drill; a second person must approve this call
    when: '"approval-drill" in input.identity.roles && input.tool.name == "${DRILL_TOOL}"'
`;

export const OIDC_RESOURCE = 'https://mcp.redteam.test/mcp';
/** Another API the same provider issues tokens for: a token for it is for another audience. */
export const OTHER_RESOURCE = 'https://other-api.redteam.test/api';

export interface Secrets {
  /** Every planted value, by where it was planted. */
  all: Record<string, string>;
}

export interface DeploymentOptions {
  store: 'sqlite' | 'postgres';
  /** For postgres: a fresh, empty database. */
  pgUrl?: string;
  log?: (line: string) => void;
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json?: { result?: ToolResult; error?: { code: number; message: string }; id?: unknown };
  requestId: string | null;
}

export interface ToolResult {
  isError?: boolean;
  content?: Array<{ type: string; text?: string }>;
  structuredContent?: Record<string, unknown>;
}

export interface AuditRow { tenantId: string; seq: number; at: string; record: Record<string, unknown>; prevHash: string; hash: string }
export interface UsageRow { callId: string; tenantId: string; customerId: string | null; subject: string | null; tool: string; outcome: string; units: number }

export interface CallOptions {
  customer?: string;
  headers?: Record<string, string>;
  meta?: Record<string, unknown>;
  /** A JSON-RPC id; default a fresh one. */
  id?: number | string;
}

let nextId = 1;

export class Deployment {
  readonly kind: 'sqlite' | 'postgres';
  readonly dir: string;
  readonly storeUrl: string;
  readonly secrets: Record<string, string> = {};
  readonly keys = {} as Record<KeyName, { key: string; id: string; prefix: string; tenant: string; subject: string }>;
  readonly env: NodeJS.ProcessEnv;
  recorder!: Recorder;
  oidc!: OidcProvider;
  readonly oidcClients: Record<'a' | 'b' | 'short', OidcClient>;
  child?: ChildProcess;
  url = '';
  origin = '';
  /** Every answer body the attacks received, for the secret search. */
  readonly transcript: string[] = [];
  /** Everything the server processes wrote to stdout and stderr, across restarts. */
  private logText = '';
  private readonly log: (line: string) => void;
  private reader?: Store;
  private metricsPort?: number;

  constructor(options: DeploymentOptions) {
    this.kind = options.store;
    this.log = options.log ?? (() => {});
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'specgate-redteam-'));
    this.storeUrl = options.store === 'sqlite' ? `sqlite:${path.join(this.dir, 'store.db')}` : options.pgUrl!;
    const plant = (name: string) => (this.secrets[name] = `RTSECRET${name.replace(/[^A-Za-z0-9]/g, '')}${randomBytes(12).toString('hex')}`);
    for (const name of ['huduKeyShared', 'itglueKeyShared', 'pax8ClientSecret', 'huduKeyTenantB', 'itglueKeyStoredA', 'huduKeyStoredC', 'oidcClientSecretA', 'oidcClientSecretB']) plant(name);
    const masterKey = randomBytes(32).toString('base64');
    const auditKey = randomBytes(32).toString('base64');
    this.secrets.masterKey = masterKey;
    this.secrets.auditKey = auditKey;
    this.oidcClients = {
      a: { id: 'rt-agent-a', secret: this.secrets.oidcClientSecretA, tenant: TENANT_A },
      b: { id: 'rt-agent-b', secret: this.secrets.oidcClientSecretB, tenant: TENANT_B },
      short: { id: 'rt-agent-short', secret: `${this.secrets.oidcClientSecretA}-short`, tenant: TENANT_A, ttl: 1 },
    };
    this.env = {
      ...process.env,
      LOG_LEVEL: 'info',
      SPECGATE_MASTER_KEYS: `rt1:${masterKey}`,
      SPECGATE_AUDIT_KEYS: `rta1:${auditKey}`,
      RT_HUDU_KEY: this.secrets.huduKeyShared,
      RT_ITGLUE_KEY: this.secrets.itglueKeyShared,
      RT_PAX8_SECRET: this.secrets.pax8ClientSecret,
      RT_HUDU_KEY_B: this.secrets.huduKeyTenantB,
    };
    delete this.env.SPECGATE_STORE;
    delete this.env.SPECGATE_KEY_PEPPER;
  }

  /** Everything up: upstream, identity provider, seeded store, the server. */
  async start(): Promise<void> {
    this.recorder = await startRecorder();
    this.oidc = await startOidcProvider(Object.values(this.oidcClients), [OIDC_RESOURCE, OTHER_RESOURCE]);
    this.writePolicies();
    this.writeConfig();
    await this.seed();
    await this.startServer();
  }

  get policiesDir(): string { return path.join(this.dir, 'policies'); }
  get configFile(): string { return path.join(this.dir, 'runtime.yaml'); }

  /** The project's policies as shipped, and the drill package beside them. */
  private writePolicies(): void {
    fs.cpSync(path.join(projectRoot, 'policies'), this.policiesDir, { recursive: true });
    fs.writeFileSync(path.join(this.policiesDir, 'redteam-drill.yaml'), DRILL_POLICY);
  }

  private writeConfig(): void {
    const up = this.recorder.url;
    fs.writeFileSync(this.configFile, `upstreams:
  hudu:
    baseUrl: ${up}/a/hudu
    credential: { kind: apiKey, key: "\${RT_HUDU_KEY}" }
  itglue:
    baseUrl: ${up}/a/itglue
    credential: { kind: apiKey, key: "\${RT_ITGLUE_KEY}" }
  pax8:
    baseUrl: ${up}/a/pax8
    credential: { kind: oauth2-client-credentials, clientId: rt-pax8-client, clientSecret: "\${RT_PAX8_SECRET}", tokenUrl: ${up}/oauth/token }
tenants:
  ${TENANT_B}:
    upstreams:
      hudu:
        baseUrl: ${up}/b/hudu
        credential: { kind: apiKey, key: "\${RT_HUDU_KEY_B}" }
      itglue:
        baseUrl: ${up}/b/itglue
        credential: { kind: apiKey, key: "\${RT_HUDU_KEY_B}" }
identity:
  resource: ${OIDC_RESOURCE}
  providers:
    - name: redteam-oidc
      issuer: ${this.oidc.issuer}
      tenant: { claim: specgate_tenant }
      rolesClaim: scope
      requiredScope: mcp:tools
      clockTolerance: 0
`);
  }

  private async seed(): Promise<void> {
    // The database exists before anything opens it as a store: opening a missing store may be refused.
    if (this.kind === 'sqlite') new Database(this.storeUrl.slice('sqlite:'.length)).close();
    const store = await openStore(this.storeUrl);
    try {
      const tenants = tenantsRepo(store);
      for (const id of [TENANT_A, TENANT_B, TENANT_C]) await tenants.createTenant({ id, name: `Red team ${id}` });
      for (const c of CUSTOMERS) {
        await tenants.createCustomer({ id: c.id, tenantId: c.tenant, name: c.id });
        for (const [connector, vendorId] of Object.entries(c.vendorIds)) await tenants.setVendorId(c.id, connector, vendorId);
      }
      const settings = settingsRepo(store);
      for (const connector of ['hudu', 'itglue', 'pax8']) await settings.grant(TENANT_A, connector, '*');
      for (const connector of ['hudu', 'itglue']) await settings.grant(TENANT_B, connector, '*');
      await settings.grant(TENANT_C, 'hudu', '*');
      await quotaRepo(store).setQuota({ tenantId: TENANT_A, scope: '*', period: 'month', limit: 1_000_000_000 });
      await rateLimitsRepo(store).set({ tenantId: TENANT_C, scope: 'tenant', perSecond: 1 });
      const keys = apiKeysRepo(store);
      for (const [name, k] of Object.entries(KEYS) as Array<[KeyName, (typeof KEYS)[KeyName]]>) {
        const created = await keys.create({ tenantId: k.tenant, subject: k.subject, roles: k.roles });
        this.keys[name] = { key: created.key, id: created.info.id, prefix: created.info.prefix, tenant: k.tenant, subject: k.subject };
        this.secrets[`apiKey.${name}`] = created.key;
      }
      // Stored vendor credentials, sealed under the master key: their plaintext must never be in the database file.
      const broker = createCredentialBroker({ store, keyring: parseKeyring(this.env.SPECGATE_MASTER_KEYS!, 'SPECGATE_MASTER_KEYS') });
      await broker.put(TENANT_A, 'itglue', { baseUrl: `${this.recorder.url}/a/itglue`, credential: { kind: 'apiKey', key: this.secrets.itglueKeyStoredA } });
      await broker.put(TENANT_C, 'hudu', { baseUrl: `${this.recorder.url}/c/hudu`, credential: { kind: 'apiKey', key: this.secrets.huduKeyStoredC } });
    } finally {
      await store.close();
    }
  }

  /** `specgate serve` on the store, waiting until it says where it listens. */
  async startServer(extraArgs: string[] = []): Promise<void> {
    const args = [SPECGATE, 'serve', '--generated', path.join(projectRoot, 'generated'), '--store', this.storeUrl, '--config', this.configFile,
      '--policies', this.policiesDir, '--port', '0', '--host', '127.0.0.1', ...(await this.metricsArgs()), ...extraArgs];
    const child = spawn(process.execPath, args, { cwd: this.dir, env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    // If this process dies before close() (an uncaught error, Ctrl-C), the server must not outlive it.
    const orphan = () => child.kill('SIGKILL');
    process.once('exit', orphan);
    child.once('exit', () => process.removeListener('exit', orphan));
    const append = (d: Buffer) => {
      if (this.logText.length < MAX_LOG) this.logText += d.toString();
    };
    child.stdout!.on('data', append);
    let banner = '';
    this.url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`specgate serve not ready after 120 s:\n${banner.slice(-3000)}`));
      }, 120_000);
      child.stderr!.on('data', (d: Buffer) => {
        append(d);
        if (banner.length < 1_000_000) banner += d.toString();
        const m = READY.exec(banner);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`specgate serve exited (code ${code}, signal ${signal}) before it was ready:\n${banner.slice(-3000)}`));
      });
    });
    this.origin = new URL(this.url).origin;
    this.log(`server pid ${child.pid} on ${this.url} over ${this.kind}`);
  }

  /**
   * A separate metrics listener when this `specgate serve` offers one (`--metrics-port`): the
   * attacks then read metrics there, and check the MCP port does not serve them.
   */
  private async metricsArgs(): Promise<string[]> {
    if (this.metricsPort === undefined) {
      const { stdout } = await run(process.execPath, [SPECGATE, 'serve', '--help'], { cwd: projectRoot, env: this.env });
      this.metricsPort = /--metrics-port\b/.test(stdout) ? await freePort() : 0;
    }
    return this.metricsPort ? ['--metrics-port', String(this.metricsPort)] : [];
  }

  /** Where metrics are read: the metrics listener when there is one, else the MCP port. */
  get metricsUrl(): string {
    return this.metricsPort ? `http://127.0.0.1:${this.metricsPort}/metrics` : `${this.origin}/metrics`;
  }

  get pid(): number { return this.child?.pid ?? -1; }

  /** The server's log output so far (all runs). */
  logs(): string { return this.logText; }

  /** SIGTERM and wait (a graceful shutdown: drains calls, writes what shutdown writes). */
  async stopServer(graceMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.signalServer('SIGTERM', graceMs);
  }

  /** SIGKILL: nothing runs after it. */
  async killServer(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.signalServer('SIGKILL', 5000);
  }

  private async signalServer(signal: NodeJS.Signals, graceMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const child = this.child;
    if (!child) return { code: null, signal: null };
    this.child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, signal: child.signalCode };
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, s) => resolve({ code, signal: s })));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const result = await exited;
    clearTimeout(timer);
    return result;
  }

  /** One raw POST to /mcp (or `pathAndQuery`), with the caller's key. */
  async post(body: string | Buffer, options: { key?: KeyName | string; headers?: Record<string, string>; pathAndQuery?: string; timeoutMs?: number } = {}): Promise<Answer> {
    const key = options.key === undefined ? undefined : (this.keys[options.key as KeyName]?.key ?? options.key);
    const response = await fetch(`${this.origin}${options.pathAndQuery ?? '/mcp'}`, {
      method: 'POST',
      headers: { ...MCP_HEADERS, ...(key ? { authorization: `Bearer ${key}` } : {}), ...options.headers },
      body,
      signal: AbortSignal.timeout(options.timeoutMs ?? 60_000),
    });
    const text = await response.text();
    this.transcript.push(text.slice(0, 1_000_000));
    let json: Answer['json'];
    try {
      const type = response.headers.get('content-type') ?? '';
      const payload = type.includes('text/event-stream') ? text.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('') : text;
      json = JSON.parse(payload) as Answer['json'];
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, text, json, requestId: response.headers.get('x-request-id') };
  }

  /** A tools/call as a 2025-era client sends it (stateless, JSON answer). */
  call(key: KeyName | string, tool: string, args: unknown, options: CallOptions = {}): Promise<Answer> {
    const params: Record<string, unknown> = { name: tool, arguments: args };
    if (options.meta) params._meta = options.meta;
    const body = JSON.stringify({ jsonrpc: '2.0', id: options.id ?? nextId++, method: 'tools/call', params });
    return this.post(body, { key, headers: { ...(options.customer ? { 'specgate-customer': options.customer } : {}), ...options.headers } });
  }

  /** A store handle for reading what the server wrote (opened once, beside the server). */
  async store(): Promise<Store> {
    this.reader ??= await openStore(this.storeUrl, { migrate: false, poolSize: 2 });
    return this.reader;
  }

  async closeReader(): Promise<void> {
    await this.reader?.close();
    this.reader = undefined;
  }

  /** Every audit row, every chain (including the gateway's), oldest first per chain. */
  async audit(tenant?: string): Promise<AuditRow[]> {
    const store = await this.store();
    let q = store.db.selectFrom('audit').selectAll();
    if (tenant !== undefined) q = q.where('tenant_id', '=', tenant);
    const rows = await q.orderBy('tenant_id').orderBy('seq').execute();
    return rows.map((r) => ({ tenantId: r.tenant_id, seq: Number(r.seq), at: r.at, record: JSON.parse(r.record) as Record<string, unknown>, prevHash: r.prev_hash, hash: r.hash }));
  }

  async usage(tenant?: string): Promise<UsageRow[]> {
    const store = await this.store();
    let q = store.db.selectFrom('usage').selectAll();
    if (tenant !== undefined) q = q.where('tenant_id', '=', tenant);
    const rows = await q.orderBy('at').execute();
    return rows.map((r) => ({ callId: r.call_id, tenantId: r.tenant_id, customerId: r.customer_id, subject: r.subject, tool: r.tool, outcome: r.outcome, units: Number(r.units) }));
  }

  /** Quota spent by a tenant, all scopes and periods together. */
  async quotaSpent(tenant: string): Promise<number> {
    const store = await this.store();
    const rows = await store.db.selectFrom('quota_counters').select('used').where('tenant_id', '=', tenant).execute();
    return rows.reduce((sum, r) => sum + Number(r.used), 0);
  }

  /** The audit records a request left (matched by the x-request-id its answer carried). */
  async auditOf(requestId: string | null): Promise<AuditRow[]> {
    if (!requestId) return [];
    return (await this.audit()).filter((r) => r.record.requestId === requestId || r.record.callId === requestId);
  }

  /** `specgate <args>` with the deployment's environment; never throws on a non-zero exit. */
  async cli(args: string[], timeoutMs = 120_000): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await run(process.execPath, [SPECGATE, ...args], { cwd: this.dir, env: this.env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code?: number | string; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(error) };
    }
  }

  /** Resident memory of the server process now, MiB (Linux /proc). */
  rssMiB(): number {
    try {
      const m = /^VmRSS:\s*(\d+)\s*kB/m.exec(fs.readFileSync(`/proc/${this.pid}/status`, 'utf8'));
      return m ? Number(m[1]) / 1024 : Number.NaN;
    } catch {
      return Number.NaN;
    }
  }

  async close(): Promise<void> {
    try {
      await this.closeReader();
      await this.stopServer();
      await this.oidc?.close();
      await this.recorder?.close();
    } finally {
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

export async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as import('node:net').AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** The planted secrets found in `text`, by name. */
export function secretsIn(text: string, secrets: Record<string, string>, except: string[] = []): string[] {
  return Object.entries(secrets).filter(([name, value]) => !except.includes(name) && text.includes(value)).map(([name]) => name);
}
