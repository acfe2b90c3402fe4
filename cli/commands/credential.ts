/**
 * Operator commands over the credential broker: set, list, remove and rotate tenants' vendor
 * credentials. A secret is never an argument (other users of the host can read a process's
 * arguments, and shells keep history): it comes from a file, stdin or a named environment
 * variable. Output shows metadata only. Store handling is admin.ts's (--store, SPECGATE_STORE).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { defaultGeneratedDir } from '../../generator/paths.ts';
import { leaf, print, table, tenantLeaf, withStore, withTenant } from './admin.ts';

type Store = import('../../runtime/store/index.ts').Store;
interface KeyOpts { store?: string; masterKeyFile?: string; json?: boolean }
interface SetOpts extends KeyOpts {
  tenant: string;
  fromFile?: string;
  stdin?: boolean;
  type?: string;
  valueEnv?: string;
  valueStdin?: boolean;
  username?: string;
  clientId?: string;
  companyId?: string;
  publicKey?: string;
  scope?: string;
  audience?: string;
  tokenUrl?: string;
  baseUrl?: string;
  region?: string;
  variable?: string[];
  generated: string;
}

const KINDS = ['apiKey', 'bearer', 'basic', 'connectwise', 'oauth2-client-credentials', 'oauth2-password'];
/** Which field of each kind holds the secret, and which flags fill the others. */
const SECRET_FIELD: Record<string, string> = { apiKey: 'key', bearer: 'token', basic: 'password', connectwise: 'privateKey', 'oauth2-client-credentials': 'clientSecret', 'oauth2-password': 'password' };
const PLAIN_FIELDS: Record<string, Array<keyof SetOpts>> = {
  apiKey: [], bearer: [], basic: ['username'], connectwise: ['companyId', 'publicKey', 'clientId'],
  'oauth2-client-credentials': ['clientId', 'scope', 'audience', 'tokenUrl'],
  'oauth2-password': ['username', 'clientId', 'scope', 'tokenUrl'],
};

