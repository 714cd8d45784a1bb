import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, redactSecrets } from './logger.ts';

const TOKEN = `123456789:${'AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw'}x`;
const PEM = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----';

function memory(): { stream: Writable; lines: () => string[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { stream, lines: () => chunks.join('').split('\n').filter(Boolean) };
}

describe('createLogger', () => {
  it('removes the bot token from an error message, its stack and a URL', () => {
    const out = memory();
    const logger = createLogger({ level: 'info', secrets: [TOKEN], destination: out.stream });
    const url = `https://api.telegram.org/bot${TOKEN}/sendMessage`;
    const error = new Error(`request to ${url} failed`);
    logger.error({ err: error, url }, `call failed: ${url}`);
    logger.error(error);
    const text = out.lines().join('\n');
    expect(out.lines()).toHaveLength(2);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(TOKEN.split(':')[1]);
    expect(text).toContain('https://api.telegram.org/bot[redacted]/sendMessage');
    // The stack was logged (and redacted), not dropped.
    const first = JSON.parse(out.lines()[0] ?? '{}');
    expect(first.err.stack).toContain('[redacted]');
    // Every line stays valid JSON after the replacement.
    for (const line of out.lines()) expect(() => JSON.parse(line)).not.toThrow();
  });

  it('removes a multi-line secret in its JSON-escaped form', () => {
    const out = memory();
    const logger = createLogger({ level: 'info', secrets: [PEM], destination: out.stream });
    logger.info({ detail: `key is ${PEM}` }, 'loaded');
    const line = out.lines()[0] ?? '';
    expect(line).not.toContain('MIIEvQIBADANBgkqhkiG9w0BAQEFAASC');
    expect(JSON.parse(line).detail).toBe('key is [redacted]');
  });

  it('censors credential keys even when the value is not a known secret', () => {
    const out = memory();
    const logger = createLogger({ level: 'debug', secrets: [], destination: out.stream });
    logger.debug({
      token: 'tok-1',
      auth: { token: 'tok-2', privateKey: 'pk', password: 'pw', secret: 's' },
      headers: { authorization: 'Bearer abc' },
      req: { headers: { 'x-telegram-bot-api-secret-token': 'hdr', authorization: 'Bearer def' } },
    });
    const line = out.lines()[0] ?? '';
    for (const value of ['tok-1', 'tok-2', '"pk"', '"pw"', '"s"', 'Bearer abc', 'hdr', 'Bearer def']) {
      expect(line).not.toContain(value);
    }
    const parsed = JSON.parse(line);
    expect(parsed.req.headers['x-telegram-bot-api-secret-token']).toBe('[redacted]');
    expect(parsed.auth.privateKey).toBe('[redacted]');
  });

  it('redacts in child loggers and in bindings too', () => {
    const out = memory();
    const logger = createLogger({ level: 'info', secrets: [TOKEN], destination: out.stream });
    logger.child({ component: `bot ${TOKEN}` }).info(`sent with ${TOKEN}`);
    const line = out.lines()[0] ?? '';
    expect(line).not.toContain(TOKEN);
    expect(JSON.parse(line)).toMatchObject({ component: 'bot [redacted]', msg: 'sent with [redacted]' });
  });

  it('honours the level', () => {
    const out = memory();
    const logger = createLogger({ level: 'warn', secrets: [], destination: out.stream });
    logger.info('hidden');
    logger.warn('shown');
    expect(out.lines().map((line) => JSON.parse(line).msg)).toEqual(['shown']);
  });
});

describe('redactSecrets', () => {
  it('replaces every occurrence, longest secret first', () => {
    expect(redactSecrets(`a ${TOKEN} b ${TOKEN}`, [TOKEN])).toBe('a [redacted] b [redacted]');
    expect(redactSecrets('abcdef', ['abc', 'abcdef'])).toBe('[redacted]');
    expect(redactSecrets('x.y', ['.'])).toBe('x[redacted]y');
  });

  it('leaves text alone without secrets and ignores empty ones', () => {
    expect(redactSecrets('nothing here', [])).toBe('nothing here');
    expect(redactSecrets('nothing here', [''])).toBe('nothing here');
  });

  it('does not re-redact inside its own replacement', () => {
    expect(redactSecrets('token red', ['red', 'token'])).toBe('[redacted] [redacted]');
  });

  it("censors linked accounts' tokens by key and by shape, though the logger never knew them", () => {
    const out = memory();
    const logger = createLogger({ level: 'info', secrets: [], destination: out.stream });
    const user = 'ghu_16C7e42F292c6912E7710c838347Ae178B4a';
    const refresh = 'ghr_1B4a2e77838347a7E420ce178F2E7c6912E169246c34E1ccbF66C46812d16D5B1A9Dc86A1498';
    logger.info(
      { account: { accessToken: 'opaque-1', refreshToken: 'opaque-2', deviceCode: 'opaque-3' } },
      'linked',
    );
    logger.warn({ err: new Error(`GitHub refused ${user} (refresh ${refresh})`) }, `token ${user}`);
    const text = out.lines().join('\n');
    for (const secret of [user, refresh, 'opaque-1', 'opaque-2', 'opaque-3'])
      expect(text).not.toContain(secret);
    for (const line of out.lines()) expect(() => JSON.parse(line)).not.toThrow();
  });
});
