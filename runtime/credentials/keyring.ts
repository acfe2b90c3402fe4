/**
 * The master keys that encrypt stored vendor credentials. Several keys can be present at once so
 * that a key is rotated without downtime: the first is current (new and rotated credentials are
 * sealed with it), the others only open what was sealed before. Keys come from the environment
 * (`SPECGATE_MASTER_KEYS=k2:<base64>,k1:<base64>`) or from a file with the same entries (commas or
 * lines, `#` comments), never from a command-line argument, which other users of the host can read.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';

export const MASTER_KEYS_ENV = 'SPECGATE_MASTER_KEYS';
export const KEY_BYTES = 32;
/** Ids appear inside the envelope, whose parts are separated by dots. */
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const RULE = `entries are <id>:<base64 of ${KEY_BYTES} random bytes>, comma-separated, the current key first; an id is 1-32 letters, digits, "_" or "-"`;

export interface MasterKey { id: string; key: Buffer }

export interface Keyring {
  /** Seals everything new. */
  current: MasterKey;
  /** Every id, current first. */
  ids: string[];
  get(id: string): Buffer | undefined;
  /** Where the keys came from, for error messages: the variable or the file. */
  source: string;
}

export class KeyringError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyringError';
  }
}

/**
 * Parses `id:base64` entries. Errors name the source and the entry, never the key material.
 * `what` names the keys in errors: the audit signing keys use the same format.
 */
export function parseKeyring(text: string, source: string, what = 'master key'): Keyring {
  const entries = text.split(/[,\n]/).map((l) => l.replace(/#.*$/, '').trim()).filter(Boolean);
  if (entries.length === 0) throw new KeyringError(`${source} holds no ${what}: ${RULE}`);
  const keys: MasterKey[] = [];
  entries.forEach((entry, i) => {
    const colon = entry.indexOf(':');
    const id = colon < 0 ? '' : entry.slice(0, colon);
    const where = `${source}: entry ${i + 1}${KEY_ID.test(id) ? ` ("${id}")` : ''}`;
    if (!KEY_ID.test(id)) throw new KeyringError(`${where} has no valid key id: ${RULE}`);
    const encoded = entry.slice(colon + 1).trim();
    const key = Buffer.from(encoded, 'base64');
    // Buffer.from skips characters outside the alphabet; re-encoding tells a clean value from one that was silently cut.
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(encoded) || key.length !== KEY_BYTES) {
      throw new KeyringError(`${where}: the key must be ${KEY_BYTES} bytes in base64 (decoded to ${key.length} bytes): ${RULE}`);
    }
    if (keys.some((k) => k.id === id)) throw new KeyringError(`${where}: the id "${id}" is used twice`);
    keys.push({ id, key });
  });
  const byId = new Map(keys.map((k) => [k.id, k.key]));
  return { current: keys[0], ids: keys.map((k) => k.id), get: (id) => byId.get(id), source };
}

/**
 * The keyring from `--master-key-file` when given, else from SPECGATE_MASTER_KEYS; undefined when
 * neither is set. `variable` and `what` load another keyring of the same format (audit keys).
 */
export function loadKeyring(options: { file?: string; env?: NodeJS.ProcessEnv; variable?: string; what?: string } = {}): Keyring | undefined {
  const what = options.what ?? 'master key';
  if (options.file) {
    let text: string;
    try {
      text = fs.readFileSync(options.file, 'utf8');
    } catch (e) {
      const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'the file does not exist' : (e as Error).message;
      throw new KeyringError(`${what} file ${options.file}: cannot read it: ${reason}`);
    }
    return parseKeyring(text, `${what} file ${options.file}`, what);
  }
  const variable = options.variable ?? MASTER_KEYS_ENV;
  const value = (options.env ?? process.env)[variable];
  return value ? parseKeyring(value, variable, what) : undefined;
}

/** Why a keyring is needed and how to give one. */
export function missingKeyringMessage(what: string): string {
  return `${what} needs a master key: set ${MASTER_KEYS_ENV}=<id>:<base64 of ${KEY_BYTES} random bytes> (or pass --master-key-file); \`specgate credential new-key\` prints one`;
}

/** A fresh key entry for SPECGATE_MASTER_KEYS; the id defaults to the date, so a newer key sorts later. */
export function newKeyEntry(id = `k${new Date().toISOString().slice(0, 10).replace(/-/g, '')}`): string {
  if (!KEY_ID.test(id)) throw new KeyringError(`key id "${id}" is not valid: ${RULE}`);
  return `${id}:${randomBytes(KEY_BYTES).toString('base64')}`;
}
