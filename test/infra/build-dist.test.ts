import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDist } from '../../tools/build-dist.ts';
import { type FakeGitHub, startFakeGitHub } from '../fakes/github-api.ts';
import { type FakeTelegram, startFakeTelegram } from '../fakes/telegram-api.ts';
import { eventually, fakesEnv, GITHUB_TOKEN, TELEGRAM_TOKEN } from '../harness.ts';
import { REPO_ROOT } from './find-tool.ts';

// Inside the clone, so the built files find node_modules as the image's /app/dist does.
const out = join(REPO_ROOT, '.tmp', `dist-test-${process.pid}`);
const scratch = mkdtempSync(join(tmpdir(), 'deploybot-build-'));

/** A port nothing listens on now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

afterAll(() => {
  rmSync(out, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
});

describe('npm run build (tools/build-dist.ts)', () => {
  let result: ReturnType<typeof buildDist>;
  beforeAll(() => {
    result = buildDist(join(REPO_ROOT, 'src'), out);
  });

  it('strips every source file but the tests, rewriting relative specifiers to .js, lines kept', () => {
    expect(result.problems).toEqual([]);
    expect(result.files).toBeGreaterThan(100);
    const cli = readFileSync(join(out, 'cli.js'), 'utf8');
    expect(cli).toMatch(/await import\('\.\/main\.js'\)/);
    expect(cli).not.toMatch(/from '\.{1,2}\/[^']*\.ts'/);
    // Blanked in place: the same number of lines as the source, so stack traces point at it.
    const source = readFileSync(join(REPO_ROOT, 'src', 'cli.ts'), 'utf8');
    expect(cli.split('\n')).toHaveLength(source.split('\n').length);
    expect(() => readFileSync(join(out, 'core', 'ref.test.js'))).toThrow();
  });

  it('refuses what needs more than stripping, and a specifier the build does not hold', () => {
    mkdirSync(join(scratch, 'src'), { recursive: true });
    writeFileSync(join(scratch, 'src', 'enum.ts'), 'export enum Colour { Red }\n');
    writeFileSync(join(scratch, 'src', 'lost.ts'), "export { x } from './missing.ts';\n");
    const { problems } = buildDist(join(scratch, 'src'), join(scratch, 'dist'));
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^enum\.ts: .*(enum|TypeScript)/i);
    expect(problems[1]).toBe('lost.js: imports ./missing.js, which is not in the build');
  });

  it('refuses an output folder that would hold or be the sources, and deletes nothing', () => {
    mkdirSync(join(scratch, 'keep', 'src'), { recursive: true });
    writeFileSync(join(scratch, 'keep', 'src', 'a.ts'), 'export const a = 1;\n');
    for (const out of ['keep/src', 'keep', '.', 'keep/src/dist']) {
      const { files, problems } = buildDist(join(scratch, 'keep', 'src'), join(scratch, out));
      expect(files, out).toBe(0);
      expect(problems[0], out).toMatch(/overlaps --src .*: refusing to empty it$/);
    }
    expect(readFileSync(join(scratch, 'keep', 'src', 'a.ts'), 'utf8')).toBe('export const a = 1;\n');
  });

  describe('the built bot', () => {
    let telegram: FakeTelegram;
    let github: FakeGitHub;
    let child: ChildProcess | undefined;
    afterAll(async () => {
      child?.kill('SIGTERM');
      await telegram?.close();
      await github?.close();
    });

    it('starts with `node dist/cli.js serve` and answers /readyz 200', async () => {
      expect(result.problems).toEqual([]);
      telegram = await startFakeTelegram({ token: TELEGRAM_TOKEN });
      github = await startFakeGitHub({ owner: 'acme', repo: 'shop', token: GITHUB_TOKEN });
      const port = await freePort();
      let stderr = '';
      child = spawn(process.execPath, ['--max-semi-space-size=2', join(out, 'cli.js'), 'serve'], {
        env: {
          PATH: process.env.PATH ?? '',
          ...fakesEnv(telegram.url, github.url),
          DATABASE_URL: join(scratch, 'bot.sqlite'),
          AUDIT_LOG_PATH: join(scratch, 'audit.jsonl'),
          HOST: '127.0.0.1',
          PORT: String(port),
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const ready = await eventually(
        async () => {
          const response = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null);
          return response?.status === 200 ? response : undefined;
        },
        20_000,
        'readyz of the built bot',
      ).catch((error: unknown) => {
        throw new Error(`${String(error)}; its stderr: ${stderr}`);
      });
      expect(await ready.json()).toMatchObject({ ready: true });
    }, 30_000);
  });
});
