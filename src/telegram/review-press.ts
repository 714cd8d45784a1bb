import type { Context } from 'grammy';
import { approveRun, type ReviewOutcome } from '../deploy/approve-run.ts';
import { actorOf } from './actor.ts';
import type { BotDeps } from './bot-deps.ts';
import { clipToast, pressedMessage } from './pressed-message.ts';

/** Refusals that only say "nothing to do": a quiet toast rather than an alert to dismiss. */
const QUIET = new Set(['already_voted', 'not_waiting', 'busy']);

/** The answer to an Approve / Reject press: the toast, and whether it is an alert. */
export function reviewReply(outcome: ReviewOutcome): { toast: string; alert: boolean } {
  switch (outcome.kind) {
    case 'refused':
      return { toast: clipToast(outcome.message), alert: !QUIET.has(outcome.reason) };
    case 'counted': {
      const left = outcome.need - outcome.have;
      return {
        toast: `Approval counted: ${outcome.have} of ${outcome.need}. ${left} more linked reviewer${left === 1 ? '' : 's'} must approve before it goes to GitHub.`,
        alert: false,
      };
    }
    case 'submitted':
      return {
        toast: `${outcome.decision === 'approved' ? 'Approved' : 'Rejected'} on GitHub as ${outcome.login}.`,
        alert: false,
      };
  }
}

/** A press of Approve or Reject: the use case decides (and edits the live message); this answers the press. */
export async function onReviewButton(
  ctx: Context & { callbackQuery: { data: string } },
  deps: BotDeps,
): Promise<void> {
  const message = await pressedMessage(ctx);
  if (!message) return;
  const outcome = await approveRun(deps.deploy, {
    actor: actorOf(ctx.callbackQuery.from),
    chatId: message.chat.id,
    messageId: message.message_id,
    data: ctx.callbackQuery.data,
    key: deps.callbackKey,
  });
  const reply = reviewReply(outcome);
  await ctx.answerCallbackQuery({ text: reply.toast, show_alert: reply.alert });
}
