import { describe, expect, it } from 'vitest';
import { decodeCallback, deriveCallbackKey, encodeCallback, isPickCallback } from './callback-data.ts';
import { findByHash, nameHash, PICK_REF_HASH, parsePickId, pickId } from './picker.ts';

const key = deriveCallbackKey('123:abc');

describe('picker button ids', () => {
  it('fit a signed payload under 64 bytes, and read back', () => {
    const longest = 'a'.repeat(32);
    for (const choice of [
      { step: 'target' as const, service: longest, environment: longest },
      { step: 'ref' as const, service: longest, environment: longest, ref: `release/${'x'.repeat(190)}` },
    ]) {
      const data = encodeCallback(key, 'pick', pickId(choice));
      expect(Buffer.byteLength(data)).toBeLessThanOrEqual(64);
      expect(isPickCallback(data)).toBe(true);
      const decoded = decodeCallback(key, data);
      expect(decoded.ok && decoded.action === 'pick' && parsePickId(decoded.id)?.step).toBe(choice.step);
    }
  });

  it('names choices by hash, so a changed list finds the same name or nothing', () => {
    const id = parsePickId(pickId({ step: 'ref', service: 'shop', environment: 'staging', ref: 'v1.2.0' }));
    expect(id).toMatchObject({ step: 'ref', service: nameHash('shop'), environment: nameHash('staging') });
    const refs = ['main', 'v1.2.0', 'develop'];
    expect(findByHash(refs, (r) => r, id?.ref ?? '', PICK_REF_HASH)).toBe('v1.2.0');
    expect(findByHash(['main', 'develop'], (r) => r, id?.ref ?? '', PICK_REF_HASH)).toBeUndefined();
    expect(parsePickId('not-a-pick-id-at-all')).toBeNull();
  });
});
