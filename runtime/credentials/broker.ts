/**
 * The credential broker: each tenant's vendor credentials, sealed in the store under a master
 * key (cipher.ts, keyring.ts) and opened only to build that tenant's executor, whose
 * authenticator adds them to an upstream request after its allow-list check. What an operator
 * stores is an upstream entry as the config file accepts it (credential, and optionally where the
 * tenant's vendor lives: baseUrl, variables or region), checked against the same JSON Schema.
 *
 * Listing shows metadata only (connector, kind, key id, when it was set): nothing here returns a
 * secret except `get` and `tenantUpstreams`, which are for the runtime.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { settingsRepo, tenantsRepo, type Store } from '../store/index.ts';
import { CONFIG_SCHEMA_FILE, explain, pathOf, type UpstreamEntry } from './config.ts';
import { envelopeKeyId, open, seal } from './cipher.ts';
import { missingKeyringMessage, type Keyring } from './keyring.ts';
import type { VendorCredential } from './types.ts';

/** An upstream entry with its credential: what one stored row holds once opened. */
export interface StoredUpstream extends UpstreamEntry { credential: VendorCredential }

export interface CredentialSummary { tenantId: string; connector: string; kind: string; keyId: string; updatedAt: string }

export interface RotationReport {
  /** The key every row is now sealed with. */
  keyId: string;
  /** Rows re-sealed by this call. */
  resealed: number;
  /** Rows that already were under the current key. */
  unchanged: number;
}

export class CredentialInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialInputError';
  }
}

const CONNECTOR = /^[a-z][a-z0-9_]*$/;

let entryValidator: ValidateFunction | undefined;
/** The config file's own `upstream` definition, so a stored entry accepts exactly what a file entry does. */
function validateEntry(): ValidateFunction {
  if (!entryValidator) {
    const schema = JSON.parse(fs.readFileSync(CONFIG_SCHEMA_FILE, 'utf8')) as { $id: string };
    const ajv = new Ajv2020({ allErrors: true, strict: true, discriminator: true });
    ajv.addSchema(schema);
    entryValidator = ajv.getSchema(`${schema.$id}#/$defs/upstream`)!;
  }
  return entryValidator;
}

/**
 * Checks an entry (or a bare credential, which gets no location) against the config schema;
 * errors name the field, never its value.
 */
export function checkStoredUpstream(input: unknown, where: string): StoredUpstream {
  const value = input && typeof input === 'object' && 'kind' in input ? { credential: input } : input;
  const check = validateEntry();
  if (!check(value)) {
    const problems = (check.errors ?? []).filter((e) => e.propertyName === undefined)
      .map((e) => `${where}: ${pathOf(e).join('.') || '(the entry)'}: ${explain(e)}`);
    throw new CredentialInputError([...new Set(problems)].join('\n'));
  }
  if (!(value as UpstreamEntry).credential) throw new CredentialInputError(`${where}: needs a credential`);
  return value as StoredUpstream;
}

export interface CredentialBrokerOptions {
  store: Store;
  /** Needed to put, open and rotate; listing and removing work without it. */
  keyring?: Keyring;
}

