import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../..');
const DEPCRUISE = join(ROOT, 'node_modules/.bin/depcruise');

/** Runs the repo's import rules over a small tree of files; returns the exit code and the report. */
async function cruise(dir: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(
      DEPCRUISE,
      ['--config', '.dependency-cruiser.cjs', '--output-type', 'err', 'src'],
      {
        cwd: dir,
      },
    );
    return { code: 0, out: stdout };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, out: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

/** A tree shaped like src/ whose files import only what the layers allow. */
const CLEAN: Record<string, string> = {
  'src/core/rule.ts': 'export const rule = 1;\n',
  'src/config.ts': "import { rule } from './core/rule.ts';\nexport const config = rule;\n",
  'src/store/store.ts': "import { rule } from '../core/rule.ts';\nexport const store = rule;\n",
  'src/github/client.ts': "import { config } from '../config.ts';\nexport const client = config;\n",
  'src/deploy/use-case.ts':
    "import { client } from '../github/client.ts';\nimport { store } from '../store/store.ts';\nexport const useCase = client + store;\n",
  'src/telegram/command.ts':
    "import { useCase } from '../deploy/use-case.ts';\nexport const command = useCase;\n",
  'src/http/app.ts': 'export const app = 1;\n',
  'src/main.ts':
    "import { command } from './telegram/command.ts';\nimport { app } from './http/app.ts';\nexport const main = command + app;\n",
  'src/cli.ts': "import { main } from './main.ts';\nexport const cli = main;\n",
  'test/helper.ts': 'export const helper = 1;\n',
};

/** One broken rule each: the file to add and the rule that must catch it. */
const BREAKS: Array<[string, string, string]> = [
  [
    'core-is-a-leaf',
    'src/core/bad.ts',
    "import type { config } from '../config.ts';\nexport type Bad = typeof config;\n",
  ],
  [
    'config-builds-on-core',
    'src/config-file.ts',
    "import { store } from './store/store.ts';\nexport const f = store;\n",
  ],
  [
    'store-is-an-adapter',
    'src/store/bad.ts',
    "import { client } from '../github/client.ts';\nexport const b = client;\n",
  ],
  [
    'github-is-an-adapter',
    'src/github/bad.ts',
    "import { useCase } from '../deploy/use-case.ts';\nexport const b = useCase;\n",
  ],
  [
    'deploy-uses-adapters-not-transports',
    'src/deploy/bad.ts',
    "import { command } from '../telegram/command.ts';\nexport const b = command;\n",
  ],
  [
    'telegram-renders-use-cases',
    'src/telegram/bad.ts',
    "import { client } from '../github/client.ts';\nexport const b = client;\n",
  ],
  [
    'http-is-transport-only',
    'src/http/bad.ts',
    "import { useCase } from '../deploy/use-case.ts';\nexport const b = useCase;\n",
  ],
  [
    'only-cli-starts-the-service',
    'src/telegram/bad.ts',
    "import { main } from '../main.ts';\nexport const b = main;\n",
  ],
  [
    'src-ships-alone',
    'src/store/bad.ts',
    "import { helper } from '../../test/helper.ts';\nexport const b = helper;\n",
  ],
  [
    'no-cycles',
    'src/core/rule.ts',
    "import { other } from './other.ts';\nexport const rule = 1;\nexport const o = other;\n",
  ],
];

let base: string;
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'deploybot-import-rules-'));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

async function tree(name: string, extra: Record<string, string> = {}): Promise<string> {
  const dir = join(base, name);
  const files: Record<string, string> = { ...CLEAN, ...extra };
  if (name === 'no-cycles')
    files['src/core/other.ts'] = "import { rule } from './rule.ts';\nexport const other = rule;\n";
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  await copyFile(join(ROOT, '.dependency-cruiser.cjs'), join(dir, '.dependency-cruiser.cjs'));
  await copyFile(join(ROOT, 'tsconfig.json'), join(dir, 'tsconfig.json'));
  return dir;
}

describe('the import rules (npm run lint:deps)', () => {
  it('pass on the real src/', async () => {
    const result = await cruise(ROOT);
    expect(result.out).toContain('no dependency violations found');
    expect(result.code).toBe(0);
  });

  it('pass on a tree that keeps to the layers', async () => {
    const result = await cruise(await tree('clean'));
    expect(result.out).toContain('no dependency violations found');
    expect(result.code).toBe(0);
  });

  it.each(BREAKS)('fail when %s is broken (%s)', async (rule, path, text) => {
    const result = await cruise(await tree(rule, { [path]: text }));
    expect(result.code).not.toBe(0);
    expect(result.out).toContain(`error ${rule}:`);
  });
});
