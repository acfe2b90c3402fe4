/**
 * Sealing a stored credential: AES-256-GCM (authenticated, so a flipped bit fails to open rather
 * than decrypting to garbage), a random 96-bit nonce per encryption, and additional data naming
 * the row's tenant and connector, so a ciphertext copied into another tenant's row does not open.
 *
 * Envelope: `v1.<keyId>.<nonce>.<ciphertext+tag>`, the last two base64url. The version lets a
 * later format coexist with rows sealed by this one; the key id says which master key opens it.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Keyring } from './keyring.ts';

const VERSION = 'v1';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** Where a sealed value belongs; bound into the ciphertext. */
export interface SealContext { tenantId: string; connector: string }

export class CredentialCipherError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialCipherError';
  }
}

function additionalData(keyId: string, where: SealContext): Buffer {
  // JSON keeps the parts unambiguous whatever characters a tenant id holds.
  return Buffer.from(JSON.stringify([`specgate-credential/${VERSION}`, keyId, where.tenantId, where.connector]), 'utf8');
}

const describe = (where: SealContext) => `tenant "${where.tenantId}", connector "${where.connector}"`;

export function seal(keyring: Keyring, plaintext: string, where: SealContext): { envelope: string; keyId: string } {
  const { id, key } = keyring.current;
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(additionalData(id, where));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return { envelope: [VERSION, id, nonce.toString('base64url'), body.toString('base64url')].join('.'), keyId: id };
}

/** The key id an envelope names, without opening it. */
export function envelopeKeyId(envelope: string): string | undefined {
  const parts = envelope.split('.');
  return parts.length === 4 && parts[0] === VERSION ? parts[1] : undefined;
}

export function open(keyring: Keyring, envelope: string, where: SealContext): string {
  const parts = envelope.split('.');
  if (parts.length !== 4 || parts[0] !== VERSION) {
    throw new CredentialCipherError(`${describe(where)}: the stored credential is not a ${VERSION} envelope; set it again`);
  }
  const [, keyId, nonceText, bodyText] = parts;
  const key = keyring.get(keyId);
  if (!key) {
    throw new CredentialCipherError(`${describe(where)}: sealed with master key "${keyId}", which ${keyring.source} does not hold (it has ${keyring.ids.join(', ')}); add that key back, or set the credential again`);
  }
  const nonce = Buffer.from(nonceText, 'base64url');
  const body = Buffer.from(bodyText, 'base64url');
  if (nonce.length !== NONCE_BYTES || body.length < TAG_BYTES) throw tampered(where);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(additionalData(keyId, where));
  decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    throw tampered(where);
  }
}

function tampered(where: SealContext): CredentialCipherError {
  return new CredentialCipherError(`${describe(where)}: the stored credential failed authentication: it was altered, or copied from another tenant or connector; set it again`);
}
