/**
 * The credential broker against both stores (SQLite in a temp file, PostgreSQL): sealing round
 * trip, the tenant/connector binding, tampering, key rotation in one transaction, missing keys,
 * input validation with the config file's schema; then the `specgate credential` commands as an
 * operator runs them.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, settingsRepo, tenantsRepo, type Store } from '../runtime/store/index.ts';
import { createCredentialBroker } from '../runtime/credentials/broker.ts';
import { loadKeyring, parseKeyring, KeyringError, MASTER_KEYS_ENV, type Keyring } from '../runtime/credentials/keyring.ts';
import { overlayStoredEntries } from '../runtime/credentials/tenant-entries.ts';
import { findPostgres, startPostgres, type PgCluster } from './helpers/postgres.ts';
import { generateInto, haveVendorDocs, root, tempDir, vendorDocsMissing } from './helpers/e2e.ts';

const pgAvail = findPostgres();
const SECRET = 'planted-broker-SECRET-77f3';

const keyEntry = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;
const k1 = keyEntry('k1');
const k2 = keyEntry('k2');
const ring = (...entries: string[]): Keyring => parseKeyring(entries.join(','), MASTER_KEYS_ENV);

describe('keyring', () => {
  it('takes the first key as current and finds the others by id', () => {
    const k = ring(k2, k1);
    expect(k.current.id).toBe('k2');
    expect(k.ids).toEqual(['k2', 'k1']);
    expect(k.get('k1')).toEqual(Buffer.from(k1.slice(3), 'base64'));
    expect(k.get('k0')).toBeUndefined();
  });

  it('names the variable, the entry and the rule when a key is malformed, never the key', () => {
    const short = `k1:${randomBytes(16).toString('base64')}`;
    expect(() => ring(k2, short)).toThrow(KeyringError);
    expect(() => ring(k2, short)).toThrow(/^SPECGATE_MASTER_KEYS: entry 2 \("k1"\): the key must be 32 bytes in base64 \(decoded to 16 bytes\): entries are <id>:<base64 of 32 random bytes>/);
    try { ring(short); } catch (e) { expect((e as Error).message).not.toContain(short.slice(3)); }
    expect(() => ring(`k.1:${k1.slice(3)}`)).toThrow(/entry 1 has no valid key id/);
    expect(() => ring(k1.slice(3))).toThrow(/entry 1 has no valid key id/);
    expect(() => ring(k1, k1)).toThrow(/entry 2 \("k1"\): the id "k1" is used twice/);
    expect(() => ring(`k1:${'!'.repeat(44)}`)).toThrow(/must be 32 bytes in base64/);
    expect(() => parseKeyring(' , ', MASTER_KEYS_ENV)).toThrow(/SPECGATE_MASTER_KEYS holds no master key/);
  });

  it('reads a key file (lines, comments) in preference to the environment', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'specgate-keys-'));
    try {
      const file = path.join(dir, 'keys');
      fs.writeFileSync(file, `# rotated 2026-11\n${k2}\n${k1}  # previous\n`);
      expect(loadKeyring({ file, env: { [MASTER_KEYS_ENV]: keyEntry('env') } })!.ids).toEqual(['k2', 'k1']);
      expect(loadKeyring({ env: { [MASTER_KEYS_ENV]: k1 } })!.ids).toEqual(['k1']);
      expect(loadKeyring({ env: {} })).toBeUndefined();
      expect(() => loadKeyring({ file: path.join(dir, 'none') })).toThrow(/master key file .*none: cannot read it: the file does not exist/);
      fs.writeFileSync(file, 'k1:abc\n');
      expect(() => loadKeyring({ file })).toThrow(/^master key file .*keys: entry 1 \("k1"\): the key must be 32 bytes/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('tenant entries', () => {
  it('lays stored entries over the file, keeping the file location for a credential alone', () => {
    const credential = { kind: 'apiKey' as const, key: SECRET };
    const merged = overlayStoredEntries(
      { hudu: { variables: { hudu_host: 'shared.example.com' } }, itglue: { region: 'eu' } },
      { a: { hudu: { baseUrl: 'https://a.example.com' }, pax8: { baseUrl: 'https://p.example.com' } } },
      { a: { hudu: { credential }, itglue: { credential } }, b: { itglue: { region: 'au', credential } } },
    );
    expect(merged).toEqual({
      a: { hudu: { baseUrl: 'https://a.example.com', credential }, itglue: { region: 'eu', credential }, pax8: { baseUrl: 'https://p.example.com' } },
      b: { itglue: { region: 'au', credential } },
    });
  });
});

interface Backend { newUrl(): Promise<string>; teardown(): Promise<void> }

function sqliteBackend(): Backend {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'specgate-broker-'));
  return { newUrl: async () => `sqlite:${path.join(dir, 'db.sqlite')}`, teardown: async () => fs.rmSync(dir, { recursive: true, force: true }) };
}

async function postgresBackend(): Promise<Backend> {
  if (!pgAvail.ok) throw new Error(pgAvail.reason);
  const cluster: PgCluster = await startPostgres(pgAvail);
  return { newUrl: () => cluster.createDatabase(), teardown: () => cluster.stop() };
}

if (!pgAvail.ok && process.env.CI) {
  describe('credential broker on postgres', () => {
    it('needs PostgreSQL in CI', () => { throw new Error(`credential broker tests need PostgreSQL in CI: ${pgAvail.reason}`); });
  });
}

const backends: [string, boolean, () => Backend | Promise<Backend>][] = [
  ['sqlite', true, sqliteBackend],
  [pgAvail.ok ? 'postgres' : `postgres (skipped: ${pgAvail.reason})`, pgAvail.ok, postgresBackend],
];

for (const [name, available, make] of backends) {
  describe.skipIf(!available)(`credential broker on ${name}`, () => {
    let backend: Backend;
    let store: Store;
    const rawRow = (tenant: string, connector: string) =>
      store.db.selectFrom('credentials').selectAll().where('tenant_id', '=', tenant).where('connector', '=', connector).executeTakeFirstOrThrow();

    beforeAll(async () => {
      backend = await make();
      store = await openStore(await backend.newUrl());
      for (const id of ['ta', 'tb', 'tc']) await tenantsRepo(store).createTenant({ id, name: id });
    }, 120_000);
    afterAll(async () => {
      await store?.close();
      await backend?.teardown();
    });

    it('seals, opens and lists without the secret', async () => {
      const broker = createCredentialBroker({ store, keyring: ring(k1) });
      const entry = { baseUrl: 'https://acme.example.com/api', credential: { kind: 'basic', username: 'svc', password: SECRET } };
      const info = await broker.put('ta', 'helpdesk', entry);
      expect(info).toEqual({ tenantId: 'ta', connector: 'helpdesk', kind: 'basic', keyId: 'k1', updatedAt: expect.any(String) });
      expect(await broker.get('ta', 'helpdesk')).toEqual(entry);
      // A bare credential is an entry without a location.
      await broker.put('ta', 'hudu', { kind: 'apiKey', key: SECRET });
      expect(await broker.get('ta', 'hudu')).toEqual({ credential: { kind: 'apiKey', key: SECRET } });
      expect(await broker.get('tb', 'hudu')).toBeUndefined();

      const row = await rawRow('ta', 'helpdesk');
      expect(row.ciphertext).toMatch(/^v1\.k1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
      expect(JSON.stringify(row)).not.toContain(SECRET);
      expect(JSON.stringify(row)).not.toContain(Buffer.from(SECRET).toString('base64').slice(0, 12));
      // A fresh nonce each time: the same secret never seals to the same text.
      await broker.put('ta', 'helpdesk', entry);
      expect((await rawRow('ta', 'helpdesk')).ciphertext).not.toBe(row.ciphertext);

      const listed = await createCredentialBroker({ store }).list('ta');
      expect(listed.map((r) => [r.connector, r.kind, r.keyId])).toEqual([['helpdesk', 'basic', 'k1'], ['hudu', 'apiKey', 'k1']]);
      expect(JSON.stringify(listed)).not.toContain(SECRET);
      expect(await broker.tenantUpstreams()).toEqual({ ta: { helpdesk: entry, hudu: { credential: { kind: 'apiKey', key: SECRET } } } });
    });

    it('refuses a ciphertext copied into another tenant or connector', async () => {
      const broker = createCredentialBroker({ store, keyring: ring(k1) });
      await broker.put('tb', 'helpdesk', { kind: 'apiKey', key: 'b-own-key' });
      const stolen = (await rawRow('ta', 'helpdesk')).ciphertext;
      await store.db.updateTable('credentials').set({ ciphertext: stolen }).where('tenant_id', '=', 'tb').where('connector', '=', 'helpdesk').execute();
      await expect(broker.get('tb', 'helpdesk')).rejects.toThrow('tenant "tb", connector "helpdesk": the stored credential failed authentication: it was altered, or copied from another tenant or connector; set it again');
      await settingsRepo(store).putCredential('ta', 'other', stolen, 'k1', 'basic');
      await expect(broker.get('ta', 'other')).rejects.toThrow(/tenant "ta", connector "other": the stored credential failed authentication/);
      await broker.remove('ta', 'other');
      await broker.remove('tb', 'helpdesk');
    });

    it('refuses a tampered or malformed ciphertext with a clear error', async () => {
      const broker = createCredentialBroker({ store, keyring: ring(k1) });
      const { ciphertext } = await rawRow('ta', 'hudu');
      const body = ciphertext.split('.')[3];
      const flipped = `${ciphertext.slice(0, -body.length)}${body[0] === 'A' ? 'B' : 'A'}${body.slice(1)}`;
      const set = (c: string) => store.db.updateTable('credentials').set({ ciphertext: c }).where('tenant_id', '=', 'ta').where('connector', '=', 'hudu').execute();
      try {
        await set(flipped);
        await expect(broker.get('ta', 'hudu')).rejects.toThrow(/tenant "ta", connector "hudu": the stored credential failed authentication: it was altered/);
        await set(ciphertext.replace(/^v1\./, 'v9.'));
        await expect(broker.get('ta', 'hudu')).rejects.toThrow('tenant "ta", connector "hudu": the stored credential is not a v1 envelope; set it again');
        await set(ciphertext.slice(0, ciphertext.lastIndexOf('.') + 4));
        await expect(broker.get('ta', 'hudu')).rejects.toThrow(/failed authentication/);
      } finally {
        await set(ciphertext);
      }
      expect((await broker.get('ta', 'hudu'))?.credential).toEqual({ kind: 'apiKey', key: SECRET });
    });

    it('rotates every row to the current key in one transaction, after which the old key can go', async () => {
      const old = createCredentialBroker({ store, keyring: ring(k1) });
      await old.put('tb', 'itglue', { region: 'eu', credential: { kind: 'apiKey', key: `${SECRET}-b` } });
      const before = await old.tenantUpstreams();
      const broker = createCredentialBroker({ store, keyring: ring(k2, k1) });
      expect((await broker.retired()).map((r) => `${r.tenantId}/${r.connector}:${r.keyId}`)).toEqual(['ta/helpdesk:k1', 'ta/hudu:k1', 'tb/itglue:k1']);

      // A row under a key nobody holds stops the rotation before anything is committed.
      await settingsRepo(store).putCredential('tc', 'pax8', 'v1.k0.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA', 'k0', 'bearer');
      await expect(broker.rotate()).rejects.toThrow('tenant "tc", connector "pax8": sealed with master key "k0", which SPECGATE_MASTER_KEYS does not hold (it has k2, k1); add that key back, or set the credential again');
      expect((await broker.list()).filter((r) => r.keyId === 'k2')).toEqual([]);
      await broker.remove('tc', 'pax8');

      const updatedBefore = (await broker.list()).map((r) => r.updatedAt);
      expect(await broker.rotate()).toEqual({ keyId: 'k2', resealed: 3, unchanged: 0 });
      expect(await broker.rotate()).toEqual({ keyId: 'k2', resealed: 0, unchanged: 3 });
      expect(await broker.retired()).toEqual([]);
      expect((await broker.list()).map((r) => r.updatedAt)).toEqual(updatedBefore);
      expect((await rawRow('tb', 'itglue')).ciphertext).toMatch(/^v1\.k2\./);

      // k1 retired: the new key alone opens everything; the old key alone opens nothing.
      expect(await createCredentialBroker({ store, keyring: ring(k2) }).tenantUpstreams()).toEqual(before);
      await expect(createCredentialBroker({ store, keyring: ring(k1) }).get('ta', 'hudu'))
        .rejects.toThrow('tenant "ta", connector "hudu": sealed with master key "k2", which SPECGATE_MASTER_KEYS does not hold (it has k1); add that key back, or set the credential again');
    });

    it('needs a master key to seal or open, but not to list or remove', async () => {
      const keyless = createCredentialBroker({ store });
      await expect(keyless.put('ta', 'pax8', { kind: 'bearer', token: SECRET })).rejects.toThrow(/needs a master key: set SPECGATE_MASTER_KEYS=<id>:<base64 of 32 random bytes> \(or pass --master-key-file\)/);
      await expect(keyless.tenantUpstreams()).rejects.toThrow(/^the store holds 3 vendor credential\(s\); opening them needs a master key: set SPECGATE_MASTER_KEYS/);
      await expect(keyless.rotate()).rejects.toThrow(/rotating credentials needs a master key/);
      expect((await keyless.list('tb')).map((r) => r.connector)).toEqual(['itglue']);
    });

    it('accepts exactly what the config file accepts, naming the field and never the value', async () => {
      const broker = createCredentialBroker({ store, keyring: ring(k2) });
      const refused = async (connector: string, entry: unknown, message: string | RegExp, tenant = 'ta') => {
        const error = await broker.put(tenant, connector, entry).then(() => undefined, (e: Error) => e);
        expect(error?.message).toMatch(message);
        expect(error?.message).not.toContain(SECRET);
      };
      await refused('hudu', { kind: 'apiKy', key: SECRET }, 'credential for tenant "ta", connector "hudu": credential: kind "apiKy" is not one of apiKey, bearer, basic, connectwise, oauth2-client-credentials, oauth2-password');
      await refused('hudu', { kind: 'basic', username: 'u' }, 'credential for tenant "ta", connector "hudu": credential: needs password');
      await refused('hudu', { kind: 'apiKey', key: SECRET, note: SECRET }, 'credential.note: is not a known setting');
      await refused('hudu', { baseUrl: 'https://x.example.com' }, 'credential for tenant "ta", connector "hudu": needs a credential');
      await refused('hudu', { credential: { kind: 'apiKey', key: SECRET }, region: '' }, /region: must NOT have fewer than 1 characters/);
      await refused('Hudu', { kind: 'apiKey', key: SECRET }, 'a connector name is lower-case letters, digits and underscores');
      await refused('hudu', { kind: 'apiKey', key: SECRET }, 'credential for tenant "nobody", connector "hudu": unknown tenant "nobody"', 'nobody');
      expect((await broker.get('ta', 'hudu'))?.credential).toEqual({ kind: 'apiKey', key: SECRET });
    });

    it('tells a watcher when a credential changes', async () => {
      const broker = createCredentialBroker({ store, keyring: ring(k2) });
      let changes = 0;
      const stop = broker.watch(() => changes++, { intervalMs: 50 });
      try {
        const first = await broker.fingerprint();
        await new Promise((r) => setTimeout(r, 150));
        expect(changes).toBe(0);
        await broker.put('tc', 'pax8', { kind: 'bearer', token: SECRET });
        expect(await broker.fingerprint()).not.toBe(first);
        await expect.poll(() => changes, { timeout: 5_000 }).toBe(1);
        expect(await broker.remove('tc', 'pax8')).toBe(true);
        await expect.poll(() => changes, { timeout: 5_000 }).toBe(2);
        expect(await broker.remove('tc', 'pax8')).toBe(false);
      } finally {
        stop();
      }
    });
  });
}

// `credential set` checks a credential against the generated connector: generate the two it uses
// from the vendors' documents, rather than depend on what generated/ holds.
describe.skipIf(!haveVendorDocs)(`specgate credential commands${haveVendorDocs ? '' : ` (skipped: ${vendorDocsMissing})`}`, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'specgate-credential-cli-'));
  const storeUrl = `sqlite:${path.join(dir, 'specgate.db')}`;
  const generated = tempDir('credential-cli');
  const bin = path.join(root, 'bin', 'specgate.js');
  beforeAll(async () => {
    await generateInto([path.join(root, 'specs/hudu.yaml'), path.join(root, 'specs/pax8.yaml')], generated);
  });
  const run = (args: string[], env: Record<string, string> = {}, input?: string) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const where = args[1] === 'set' ? ['--generated', generated] : [];
    const child = execFile(process.execPath, [bin, ...args, ...where, '--store', storeUrl], { cwd: root, env: { ...process.env, [MASTER_KEYS_ENV]: k1, ...env } },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }));
    child.stdin?.end(input ?? '');
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(generated, { recursive: true, force: true });
  });

  // Each command is a process of its own, slow to start on a busy machine: independent ones run side by side.
  it('sets from an environment variable, a file and stdin, lists without secrets, rotates and removes', async () => {
    const setup = await openStore(storeUrl);
    await tenantsRepo(setup).createTenant({ id: 'ta', name: 'A' });
    await setup.close();
    const file = path.join(dir, 'itglue.json');
    fs.writeFileSync(file, JSON.stringify({ region: 'eu', credential: { kind: 'apiKey', key: SECRET } }));
    const badJson = path.join(dir, 'bad.json');
    fs.writeFileSync(badJson, `{"kind":"apiKey","key":"${SECRET}`);
    const [set, fromFile, halo, misfit, bad] = await Promise.all([
      run(['credential', 'set', '--tenant', 'ta', 'hudu', '--type', 'apiKey', '--value-env', 'HUDU_KEY', '--variable', 'hudu_host=acme.huducloud.com'], { HUDU_KEY: SECRET }),
      run(['credential', 'set', '--tenant', 'ta', 'itglue', '--from-file', file]),
      run(['credential', 'set', '--tenant', 'ta', 'halopsa', '--type', 'oauth2-client-credentials', '--client-id', 'app', '--variable', 'tenant=acme', '--value-stdin', '--json'], {}, `${SECRET}\n`),
      // The generated connector's document decides what fits: Pax8 takes OAuth2, not basic auth.
      run(['credential', 'set', '--tenant', 'ta', 'pax8', '--type', 'basic', '--username', 'u', '--value-env', 'HUDU_KEY'], { HUDU_KEY: SECRET }),
      run(['credential', 'set', '--tenant', 'ta', 'hudu', '--from-file', badJson]),
    ]);
    expect(set.stderr).toBe('');
    expect(set.stdout).toBe('stored the apiKey credential of tenant ta for hudu (sealed with key k1); a running server picks it up within seconds\n');
    expect(fromFile.code).toBe(0);
    expect(JSON.parse(halo.stdout)).toMatchObject({ connector: 'halopsa', kind: 'oauth2-client-credentials', keyId: 'k1' });
    expect(misfit.code).toBe(1);
    expect(misfit.stderr).toMatch(/^specgate: pax8: a basic credential does not fit: the document has no http basic scheme/);
    expect(bad.stderr).toMatch(/^specgate: .*bad\.json: not valid JSON/);

    const both = `${k2},${k1}`;
    const [list, retired] = await Promise.all([run(['credential', 'list', '--tenant', 'ta']), run(['credential', 'retired'], { [MASTER_KEYS_ENV]: both })]);
    expect(list.stdout.split('\n').map((l) => l.split(/\s+/).slice(0, 4).join(' '))).toEqual([
      'CONNECTOR KIND KEY KEY', 'halopsa oauth2-client-credentials k1 current', 'hudu apiKey k1 current', 'itglue apiKey k1 current', '',
    ]);
    expect(retired.stdout).toMatch(/^TENANT\s+CONNECTOR\s+KEY\nta\s+halopsa\s+k1\n/);
    const rotate = await run(['credential', 'rotate'], { [MASTER_KEYS_ENV]: both });
    expect(rotate.stdout).toBe('re-encrypted 3 credential(s) under key k2 (0 already were); no row uses k1 any more: remove them from the keyring once every server has the new key\n');
    const [removed, again] = await Promise.all([run(['credential', 'remove', '--tenant', 'ta', 'hudu']), run(['credential', 'remove', '--tenant', 'ta', 'nothing'])]);
    expect(removed.stdout).toBe('removed the credential of tenant ta for hudu\n');
    expect(again.stderr).toMatch(/tenant "ta" has no stored credential for "nothing"/);

    const store = await openStore(storeUrl);
    try {
      const rows = await store.db.selectFrom('credentials').selectAll().orderBy('connector').execute();
      expect(rows.map((r) => [r.connector, r.key_id])).toEqual([['halopsa', 'k2'], ['itglue', 'k2']]);
      expect(JSON.stringify(rows)).not.toContain(SECRET);
      expect(await createCredentialBroker({ store, keyring: ring(k2) }).get('ta', 'halopsa')).toEqual({
        variables: { tenant: 'acme' }, credential: { kind: 'oauth2-client-credentials', clientId: 'app', clientSecret: SECRET },
      });
    } finally {
      await store.close();
    }
    for (const r of [set, fromFile, halo, misfit, bad, list, retired, rotate, removed]) expect(r.stdout + r.stderr).not.toContain(SECRET);
  }, 300_000);
});
