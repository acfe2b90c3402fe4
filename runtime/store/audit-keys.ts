/**
 * The Ed25519 keys that sign audit checkpoints. They live outside the database (environment or a
 * file), so that write access to the store is not enough to sign a checkpoint for a rewritten
 * chain. Same format and rotation as the master keys: `SPECGATE_AUDIT_KEYS=a2:<base64 of 32
 * random bytes>,a1:<...>`, the current key first, older keys kept so the checkpoints they signed
 * still verify. Checking needs only the public keys (`specgate audit public-keys`), which an
 * external auditor can hold without being able to sign.
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { loadKeyring, parseKeyring, type Keyring } from '../credentials/keyring.ts';

export const AUDIT_KEYS_ENV = 'SPECGATE_AUDIT_KEYS';
/** A file with the same entries, preferred to AUDIT_KEYS_ENV when set. */
export const AUDIT_KEYS_FILE_ENV = 'SPECGATE_AUDIT_KEYS_FILE';
const WHAT = 'audit key';

// DER prefixes that wrap a raw 32-byte Ed25519 seed (PKCS#8) or public key (SPKI).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface AuditSigner {
  keyId: string;
  /** Base64 Ed25519 signature of the UTF-8 payload. */
  sign(payload: string): string;
}

export interface AuditKeys {
  /** Absent when only public keys were given: such a ring verifies but cannot write checkpoints. */
  signer?: AuditSigner;
  /** Key ids that can verify, current first. */
  ids: string[];
  /** True when `signature` is the key's signature of `payload`; false for an unknown key id. */
  verify(keyId: string, payload: string, signature: string): boolean;
  /** `<id>:<base64 raw public key>` lines, for `--public-keys`. */
  publicEntries(): string[];
  /** Where the keys came from, for messages. */
  source: string;
}

function fromPublic(ids: string[], publics: Map<string, KeyObject>, source: string, signer?: AuditSigner): AuditKeys {
  return {
    signer,
    ids,
    source,
    verify(keyId, payload, signature) {
      const key = publics.get(keyId);
      if (!key || !/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) return false;
      return verify(null, Buffer.from(payload, 'utf8'), key, Buffer.from(signature, 'base64'));
    },
    publicEntries: () => ids.map((id) => `${id}:${publics.get(id)!.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length).toString('base64')}`),
  };
}

/** Signing keys from a keyring of 32-byte seeds: the first signs, all verify. */
export function auditKeysFromKeyring(ring: Keyring): AuditKeys {
  const privates = new Map(ring.ids.map((id) => [id, createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, ring.get(id)!]), format: 'der', type: 'pkcs8' })]));
  const publics = new Map([...privates].map(([id, k]) => [id, createPublicKey(k)]));
  const current = privates.get(ring.current.id)!;
  return fromPublic(ring.ids, publics, ring.source, {
    keyId: ring.current.id,
    sign: (payload) => sign(null, Buffer.from(payload, 'utf8'), current).toString('base64'),
  });
}

/** Verify-only keys from `<id>:<base64 raw public key>` entries (what `publicEntries` prints). */
export function parseAuditPublicKeys(text: string, source: string): AuditKeys {
  const ring = parseKeyring(text, source, 'audit public key');
  const publics = new Map(ring.ids.map((id) => [id, createPublicKey({ key: Buffer.concat([SPKI_PREFIX, ring.get(id)!]), format: 'der', type: 'spki' })]));
  return fromPublic(ring.ids, publics, source);
}

/** The audit keys from `file`, else SPECGATE_AUDIT_KEYS_FILE, else SPECGATE_AUDIT_KEYS; undefined when none is set. */
export function loadAuditKeys(options: { file?: string; env?: NodeJS.ProcessEnv } = {}): AuditKeys | undefined {
  const env = options.env ?? process.env;
  const file = options.file ?? (env[AUDIT_KEYS_FILE_ENV] || undefined);
  const ring = loadKeyring({ file, env, variable: AUDIT_KEYS_ENV, what: WHAT });
  return ring && auditKeysFromKeyring(ring);
}

/** Why checkpoints cannot be signed, and how to fix it. */
export const MISSING_AUDIT_KEYS = `no audit signing key: set ${AUDIT_KEYS_ENV}=<id>:<base64 of 32 random bytes> or ${AUDIT_KEYS_FILE_ENV}=<file> (\`specgate audit new-key\` prints one); without it audit checkpoints are not written and a rewritten or truncated audit chain cannot be detected`;
