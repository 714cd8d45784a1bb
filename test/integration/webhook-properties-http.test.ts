import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCallback } from '../../src/core/callback-data.ts';
import { signWebhook } from '../fakes/github-webhooks.ts';
import { buildChat, buildTextMessage, callbackQueryUpdate, type Person } from '../fakes/telegram-updates.ts';
import {
  ADA,
  buttonData,
  EVE,
  eventually,
  GITHUB_SECRET,
  type Harness,
  SAM,
  startHarness,
} from '../harness.ts';

// Issue #10, property-based over HTTP against the whole service: arbitrary update shapes, callback
// data and signed GitHub payloads never crash it, never act without the secret or signature, never
// dispatch from a button that is not the requester's own, and every valid input is answered.

const RUNS = 80;
let h: Harness;
let nextUpdateId = 900_000;

beforeAll(async () => {
  h = await startHarness({
    telegram: { limits: { enabled: false } },
    service: { outbox: { privateIntervalMs: 0, groupIntervalMs: 0 } },
  });
});
afterAll(async () => {
  await h?.close();
});

const dispatchPosts = () =>
  h.github.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/dispatches'));
const healthy = async () => (await fetch(`${h.service.url}/healthz`)).status === 200;

const person: fc.Arbitrary<Person | undefined> = fc.oneof(
  fc.constantFrom<Person | undefined>(ADA, SAM, EVE, undefined),
  fc.record({ id: fc.integer({ min: 1, max: 2 ** 40 }), first_name: fc.string({ maxLength: 20 }) }),
);
const commandText = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 200 }),
  fc
    .tuple(
      fc.constantFrom(
        '/deploy',
        '/cancel',
        '/lock',
        '/unlock',
        '/rollback',
        '/history',
        '/help',
        '/whoami',
        '/nope',
      ),
      fc.array(
        fc.oneof(
          fc.constantFrom('production', '--force', '999999', '-1', '2h'),
          fc.string({ maxLength: 30 }),
        ),
        {
          maxLength: 4,
        },
      ),
    )
    .map(([command, args]) => [command, ...args].join(' ')),
);
const chatId = fc.oneof(fc.integer({ min: 1, max: 2 ** 40 }), fc.integer({ min: -(2 ** 40), max: -1 }));

/** Updates shaped like Telegram's, with odd texts, senders, chats, and kinds the bot does not handle. */
const update = fc.oneof(
  fc.tuple(commandText, person, chatId).map(([text, from, chat]) => ({
    update_id: nextUpdateId++,
    message: buildTextMessage({
      messageId: 1,
      chat: buildChat(chat, chat < 0 ? 'group' : 'private', from),
      ...(from ? { from } : {}),
      text,
      date: 1_700_000_000,
    }),
  })),
  fc.tuple(fc.string({ maxLength: 70 }), person, chatId).map(([data, from, chat]) =>
    callbackQueryUpdate(nextUpdateId++, {
      queryId: String(nextUpdateId),
      from: from ?? EVE,
      data,
      message: buildTextMessage({ messageId: 5, chat: buildChat(chat), text: 'x', date: 1_700_000_000 }),
    }),
  ),
  fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }).map((rest) => ({
    ...rest,
    update_id: nextUpdateId++,
  })),
);

