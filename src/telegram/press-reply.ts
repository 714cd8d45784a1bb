import type { DeploymentRecord } from '../core/deployment.ts';
import type { PressOutcome } from '../deploy/press-button.ts';
import { escapeHtml } from './html.ts';

/** What the bot says after a button press: the toast, whether it is an alert, and a new text for a `/cancel` message. */
export type PressReply = { toast: string; alert: boolean; replaceText: string | null };

/**
 * The words for each press outcome, in one table. `presser` is the name of whoever pressed;
 * `target` names a deployment's environment as the commands do (`shop staging` with several
 * services). A
 * refusal of a button already answered is a quiet toast; other refusals are alerts the user must
 * dismiss. A `/cancel` confirmation is a message of its own, so its text is replaced by what happened.
 */
export function pressReply(
  outcome: PressOutcome,
  presser: string,
  target: (deployment: DeploymentRecord) => string = (d) => d.environment,
): PressReply {
  const who = escapeHtml(presser);
  switch (outcome.kind) {
    case 'refused':
      return { toast: outcome.message, alert: outcome.reason !== 'used', replaceText: null };
    case 'confirmed':
      return { toast: 'Dispatching…', alert: false, replaceText: null };
    case 'cancelled':
      return { toast: 'Cancelled.', alert: false, replaceText: null };
    case 'kept':
      return { toast: 'Kept running.', alert: false, replaceText: `↩️ Kept running (${who}).` };
    case 'run_cancel': {
      const { result, deployment } = outcome;
      const where = escapeHtml(target(deployment));
      if (result.kind === 'failed') {
        return { toast: result.message, alert: true, replaceText: escapeHtml(result.message) };
      }
      if (result.kind === 'cancelled') {
        return {
          toast: 'The run is cancelled.',
          alert: false,
          replaceText: `⛔ ${who} cancelled the run of <code>${deployment.sha.slice(0, 7)}</code> to <b>${where}</b>.`,
        };
      }
      return {
        toast: 'Cancelling…',
        alert: false,
        replaceText: `⛔ ${who} asked GitHub to cancel the run of <code>${deployment.sha.slice(0, 7)}</code> to <b>${where}</b>. Its message shows when the run has stopped.`,
      };
    }
  }
}
