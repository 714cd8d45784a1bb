import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseEncryptionKey, seal, unseal } from './sealed-secret.ts';

const key = randomBytes(32);

describe('sealed secrets', () => {
  it('round-trips under the same key and context, and never contains the plaintext', () => {
    const token = 'ghu_16C7e42F292c6912E7710c838347Ae178B4a';
    const sealed = seal(key, token, 'github-token:1001');
    expect(sealed).not.toContain(token);
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(unseal(key, sealed, 'github-token:1001')).toBe(token);
    // A fresh IV each time: the same token seals differently.
    expect(seal(key, token, 'github-token:1001')).not.toBe(sealed);
  });

  it('does not open under another key, another context, or when altered', () => {
    const sealed = seal(key, 'ghu_secret', 'github-token:1001');
    expect(unseal(randomBytes(32), sealed, 'github-token:1001')).toBeNull();
    expect(unseal(key, sealed, 'github-token:1002')).toBeNull();
    expect(unseal(key, sealed, 'github-refresh:1001')).toBeNull();
    const parts = sealed.split('.');
    const body = Buffer.from(parts[2] ?? '', 'base64url');
    body[0] = (body[0] ?? 0) ^ 1;
    parts[2] = body.toString('base64url');
    expect(unseal(key, parts.join('.'), 'github-token:1001')).toBeNull();
    for (const junk of ['', 'v1', 'v1...', 'v2.a.b.c', 'plain-token', `${sealed}.x`]) {
      expect(unseal(key, junk, 'github-token:1001')).toBeNull();
    }
  });

  it('reads a 32-byte key as 64 hex characters or base64, and nothing else', () => {
    const raw = randomBytes(32);
    expect(parseEncryptionKey(raw.toString('hex'))?.equals(raw)).toBe(true);
    expect(parseEncryptionKey(raw.toString('base64'))?.equals(raw)).toBe(true);
    expect(parseEncryptionKey(raw.toString('base64url'))?.equals(raw)).toBe(true);
    expect(parseEncryptionKey(` ${raw.toString('hex')}\n`)?.equals(raw)).toBe(true);
    expect(parseEncryptionKey(randomBytes(16).toString('hex'))).toBeNull();
    expect(parseEncryptionKey(randomBytes(31).toString('base64'))).toBeNull();
    expect(parseEncryptionKey(randomBytes(33).toString('base64'))).toBeNull();
    expect(parseEncryptionKey('correct horse battery staple correct horse b')).toBeNull();
  });
});
