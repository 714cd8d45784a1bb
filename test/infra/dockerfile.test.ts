import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './find-tool.ts';

const source = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
const dockerfile = DockerfileParser.parse(source);
const froms = dockerfile.getFROMs();
const lastFrom = froms.at(-1);
/** Instructions of the final stage (what runs in production). */
const finalStage = dockerfile
  .getInstructions()
  .filter((i) => lastFrom !== undefined && i.getRange().start.line >= lastFrom.getRange().start.line);
const args = (i: Instruction) => (i.getArgumentsContent() ?? '').replace(/\\\n\s*/g, ' ').trim();
const ofKind = (keyword: string, within: readonly Instruction[] = dockerfile.getInstructions()) =>
  within.filter((i) => i.getKeyword() === keyword);

/** The exec-form command of the final HEALTHCHECK. */
function healthcheckCommand(): string[] {
  const [healthcheck] = ofKind('HEALTHCHECK', finalStage);
  const json = /\bCMD\s+(\[.*\])\s*$/s.exec(args(healthcheck as Instruction))?.[1];
  if (json === undefined) throw new Error('HEALTHCHECK has no exec-form CMD [...]');
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === 'string')) throw new Error('bad CMD');
  return parsed;
}

describe('Dockerfile', () => {
  it('passes dockerfile-utils validation without a diagnostic', () => {
    expect(validate(source).map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  });

  it('the check can fail: a broken Dockerfile has diagnostics', () => {
    expect(validate('FROM node:24-bookworm-slim\nHEALTHCHECK CMD\nUSER\n').length).toBeGreaterThan(0);
  });

  it('is multi-stage on a Node 24 slim base pinned by tag', () => {
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) {
      if (from.getImageName() !== 'node') continue; // FROM <earlier stage>
      expect(from.getImageTag()).toMatch(/^24(\.\d+)*-(bookworm|trixie)-slim$/);
    }
    expect(froms.some((f) => f.getImageName() === 'node')).toBe(true);
    expect(lastFrom?.getImageName()).toBe('node');
  });

  it('installs production dependencies only', () => {
    const runs = ofKind('RUN').map(args);
    expect(runs.some((r) => /\bnpm ci\b.*--omit=dev/.test(r))).toBe(true);
    expect(runs.some((r) => /\bnpm (install|i)\b/.test(r))).toBe(false);
  });

  it('runs as a non-root user', () => {
    const users = ofKind('USER', finalStage).map(args);
    expect(users.length).toBeGreaterThan(0);
    const user = users.at(-1) ?? '';
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(user).toBe('node');
    // Nothing after USER may switch back.
    const lastUserLine = ofKind('USER', finalStage).at(-1)?.getRange().start.line ?? 0;
    expect(
      finalStage.filter((i) => i.getRange().start.line > lastUserLine && i.getKeyword() === 'USER'),
    ).toEqual([]);
  });

  it('keeps data in a volume at /app/data and starts the bot', () => {
    expect(ofKind('WORKDIR', finalStage).map(args)).toContain('/app');
    expect(ofKind('VOLUME', finalStage).map(args).join(' ')).toContain('/app/data');
    const cmd = ofKind('CMD', finalStage).map(args);
    expect(cmd).toHaveLength(1);
    expect(JSON.parse(cmd[0] ?? 'null')).toEqual(['node', '--max-semi-space-size=2', 'dist/cli.js', 'serve']);
    // dist/ is built in a stage of its own from src/ and copied in; the sources are not shipped.
    expect(source).toMatch(/^COPY --from=build \/app\/dist \.\/dist$/m);
    expect(ofKind('COPY', finalStage).map(args)).not.toContain('src ./src');
    expect(ofKind('RUN').map(args)).toContain('node tools/build-dist.ts --src src --out dist');
  });

  it('the commands the docs give to run in the container name the script the image ships', () => {
    const [script] = (JSON.parse(args(ofKind('CMD', finalStage)[0] as Instruction)) as string[]).filter((a) =>
      a.endsWith('cli.js'),
    );
    expect(script).toBe('dist/cli.js');
    const texts = [
      'README.md',
      '.env.example',
      ...readdirSync(path.join(REPO_ROOT, 'docs')).map((f) => `docs/${f}`),
    ];
    let commands = 0;
    for (const file of texts.filter((f) => /\.md$|\.env\.example$/.test(f))) {
      const text = readFileSync(path.join(REPO_ROOT, file), 'utf8');
      // `docker compose run --rm bot node <script> …` and `docker compose exec bot node <script> …`.
      for (const [, named] of text.matchAll(/docker compose (?:run --rm|exec) bot\s+node (\S+)/g)) {
        commands++;
        expect(named, file).toBe(script);
      }
    }
    expect(commands).toBeGreaterThan(3);
  });

  it('has no secret in an ARG or ENV', () => {
    const secretish = /(TOKEN|SECRET|PASSWORD|PASSWD|PRIVATE|CREDENTIAL|API_?KEY|_KEY\b)/i;
    const declared = [...dockerfile.getARGs(), ...dockerfile.getENVs()].flatMap((i) =>
      i.getProperties().map((p) => p.getName()),
    );
    expect(declared.length).toBeGreaterThan(0);
    for (const name of declared) expect(name).not.toMatch(secretish);
    expect(source).not.toMatch(/--mount=type=secret|npm_config__auth/i);
  });

  it('health check uses node fetch on /healthz (the slim image has no curl)', () => {
    const cmd = healthcheckCommand();
    expect(cmd[0]).toBe('node');
    expect(cmd.join(' ')).toContain('/healthz');
    expect(cmd.join(' ')).not.toMatch(/curl|wget/);
  });

  it('.dockerignore keeps secrets, state and tooling out of the build context', () => {
    const ignored = readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim());
    for (const entry of ['node_modules', '.git', 'data', 'test', 'terraform', '.env', '.env.*']) {
      expect(ignored).toContain(entry);
    }
    expect(ignored).not.toContain('src');
  });
});

describe('the HEALTHCHECK command, run against a local server', () => {
  let status = 200;
  let server: Server;
  let port = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      res.statusCode = req.url === '/healthz' ? status : 404;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    if (!server.listening) return; // the last test closes it
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** Exit code of the image's health check command, run with this Node against 127.0.0.1. */
  const probe = () =>
    new Promise<number | null>((resolve, reject) => {
      const [command, ...rest] = healthcheckCommand();
      expect(command).toBe('node');
      const child = spawn(process.execPath, rest, { env: { PORT: String(port) }, timeout: 10_000 });
      child.on('error', reject);
      child.on('exit', (code) => resolve(code));
    });

  it('exits 0 when /healthz answers 200', async () => {
    status = 200;
    expect(await probe()).toBe(0);
  });

  it('exits 1 when /healthz answers 503', async () => {
    status = 503;
    expect(await probe()).toBe(1);
  });

  it('exits 1 when nothing listens', async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(await probe()).toBe(1);
  });
});
