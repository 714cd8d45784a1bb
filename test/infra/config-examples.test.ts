import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigFile } from '../../src/config-file.ts';

// A user copies these examples into DEPLOYBOT_CONFIG first: each must load as it is printed, with
// the start-up checks a real file gets (unknown keys, ref rules, windows, services).
const ROOT = join(import.meta.dirname, '..', '..');
const DOCS = ['README.md', 'docs/configuration.md', 'docs/commands.md'];

/** Every ```yaml block of `file` that is a whole DEPLOYBOT_CONFIG file (a top-level `environments:` or `services:`). */
function configExamples(file: string): Array<{ where: string; text: string }> {
  const markdown = readFileSync(join(ROOT, file), 'utf8');
  return [...markdown.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].flatMap((match) => {
    const text = match[1] ?? '';
    if (!/^(environments|services):/m.test(text)) return [];
    const line = markdown.slice(0, match.index).split('\n').length;
    return [{ where: `${file}:${line}`, text }];
  });
}

const examples = DOCS.flatMap(configExamples);

describe('the DEPLOYBOT_CONFIG examples in the docs', () => {
  it('are found (README, configuration.md, commands.md)', () => {
    expect(examples.map((e) => e.where.split(':')[0])).toEqual(expect.arrayContaining(DOCS));
    expect(examples.some((e) => /^services:/m.test(e.text))).toBe(true);
  });

  it.each(examples)('$where loads without a problem', ({ where, text }) => {
    const result = parseConfigFile({ path: `${where}.yml`, text }, {});
    expect(result.ok ? [] : result.problems).toEqual([]);
  });

  it('a broken copy of an example is refused with its path (the check can fail)', () => {
    const services = examples.find((e) => /^services:/m.test(e.text));
    if (!services) throw new Error('no services example');
    const broken = services.text.replace('deployers:', 'deployer:');
    const result = parseConfigFile({ path: 'broken.yml', text: broken }, {});
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.problems.join('\n')).toMatch(/deployer/);
  });
});