export function registerCredential(program: Command): void {
  const credential = program.command('credential')
    .description("tenants' vendor credentials, encrypted in the store under a master key (SPECGATE_MASTER_KEYS or --master-key-file)");

  withKeys(tenantLeaf(credential, 'set', "set (or replace) a tenant's credential for a connector; the secret comes from a file, stdin or an environment variable, never an argument"))
    .argument('<connector>', 'connector name')
    .addOption(new Option('--from-file <file>', 'JSON: a credential ({"kind":"apiKey","key":"..."}) or an entry with baseUrl/variables/region and credential').conflicts(['type', 'stdin']))
    .addOption(new Option('--stdin', 'read that JSON from stdin').conflicts('type'))
    .addOption(new Option('--type <kind>', 'build the credential from flags').choices(KINDS))
    .option('--value-env <VAR>', "with --type: the environment variable holding the secret (key, token, password, private key or client secret)")
    .option('--value-stdin', 'with --type: read the secret from stdin (one line)')
    .option('--username <name>', 'basic / oauth2-password: user name')
    .option('--client-id <id>', 'oauth2 / connectwise: client id')
    .option('--company-id <id>', 'connectwise: company id')
    .option('--public-key <key>', 'connectwise: public key')
    .option('--scope <scope>', 'oauth2: scope')
    .option('--audience <audience>', 'oauth2: audience')
    .option('--token-url <url>', 'oauth2: token URL')
    .option('--base-url <url>', "where this tenant's vendor lives (https)")
    .option('--region <label>', "pick the vendor's regional server: eu, au, na, ...")
    .option('--variable <name=value...>', "fill the vendor's server template, e.g. tenant=acme")
    .option('--generated <dir>', 'check the credential against this generated connector when present', defaultGeneratedDir)
    .action((connector: string, o: SetOpts) => withTenant(o, async (store, m) => {
      const entry = await readEntry(o);
      await checkAgainstConnector(o.generated, connector, entry);
      const { stored: info } = await m.changes(store).putCredential(await broker(store, o), o.tenant, connector, entry);
      print(o.json, info, () => `stored the ${info.kind} credential of tenant ${info.tenantId} for ${info.connector} (sealed with key ${info.keyId}); a running server picks it up within seconds`);
    }));

  withKeys(tenantLeaf(credential, 'list', "a tenant's credentials: connector, kind, master key, when set (never the secret)"))
    .action((o: KeyOpts & { tenant: string }) => withTenant(o, async (store) => {
      const b = await broker(store, o, false);
      const current = (await keyring(o))?.current.id;
      const rows = (await b.list(o.tenant)).map((r) => ({ ...r, ...(current ? { keyStatus: r.keyId === current ? 'current' : 'retired' } : {}) }));
      print(o.json, rows, () => table(['CONNECTOR', 'KIND', 'KEY', 'KEY STATUS', 'UPDATED'],
        rows.map((r) => [r.connector, r.kind || '-', r.keyId, r.keyStatus ?? '-', r.updatedAt])));
    }));

  tenantLeaf(credential, 'remove', "remove a tenant's credential for a connector")
    .argument('<connector>', 'connector name')
    .action((connector: string, o: KeyOpts & { tenant: string }) => withTenant(o, async (store, m) => {
      if (!(await m.changes(store).removeCredential(await broker(store, o, false), o.tenant, connector))) {
        throw new Error(`tenant "${o.tenant}" has no stored credential for "${connector}" (see \`specgate credential list --tenant ${o.tenant}\`)`);
      }
      print(o.json, { tenantId: o.tenant, connector, removed: true }, () => `removed the credential of tenant ${o.tenant} for ${connector}`);
    }));

  withKeys(leaf(credential, 'rotate', 're-encrypt every stored credential under the current (first) master key, in one transaction'))
    .option('--json', 'print JSON')
    .action((o: KeyOpts) => withStore(o, async (store, m) => {
      const b = await broker(store, o);
      const report = await b.rotate();
      await m.changes(store).recordRotation(report);
      const k = (await keyring(o))!;
      const retired = k.ids.filter((id) => id !== report.keyId);
      print(o.json, { ...report, removableKeys: retired }, () => `re-encrypted ${report.resealed} credential(s) under key ${report.keyId} (${report.unchanged} already were)`
        + (retired.length ? `; no row uses ${retired.join(', ')} any more: remove them from the keyring once every server has the new key` : ''));
    }));

  withKeys(leaf(credential, 'retired', 'every stored credential still sealed with a key other than the current one (rotate re-encrypts them)'))
    .option('--json', 'print JSON')
    .action((o: KeyOpts) => withStore(o, async (store) => {
      const rows = await (await broker(store, o)).retired();
      print(o.json, rows, () => rows.length ? table(['TENANT', 'CONNECTOR', 'KEY'], rows.map((r) => [r.tenantId, r.connector, r.keyId])) : 'every credential uses the current key');
    }));

  credential.command('new-key')
    .description('print a fresh master key entry for SPECGATE_MASTER_KEYS (put it first to make it current)')
    .option('--id <id>', 'key id (default: k<today>)')
    .action(async (o: { id?: string }) => {
      const { newKeyEntry } = await import('../../runtime/credentials/keyring.ts');
      process.stdout.write(`${newKeyEntry(o.id)}\n`);
    });
}

function withKeys(cmd: Command): Command {
  return cmd.option('--master-key-file <file>', 'master keys (default: env SPECGATE_MASTER_KEYS)');
}

async function keyring(o: KeyOpts) {
  const { loadKeyring } = await import('../../runtime/credentials/keyring.ts');
  return loadKeyring({ file: o.masterKeyFile });
}

/** Listing and removing need no key; a malformed keyring is still reported rather than ignored. */
async function broker(store: Store, o: KeyOpts, needsKeys = true) {
  const { createCredentialBroker } = await import('../../runtime/credentials/broker.ts');
  const { missingKeyringMessage } = await import('../../runtime/credentials/keyring.ts');
  const k = await keyring(o);
  if (needsKeys && !k) throw new Error(missingKeyringMessage('this command'));
  return createCredentialBroker({ store, keyring: k });
}