describe('the whole service against arbitrary input, over HTTP (issue #10)', () => {
  it('answers every update (200), stays up, and nothing acts without the secret', async () => {
    await fc.assert(
      fc.asyncProperty(update, fc.boolean(), async (u, rightSecret) => {
        const calls = h.telegram.calls.length;
        const response = await h.postUpdate(
          u,
          rightSecret ? undefined : 'wrong-secret-0123456789abcdefghijkl',
        );
        expect(response.status).toBe(rightSecret ? 200 : 401);
        if (!rightSecret) expect(h.telegram.calls.length).toBe(calls);
      }),
      { numRuns: RUNS },
    );
    expect(await healthy()).toBe(true);
  }, 120_000);

  it('a pending confirmation is dispatched by nothing but its own button pressed by its requester', async () => {
    // A service of its own: the updates above may have left requests open.
    await h.close();
    h = await startHarness({
      telegram: { limits: { enabled: false } },
      service: { outbox: { privateIntervalMs: 0, groupIntervalMs: 0 } },
    });
    h.github.repo.commit({ branch: 'main', message: 'Release candidate' });
    const earlier = h.botMessages(ADA.id).length;
    await h.say(ADA, '/deploy production');
    const confirm = await eventually(
      () =>
        h
          .botMessages(ADA.id)
          .slice(earlier)
          .find((m) => m.text.includes('Deploy to production')),
      15_000,
      'confirmation',
    );
    const valid = buttonData(confirm, 'Deploy');
    const [, id = '', tag = ''] = valid.split(':');
    const before = dispatchPosts().length;
    // Near misses of the button's data (a constant may happen to equal it: filtered below).
    const forged = fc.oneof(
      fc.string({ maxLength: 70 }),
      fc.constant(`c:${id}:${tag.slice(0, -1)}A`),
      fc.constant(`c:${id}:${tag.slice(1)}`),
      fc.constant(`c:${id.slice(0, -1)}B:${tag}`),
      fc.constant(encodeCallback(Buffer.alloc(32, 7), 'confirm', id)),
      fc
        .nat({ max: valid.length - 1 })
        .map((i) => valid.slice(0, i) + (valid[i] === 'a' ? 'b' : 'a') + valid.slice(i + 1)),
    );
    // The valid data itself, but from someone else, or on another message or chat.
    const misplaced = fc.tuple(
      fc.constantFrom(SAM, EVE),
      fc.constantFrom(ADA.id, SAM.id),
      fc.integer({ min: 1, max: 50 }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          forged.filter((data) => data !== valid).map((data) => ({ data, misplaced: null })),
          misplaced.map((m) => ({ data: valid, misplaced: m })),
        ),
        async ({ data, misplaced: where }) => {
          const from = where?.[0] ?? ADA;
          const chat = where?.[1] ?? ADA.id;
          const messageId = where
            ? where[2] === confirm.message_id
              ? where[2] + 1
              : where[2]
            : confirm.message_id;
          const u = callbackQueryUpdate(nextUpdateId++, {
            queryId: String(nextUpdateId),
            from,
            data,
            message: buildTextMessage({ messageId, chat: buildChat(chat), text: 'x', date: 1_700_000_000 }),
          });
          expect((await h.postUpdate(u)).status).toBe(200);
        },
      ),
      { numRuns: RUNS },
    );
    expect(dispatchPosts().length).toBe(before);
    // The requester's own press still works once, and only once.
    await h.press(ADA, confirm.message_id, valid);
    await eventually(() => dispatchPosts().length === before + 1, 15_000, 'the real dispatch');
  }, 120_000);

  it('GitHub: signed payloads of any shape are answered 200 or 400, unsigned ones 401, and it stays up', async () => {
    const run = fc.record(
      {
        id: fc.oneof(fc.nat(), fc.string()),
        name: fc.string({ maxLength: 20 }),
        path: fc.constantFrom('.github/workflows/deploy.yml', 'x', ''),
        display_title: fc.oneof(fc.string({ maxLength: 80 }), fc.constant('Deploy staging 0123 [abc]')),
        head_branch: fc.constantFrom('main', 'develop', 'evil'),
        event: fc.constantFrom('workflow_dispatch', 'push', 'pull_request'),
        status: fc.constantFrom('queued', 'in_progress', 'completed', 'weird'),
        conclusion: fc.constantFrom(null, 'success', 'failure', 'cancelled'),
      },
      { requiredKeys: [] },
    );
    const payload = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.record(
        {
          action: fc.constantFrom('requested', 'in_progress', 'completed', 'waiting', 'created'),
          repository: fc.oneof(
            fc.constant({ full_name: 'acme/shop', name: 'shop', owner: { login: 'acme' } }),
            fc.jsonValue(),
          ),
          workflow_run: run,
          workflow_job: fc.jsonValue({ maxDepth: 2 }),
          deployment_status: fc.jsonValue({ maxDepth: 2 }),
        },
        { requiredKeys: [] },
      ),
    );
    const event = fc.constantFrom('workflow_run', 'workflow_job', 'deployment_status', 'ping', 'push', 'x');
    await fc.assert(
      fc.asyncProperty(payload, event, fc.boolean(), fc.uuid(), async (p, name, signed, id) => {
        const body = JSON.stringify(p) ?? 'null';
        const response = await fetch(`${h.service.url}/github/webhook`, {
          method: 'POST',
          body,
          headers: {
            'content-type': 'application/json',
            'x-github-event': name,
            'x-github-delivery': id,
            'x-hub-signature-256': signWebhook(signed ? GITHUB_SECRET : 'not-the-secret', body),
          },
        });
        expect(response.status).toBe(signed ? 200 : 401);
      }),
      { numRuns: RUNS },
    );
    expect(await healthy()).toBe(true);
  }, 120_000);
});
