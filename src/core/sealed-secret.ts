import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Secrets at rest (linked GitHub users' tokens): AES-256-GCM under `DEPLOYBOT_ENCRYPTION_KEY`, a
 * fresh 12-byte IV per seal, and a context string as additional authenticated data, so a blob copied
 * to another user's row or from the refresh-token column to the token column does not open.
 *
 * Format: `v1.<iv>.<ciphertext>.<tag>`, each part base64url.
 */

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** The key length AES-256 needs. */
export const ENCRYPTION_KEY_BYTES = 32;

/**
 * The 32-byte key from its text: 64 hex characters, or base64 / base64url of 32 bytes (`openssl rand
 * -base64 32`). Null for anything else; the caller reports the variable, never the value.
 */
export function parseEncryptionKey(text: string): Buffer | null {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  if (!/^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)) return null;
  const key = Buffer.from(trimmed.replace(/=$/, ''), 'base64url');
  return key.length === ENCRYPTION_KEY_BYTES ? key : null;
}

function checkKey(key: Buffer): void {
  if (key.length !== ENCRYPTION_KEY_BYTES) throw new RangeError('the encryption key must be 32 bytes');
}

/**
 * Encrypts `plaintext` bound to `context` (e.g. `github-token:<telegram id>`).
 * @throws {RangeError} when the key is not 32 bytes (a programming error).
 */
export function seal(key: Buffer, plaintext: string, context: string): string {
  checkKey(key);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [VERSION, iv, body, tag]
    .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
    .join('.');
}

/**
 * Decrypts what {@link seal} made with the same key and context. Null when the blob was altered,
 * sealed under another key or context, or is not a sealed value at all. Never throws for bad input.
 */
export function unseal(key: Buffer, sealed: string, context: string): string | null {
  checkKey(key);
  const [version, ivText, bodyText, tagText, ...rest] = sealed.split('.');
  if (version !== VERSION || rest.length > 0 || !ivText || bodyText === undefined || !tagText) return null;
  const iv = Buffer.from(ivText, 'base64url');
  const tag = Buffer.from(tagText, 'base64url');
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(Buffer.from(bodyText, 'base64url')), decipher.final()]).toString(
      'utf8',
    );
  } catch {
    return null;
  }
}