async function readEntry(o: SetOpts): Promise<unknown> {
  if (o.fromFile || o.stdin) {
    const where = o.fromFile ?? 'stdin';
    let text: string;
    try {
      text = fs.readFileSync(o.fromFile ?? 0, 'utf8');
    } catch (e) {
      throw new Error(`--from-file ${where}: cannot read it: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'the file does not exist' : (e as Error).message}`);
    }
    try {
      return JSON.parse(text);
    } catch (e) {
      // The parser's message can quote the text, which holds the secret: only the position is kept.
      const at = /position \d+(?: \(line \d+ column \d+\))?/.exec((e as Error).message)?.[0];
      throw new Error(`${where}: not valid JSON${at ? ` (at ${at})` : ''}`);
    }
  }
  if (!o.type) throw new Error('give the credential with --from-file <file>, --stdin, or --type <kind> with --value-env <VAR> or --value-stdin');
  const credential: Record<string, string> = { kind: o.type };
  for (const flag of PLAIN_FIELDS[o.type]) if (o[flag] !== undefined) credential[flag] = String(o[flag]);
  credential[SECRET_FIELD[o.type]] = readSecret(o);
  const entry: Record<string, unknown> = { credential };
  if (o.baseUrl !== undefined) entry.baseUrl = o.baseUrl;
  if (o.region !== undefined) entry.region = o.region;
  if (o.variable) entry.variables = Object.fromEntries(o.variable.map((v) => {
    const m = /^([^=]+)=(.+)$/.exec(v);
    if (!m) throw new Error(`--variable ${v}: expected <name>=<value>, e.g. tenant=acme`);
    return [m[1], m[2]];
  }));
  return entry;
}

function readSecret(o: SetOpts): string {
  if (o.valueEnv && o.valueStdin) throw new Error('give the secret with --value-env or --value-stdin, not both');
  if (o.valueEnv) {
    const value = process.env[o.valueEnv];
    if (!value) throw new Error(`--value-env ${o.valueEnv}: the environment variable is not set or empty`);
    return value;
  }
  if (o.valueStdin) {
    const value = fs.readFileSync(0, 'utf8').replace(/\r?\n$/, '');
    if (!value) throw new Error('--value-stdin: stdin was empty');
    return value;
  }
  throw new Error(`--type ${o.type} needs its secret: --value-env <VAR> or --value-stdin`);
}

/**
 * When the connector is generated here, the entry must fit its document (auth scheme, server
 * template) the way the runtime will check it: better refused now than on a technician's call.
 */
async function checkAgainstConnector(generated: string, connector: string, entry: unknown): Promise<void> {
  // The JavaScript twin: an installed specgate runs without a TypeScript loader.
  const modelFile = path.resolve(generated, connector, 'model.js');
  if (!fs.existsSync(modelFile)) {
    process.stderr.write(`note: no generated connector "${connector}" in ${generated}: the credential is checked when a server loads it\n`);
    return;
  }
  const { checkStoredUpstream } = await import('../../runtime/credentials/broker.ts');
  const { configureUpstreams } = await import('../../runtime/credentials/upstreams.ts');
  const { createAuthenticator } = await import('../../runtime/credentials/authenticate.ts');
  const { model } = (await import(modelFile)) as { model: import('../../runtime/model.ts').ConnectorModel };
  const checked = checkStoredUpstream(entry, `credential for ${connector}`);
  if (checked.baseUrl ?? checked.variables ?? checked.region) {
    configureUpstreams([model], { [connector]: checked });
  } else {
    // Without a location the server uses the config file's for this connector, which this command does
    // not read: only the credential's fit to the document's auth schemes is checked (the URL is a stand-in).
    createAuthenticator(model, checked.credential, { baseUrl: 'https://location-from-config.invalid' });
  }
}
