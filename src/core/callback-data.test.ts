import { describe, expect, it } from 'vitest';
import { decodeCallback, deriveCallbackKey, encodeCallback } from './callback-data.ts';

const key = deriveCallbackKey('123456:AAAA-test-token-aaaaaaaaaaaaaaaaaaaaaaaa');
const id = 'AbCdEfGhIjKlMnOpQrStUv';

describe('callback data', () => {
  it('round-trips and stays within 64 bytes', () => {
    for (const action of ['confirm', 'cancel'] as const) {
      const data = encodeCallback(key, action, id);
      expect(Buffer.byteLength(data)).toBeLessThanOrEqual(64);
      expect(decodeCallback(key, data)).toEqual({ ok: true, action, id });
    }
  });

  it('refuses a payload whose action was swapped (the tag covers the action)', () => {
    const data = encodeCallback(key, 'cancel', id);
    expect(decodeCallback(key, `c${data.slice(1)}`)).toEqual({ ok: false, reason: 'bad_tag' });
  });

  it('refuses a payload signed with another bot token', () => {
    const other = deriveCallbackKey('999:other-token-bbbbbbbbbbbbbbbbbbbbbbbbbbbb');
    expect(decodeCallback(key, encodeCallback(other, 'confirm', id))).toEqual({
      ok: false,
      reason: 'bad_tag',
    });
  });

  it.each(['', 'c', 'c:x:y:z', `q:${id}:AAAA`, `c:short:AAAA`, `c:${id}:`, `c:${id}:!!!!`])(
    'treats %j as malformed',
    (data) => {
      expect(decodeCallback(key, data)).toEqual({ ok: false, reason: 'malformed' });
    },
  );

  it('refuses a truncated tag', () => {
    const data = encodeCallback(key, 'confirm', id);
    expect(decodeCallback(key, data.slice(0, -2))).toEqual({ ok: false, reason: 'bad_tag' });
  });
});
