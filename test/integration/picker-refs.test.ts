import { afterEach, describe, expect, it } from 'vitest';
import { ADA, buttonData, eventually, type Harness, pickerRefStep, startHarness } from '../harness.ts';

// The picker's second step offers the newest refs the rules allow. GitHub lists branches and tags
// by name, 100 of each, with no dates: a repository's dependabot branches come first in that list
// whatever their age, so the newest push must be found by the commits' dates, not by the list.
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const commitLookups = (harness: Harness) =>
  harness.github.requests.filter((r) => r.operationId === 'repos/get-commit').length;

/** `/deploy`, then the `staging` target: the labels of the ref buttons, in order. */
async function refButtons(harness: Harness): Promise<string[]> {
  const before = harness.botMessages(ADA.id).length;
  await harness.say(ADA, '/deploy');
  const picker = await eventually(
    () =>
      harness
        .botMessages(ADA.id)
        .slice(before)
        .find((m) => m.text.includes('Pick a target')),
    15_000,
    'picker',
  );
  await harness.press(ADA, picker.message_id, buttonData(picker, 'staging'));
  const refs = await pickerRefStep(harness, ADA.id, picker.message_id);
  return refs.reply_markup?.inline_keyboard.flat().map((b) => b.text) ?? [];
}

describe('the picker in a repository with many branches', () => {
  it('offers the newest push first, past forty older branches that sort before it by name', async () => {
    h = await startHarness();
    const { repo, state } = h.github;
    for (let i = 0; i < 40; i++) {
      repo.commit({ branch: `dependabot/npm/pkg-${String(i).padStart(2, '0')}`, message: `Bump pkg ${i}` });
      state.advanceClock(60_000);
    }
    state.advanceClock(3_600_000);
    const tagged = repo.commit({ branch: 'main', message: 'Release 9.9' });
    repo.tag('v9.9.0', tagged);
    state.advanceClock(3_600_000);
    repo.commit({ branch: 'zz/fresh-fix', message: 'The fix pushed a minute ago' });

    const labels = await refButtons(h);
    expect(labels[0]).toBe('🌿 zz/fresh-fix');
    expect(labels.slice(1, 3).sort()).toEqual(['🌿 main', '🏷 v9.9.0']);
    expect(labels).toHaveLength(8);
    expect(labels.slice(3).every((l) => l.startsWith('🌿 dependabot/npm/pkg-3'))).toBe(true);

    // Each commit's date is asked for once: the next picker costs no lookup, a new push one.
    const lookups = commitLookups(h);
    expect(await refButtons(h)).toEqual(labels);
    expect(commitLookups(h)).toBe(lookups);
    state.advanceClock(60_000);
    repo.commit({ branch: 'zz/fresh-fix', message: 'And a second fix' });
    expect((await refButtons(h))[0]).toBe('🌿 zz/fresh-fix');
    expect(commitLookups(h)).toBe(lookups + 1);
  }, 60_000);

  it('a GitHub that fails every commit lookup: the refs still come, undated, each lookup sent once', async () => {
    h = await startHarness();
    const { repo } = h.github;
    for (let i = 0; i < 12; i++) repo.commit({ branch: `feature/f-${i}`, message: `Feature ${i}` });
    h.github.faults.serverError({ route: 'repos/get-commit', status: 502, times: Number.POSITIVE_INFINITY });
    const labels = await refButtons(h);
    expect(labels).toHaveLength(8);
    // The same refs undated, by name: offered, not lost.
    expect(labels[0]).toBe('🌿 develop');
    // No retries (5xx are retried elsewhere, (n+1)² s apart): one lookup per distinct commit.
    const shas = new Set(
      h.github.requests.filter((r) => r.operationId === 'repos/get-commit').map((r) => r.path),
    );
    expect(commitLookups(h)).toBe(shas.size);
  }, 60_000);
});
