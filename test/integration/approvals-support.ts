import { readFile } from 'node:fs/promises';
import type { FakeGitHubOptions } from '../fakes/github-api.ts';
import type { RunRecord } from '../fakes/github-state.ts';
import type { ChatMessage } from '../fakes/telegram-api.ts';
import type { Person } from '../fakes/telegram-updates.ts';
import { ADA, buttonData, type Clock, eventually, type Harness, SAM, startHarness } from '../harness.ts';

/** The team's group chat, where production is deployed and reviewed. */
export const GROUP = -100_4242;
/** Two more people with the staging role: Zoe reviews production on GitHub, Bob does not. */
export const ZOE: Person = { id: 1004, first_name: 'Zoe', username: 'zoe' };
export const BOB: Person = { id: 1005, first_name: 'Bob', username: 'bob' };
/** The production environment's required reviewers on GitHub (Ada is one too). */
export const REVIEWERS = ['octo-sam', 'octo-zoe', 'octo-ada'];

/** DEPLOYBOT_CONFIG with production's approval rule. */
export function environmentsYaml(approval: string): string {
  return [
    'environments:',
    '  staging:',
    '    branch: develop',
    '    role: staging',
    '    confirm: false',
    '    refs: ["**"]',
    '  production:',
    '    branch: main',
    '    role: admin',
    '    confirm: true',
    `    approval: ${approval}`,
    '',
  ].join('\n');
}

/** A harness with linking on, fast pacing, the team above, and production protected by reviewers. */
export async function startApprovals(
  options: {
    approval?: string;
    github?: Partial<FakeGitHubOptions>;
    preventSelfReview?: boolean;
    clock?: Clock;
  } = {},
): Promise<Harness> {
  const h = await startHarness({
    accounts: true,
    env: { STAGING_TELEGRAM_IDS: `${SAM.id},${ZOE.id},${BOB.id}` },
    github: { ...options.github, oauth: { intervalSeconds: 0.05, ...options.github?.oauth } },
    service: { outbox: { privateIntervalMs: 0, groupIntervalMs: 0 } },
    configYaml: environmentsYaml(options.approval ?? '{ not_requester: true }'),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  h.github.environments.set('production', {
    reviewers: REVIEWERS,
    ...(options.preventSelfReview ? { preventSelfReview: true } : {}),
  });
  return h;
}

/**
 * `/link` in the person's private chat, the code entered at GitHub's page as `login`. Resolves with
 * the bot's last message once it says the link is made.
 */
export async function linkAccount(h: Harness, person: Person, login: string): Promise<ChatMessage> {
  const before = h.botMessages(person.id).length;
  await h.say(person, '/link');
  const shown = await eventually(
    () =>
      h
        .botMessages(person.id)
        .slice(before)
        .find((m) => m.text.includes('Enter the code')),
    10_000,
    'the device code',
  );
  const code = /Enter the code ([A-Z]{4}-[A-Z]{4})/.exec(shown.text)?.[1];
  if (!code) throw new Error(`no code in ${shown.text}`);
  h.github.oauth.authorize(code, login);
  return eventually(
    () =>
      h
        .botMessages(person.id)
        .slice(before)
        .find((m) => m.text.includes(`Linked to GitHub as ${login}`)),
    10_000,
    `the link of ${login}`,
  );
}

/** Whether a message carries a button whose label contains `label`. */
export function hasButton(message: ChatMessage | undefined, label: string): boolean {
  return (message?.reply_markup?.inline_keyboard ?? []).flat().some((b) => b.text.includes(label));
}

/** Ada asks for production in the group and confirms; resolves once the run waits with Approve / Reject. */
export async function waitingProduction(
  h: Harness,
  subject = 'Ship gift cards',
): Promise<{ run: RunRecord; played: Promise<RunRecord>; messageId: number }> {
  h.github.repo.commit({ branch: 'main', message: subject });
  const before = h.botMessages(GROUP).length;
  await h.say(ADA, '/deploy production', GROUP);
  const ask = await eventually(
    () =>
      h
        .botMessages(GROUP)
        .slice(before)
        .find((m) => hasButton(m, 'Deploy')),
    10_000,
    'the confirmation',
  );
  const known = new Set(h.github.runs.list().map((r) => r.id));
  await h.press(ADA, ask.message_id, buttonData(ask, 'Deploy'), GROUP);
  const run = await eventually(
    () => h.github.runs.list().find((r) => !known.has(r.id)),
    10_000,
    'the dispatched run',
  );
  const played = h.github.simulate(run.id, 'success', { delayMs: 0 });
  await eventually(() => hasButton(h.telegram.message(GROUP, ask.message_id), 'Approve'), 10_000, 'Approve');
  return { run, played, messageId: ask.message_id };
}

/**
 * A press of Approve or Reject on the run's message, over HTTP (`data`: the button's payload, when the
 * message no longer shows it); resolves with the bot's answer.
 */
export async function pressReview(
  h: Harness,
  person: Person,
  messageId: number,
  label: 'Approve' | 'Reject',
  data?: string,
): Promise<{ text: string; alert: boolean }> {
  const message = h.telegram.message(GROUP, messageId);
  if (!message) throw new Error(`no message ${messageId}`);
  // `data`: a button the message no longer shows (a stale client, a replay).
  const update = h.telegram.pressButton(GROUP, messageId, person, data ?? buttonData(message, label));
  await h.postUpdate(update);
  const id = update.callback_query?.id;
  const answer = await eventually(
    () => h.telegram.answeredCallbacks.find((a) => a.callback_query_id === id),
    10_000,
    'the answer to the press',
  );
  return { text: answer.text ?? '', alert: answer.show_alert === true };
}

/** The reviews GitHub recorded on a run. */
export function reviewsOf(h: Harness, run: RunRecord) {
  return h.github.runs.get(run.id)?.reviews ?? [];
}

/** Everything a token could leak into: logs, the audit trail, every chat, the database files. */
export async function leakSurfaces(h: Harness, chats: number[]): Promise<string> {
  const database = h.config.databaseUrl;
  const files = await Promise.all(
    [database, `${database}-wal`, h.config.auditLogPath].map((f) =>
      readFile(f).then(
        (b) => b.toString('latin1'),
        () => '',
      ),
    ),
  );
  const messages = chats.flatMap((c) => h.telegram.messages(c).flatMap((m) => m.history));
  const answers = h.telegram.answeredCallbacks.map((a) => a.text ?? '');
  return [h.logs(), ...files, ...messages, ...answers].join('\n');
}
