import { describe, expect, it } from 'vitest';
import {
  decodeCallback,
  deriveCallbackKey,
  encodeCallback,
  isReviewAction,
  reviewCallbackId,
  runIdOfReviewId,
} from './callback-data.ts';

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

  it('signs Approve / Reject for a run: the id is the run id, and the payload stays within 64 bytes', () => {
    for (const runId of [1, 9_000_001_234, Number.MAX_SAFE_INTEGER]) {
      const reviewId = reviewCallbackId(runId);
      expect(reviewId).toMatch(/^\d{16}$/);
      expect(runIdOfReviewId(reviewId)).toBe(runId);
      for (const action of ['approve', 'reject'] as const) {
        const data = encodeCallback(key, action, reviewId);
        expect(Buffer.byteLength(data)).toBeLessThanOrEqual(64);
        const decoded = decodeCallback(key, data);
        expect(decoded).toEqual({ ok: true, action, id: reviewId });
        expect(decoded.ok && isReviewAction(decoded.action)).toBe(true);
      }
    }
    expect(isReviewAction('confirm')).toBe(false);
    expect(runIdOfReviewId(id)).toBeNull();
    expect(runIdOfReviewId('0000000000000000')).toBeNull();
    expect(() => reviewCallbackId(0)).toThrow(RangeError);
  });

  it('refuses an Approve turned into a Reject, or moved to another run (the tag covers both)', () => {
    const data = encodeCallback(key, 'approve', reviewCallbackId(9_000_001_234));
    expect(decodeCallback(key, `r${data.slice(1)}`)).toEqual({ ok: false, reason: 'bad_tag' });
    const moved = data.replace(reviewCallbackId(9_000_001_234), reviewCallbackId(9_000_001_235));
    expect(decodeCallback(key, moved)).toEqual({ ok: false, reason: 'bad_tag' });
  });
});