export function createCredentialBroker({ store, keyring }: CredentialBrokerOptions) {
  const settings = settingsRepo(store);

  const needKeyring = (what: string): Keyring => {
    if (!keyring) throw new CredentialInputError(missingKeyringMessage(what));
    return keyring;
  };
  const summary = ({ ciphertext: _, ...info }: { ciphertext: string } & CredentialSummary): CredentialSummary => info;
  const openRow = (k: Keyring, row: { tenantId: string; connector: string; ciphertext: string }): StoredUpstream =>
    JSON.parse(open(k, row.ciphertext, row)) as StoredUpstream;
  const list = async (tenantId?: string): Promise<CredentialSummary[]> => (await settings.listCredentials(tenantId)).map(summary);
  const fingerprint = async (): Promise<string> => createHash('sha256')
    .update(JSON.stringify((await list()).map((r) => [r.tenantId, r.connector, r.keyId, r.updatedAt]))).digest('base64url');

  return {
    /** Validates and seals `entry` (a credential alone is accepted too) for the tenant's connector, replacing any earlier one. */
    async put(tenantId: string, connector: string, entry: unknown): Promise<CredentialSummary> {
      const where = `credential for tenant "${tenantId}", connector "${connector}"`;
      if (!CONNECTOR.test(connector)) throw new CredentialInputError(`${where}: a connector name is lower-case letters, digits and underscores`);
      const checked = checkStoredUpstream(entry, where);
      const k = needKeyring(`storing a ${where}`);
      if (!(await tenantsRepo(store).getTenant(tenantId))) throw new CredentialInputError(`${where}: unknown tenant "${tenantId}"`);
      const { envelope, keyId } = seal(k, JSON.stringify(checked), { tenantId, connector });
      await settings.putCredential(tenantId, connector, envelope, keyId, checked.credential.kind);
      return summary((await settings.getCredential(tenantId, connector))!);
    },

    /** The opened entry, for the runtime only: never print or log it. */
    async get(tenantId: string, connector: string): Promise<StoredUpstream | undefined> {
      const row = await settings.getCredential(tenantId, connector);
      return row && openRow(needKeyring(`opening the credential of tenant "${tenantId}", connector "${connector}"`), row);
    },

    /** Metadata of a tenant's credentials (every tenant's without an id); never a secret. */
    list,

    async remove(tenantId: string, connector: string): Promise<boolean> {
      return settings.deleteCredential(tenantId, connector);
    },

    /** Rows not sealed with the current key: they still need `rotate` before their key can be dropped. */
    async retired(): Promise<CredentialSummary[]> {
      const current = needKeyring('telling retired keys from the current one').current.id;
      return (await list()).filter((r) => r.keyId !== current);
    },

    /**
     * Re-seals every row under the current key, in one transaction: all rows or none. Running it
     * again re-seals nothing. Afterwards the older keys can be removed from the keyring.
     */
    async rotate(): Promise<RotationReport> {
      const k = needKeyring('rotating credentials');
      let unchanged = 0;
      const resealed = await settings.resealCredentials((row) => {
        if (envelopeKeyId(row.ciphertext) === k.current.id) {
          unchanged++;
          return undefined;
        }
        const { envelope, keyId } = seal(k, open(k, row.ciphertext, row), row);
        return { ciphertext: envelope, keyId };
      });
      return { keyId: k.current.id, resealed, unchanged };
    },

    /** Every tenant's stored entries, opened: the runtime's per-tenant upstreams. */
    async tenantUpstreams(): Promise<Record<string, Record<string, StoredUpstream>>> {
      const rows = await settings.listCredentials();
      const out: Record<string, Record<string, StoredUpstream>> = {};
      if (rows.length === 0) return out;
      const k = needKeyring(`the store holds ${rows.length} vendor credential(s); opening them`);
      for (const row of rows) (out[row.tenantId] ??= {})[row.connector] = openRow(k, row);
      return out;
    },

    /** Changes whenever a credential is set, removed or re-sealed; cheap enough to poll. */
    fingerprint,

    /**
     * Calls `onChange` when the stored credentials change (another process ran `specgate
     * credential set`), by polling the fingerprint. Returns a stop function.
     */
    watch(onChange: () => void, options: { intervalMs?: number; onError?: (e: Error) => void } = {}): () => void {
      let last: string | undefined;
      let stopped = false;
      const tick = async () => {
        try {
          const now = await fingerprint();
          if (last !== undefined && now !== last && !stopped) onChange();
          last = now;
        } catch (e) {
          options.onError?.(e as Error);
        }
      };
      void tick();
      const timer = setInterval(() => void tick(), options.intervalMs ?? 5_000);
      timer.unref();
      return () => {
        stopped = true;
        clearInterval(timer);
      };
    },
  };
}

export type CredentialBroker = ReturnType<typeof createCredentialBroker>;
