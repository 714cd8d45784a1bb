import { autoRetry } from '@grammyjs/auto-retry';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import { Api } from 'grammy';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeGitHub, startFakeGitHub } from './github-api.ts';
import { GITHUB_ROUTE } from './github-faults.ts';
import { type FakeTelegram, startFakeTelegram } from './telegram-api.ts';

// The clients the bot uses read the faults as they read the real services' failures.

const TOKEN = 'ghp_clients_0123456789abcdef';
const TG_TOKEN = '123456:CLIENTS-token_value';
const repo = { owner: 'acme', repo: 'shop' };
let gh: FakeGitHub | undefined;
let tg: FakeTelegram | undefined;

afterEach(async () => {
  await gh?.close();
  await tg?.close();
  gh = undefined;
  tg = undefined;
});

function octokit(url: string, seen: Array<[string, number]>) {
  const Client = Octokit.plugin(throttling, retry);
  return new Client({
    auth: TOKEN,
    baseUrl: url,
    log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    retry: { retryAfterBaseValue: 1 },
    throttle: {
      retryAfterBaseValue: 1,
      onRateLimit: (after: number) => {
        seen.push(['primary', after]);
        return seen.length < 2;
      },
      onSecondaryRateLimit: (after: number) => {
        seen.push(['secondary', after]);
        return seen.length < 2;
      },
    },
  });
}

describe('the bot’s clients against injected faults', () => {
  it('@octokit/plugin-throttling takes the primary limit for one, with the reset from the header', async () => {
    gh = await startFakeGitHub({ ...repo, token: TOKEN });
    gh.faults.primaryRateLimit({ route: GITHUB_ROUTE.getRepo, resetInSeconds: 1 });
    const seen: Array<[string, number]> = [];
    const { data } = await octokit(gh.url, seen).rest.repos.get(repo);
    expect(data.full_name).toBe('acme/shop');
    expect(seen).toHaveLength(1);
    expect(seen[0]?.[0]).toBe('primary');
    expect(seen[0]?.[1]).toBeGreaterThanOrEqual(1);
    expect(seen[0]?.[1]).toBeLessThanOrEqual(2);
  });

  it('@octokit/plugin-throttling takes the secondary limit for one, with retry-after', async () => {
    gh = await startFakeGitHub({ ...repo, token: TOKEN });
    gh.faults.secondaryRateLimit({ status: 429, retryAfter: 0 });
    gh.faults.secondaryRateLimit({ status: 403, retryAfter: 7 });
    const seen: Array<[string, number]> = [];
    await expect(octokit(gh.url, seen).rest.repos.get(repo)).rejects.toMatchObject({ status: 403 });
    expect(seen.map(([kind]) => kind)).toEqual(['secondary', 'secondary']);
    expect(seen[1]?.[1]).toBe(7);
  });

  it('@octokit/plugin-retry retries a 502 dispatch: with after, the workflow ran twice', async () => {
    gh = await startFakeGitHub({ ...repo, token: TOKEN, workflowInputs: {} });
    gh.faults.serverError({ route: GITHUB_ROUTE.dispatch, status: 502, after: true });
    const client = octokit(gh.url, []);
    await client.rest.actions.createWorkflowDispatch({ ...repo, workflow_id: 'deploy.yml', ref: 'main' });
    expect(gh.runs.list()).toHaveLength(2);
    expect(gh.requests.map((r) => r.status)).toEqual([502, 204]);
  });

  it('grammY with auto-retry waits out an injected 429 and gets through', async () => {
    tg = await startFakeTelegram({ token: TG_TOKEN });
    tg.faults.tooManyRequests({ method: 'sendMessage', retryAfter: 1 });
    const api = new Api(TG_TOKEN, { apiRoot: tg.url });
    api.config.use(autoRetry());
    const started = Date.now();
    const sent = await api.sendMessage(5, 'hello');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(sent.text).toBe('hello');
    expect(tg.calls.map((c) => c.response.status)).toEqual([429, 200]);
    expect(tg.retryAfterViolations).toBe(0);
  });

  it('grammY reports nginx’s 502 page and a reset as errors, not as a Bot API result', async () => {
    tg = await startFakeTelegram({ token: TG_TOKEN });
    const api = new Api(TG_TOKEN, { apiRoot: tg.url });
    tg.faults.badGateway({ method: 'sendMessage', after: true });
    await expect(api.sendMessage(5, 'a')).rejects.toThrow();
    tg.faults.connectionReset({ method: 'sendMessage' });
    await expect(api.sendMessage(5, 'b')).rejects.toThrow(/Network request/);
    expect(tg.messages(5).map((m) => m.text)).toEqual(['a']);
  });
});
