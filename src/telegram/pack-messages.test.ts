import { describe, expect, it } from 'vitest';
import { packMessages } from './pack-messages.ts';

const block = (name: string, lines: number) =>
  [`📦 <b>${name}</b>`, ...Array.from({ length: lines }, (_, i) => `line ${i} of <code>${name}</code>`)].join(
    '\n',
  );

describe('packMessages', () => {
  it('keeps blocks that fit together in one message, as they were joined before', () => {
    expect(packMessages(['a', 'b', 'c'])).toEqual(['a\n\nb\n\nc']);
    expect(packMessages([])).toEqual([]);
    expect(packMessages(['', 'x', ''])).toEqual(['x']);
  });

  it('fifty services: every message within the limit, nothing lost, order kept, blocks whole', () => {
    const blocks = Array.from({ length: 50 }, (_, i) => block(`service-${i}`, 12));
    const messages = packMessages(blocks);
    expect(messages.length).toBeGreaterThan(1);
    for (const m of messages) expect(m.length).toBeLessThanOrEqual(4000);
    expect(messages.join('\n\n')).toBe(blocks.join('\n\n'));
    // No block is cut in two when it fits in a message of its own.
    for (const b of blocks) expect(messages.some((m) => m.includes(b))).toBe(true);
  });

  it('splits a block longer than one message between its lines, never inside one', () => {
    const huge = block('monolith', 400);
    const messages = packMessages(['before', huge, 'after'], 1000);
    for (const m of messages) expect(m.length).toBeLessThanOrEqual(1000);
    expect(messages[0]).toBe('before');
    expect(messages.at(-1)?.endsWith('after')).toBe(true);
    const lines = messages.flatMap((m) => m.split('\n')).filter((l) => l !== '');
    expect(lines).toEqual(['before', ...huge.split('\n'), 'after']);
  });

  it('sends a single line longer than the limit alone and whole rather than cutting a tag', () => {
    const long = `<b>${'x'.repeat(50)}</b>`;
    expect(packMessages(['a', `${long}\nb`], 20)).toEqual(['a', long, 'b']);
  });
});
