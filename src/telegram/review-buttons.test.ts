import { describe, expect, it } from 'vitest';
import { decodeCallback, deriveCallbackKey, runIdOfReviewId } from '../core/callback-data.ts';
import { type DeploymentRecord, emptyDetail, type ReviewView } from '../core/deployment.ts';
import { deploymentKeyboard } from './keyboards.ts';
import { renderDeployment } from './render-deployment.ts';
import { reviewReply } from './review-press.ts';

const key = deriveCallbackKey('123456:AAAA-test-token-aaaaaaaaaaaaaaaaaaaaaaaa');
const waiting: DeploymentRecord = {
  id: 'req-1',
  service: 'shop',
  environment: 'production',
  action: 'deploy',
  ref: 'main',
  sha: '0123456789abcdef0123456789abcdef01234567',
  subject: 'Ship it',
  author: 'Ada',
  requesterId: 1,
  requesterName: 'Ada',
  chatId: -100,
  messageId: 2,
  state: 'waiting_approval',
  runId: 9_000_001_234,
  runUrl: 'https://github.com/acme/shop/actions/runs/9000001234',
  detail: emptyDetail(),
  createdAt: 0,
  updatedAt: 0,
  dispatchedAt: 0,
  finishedAt: null,
  version: 3,
  deliveredVersion: 2,
};
const review = (over: Partial<ReviewView>): ReviewView => ({
  approvals: [],
  required: 1,
  recorded: null,
  submittingSince: null,
  ...over,
});
const labels = (record: DeploymentRecord, on: boolean) =>
  (deploymentKeyboard(key, record, { review: on })?.inline_keyboard ?? []).map((row) =>
    row.map((b) => b.text),
  );

describe('Approve / Reject on a waiting run', () => {
  it('shows signed buttons naming the run while it waits, where linking is set up', () => {
    expect(labels(waiting, true)).toEqual([['✅ Approve', '⛔ Reject'], ['🔗 Open run on GitHub']]);
    const [approve, reject] = deploymentKeyboard(key, waiting, { review: true })?.inline_keyboard[0] ?? [];
    for (const [button, action] of [
      [approve, 'approve'],
      [reject, 'reject'],
    ] as const) {
      const data = button && 'callback_data' in button ? (button.callback_data ?? '') : '';
      const decoded = decodeCallback(key, data);
      expect(decoded.ok && decoded.action).toBe(action);
      expect(decoded.ok && runIdOfReviewId(decoded.id)).toBe(9_000_001_234);
    }
  });

  it('shows none without linking, once GitHub recorded a review, or when the run no longer waits', () => {
    expect(labels(waiting, false)).toEqual([['🔗 Open run on GitHub']]);
    const recorded = {
      ...waiting,
      detail: { ...waiting.detail, review: review({ recorded: { state: 'approved', login: 'x' } }) },
    };
    expect(labels(recorded, true)).toEqual([['🔗 Open run on GitHub']]);
    expect(labels({ ...waiting, state: 'in_progress' }, true)).toEqual([['🔗 Open run on GitHub']]);
    expect(labels({ ...waiting, finishedAt: 5 }, true)).toEqual([['🔗 Open run on GitHub']]);
  });

  it('renders the approvals counted in Telegram, then who GitHub recorded, escaped', () => {
    const counted = {
      ...waiting,
      detail: { ...waiting.detail, review: review({ approvals: ['octo-<sam>'], required: 2 }) },
    };
    expect(renderDeployment(counted, 1000)).toContain('Approvals in Telegram: octo-&lt;sam&gt; (1 of 2)');
    const done = {
      ...counted,
      state: 'succeeded' as const,
      finishedAt: 9000,
      detail: { ...counted.detail, review: review({ recorded: { state: 'approved', login: 'octo-zoe' } }) },
    };
    expect(renderDeployment(done, 9000)).toContain(
      '✅ Approved on GitHub by <b>octo-zoe</b> (from Telegram)',
    );
    expect(renderDeployment(done, 9000)).not.toContain('Approvals in Telegram');
    const rejected = {
      ...done,
      detail: { ...done.detail, review: review({ recorded: { state: 'rejected', login: 'octo-sam' } }) },
    };
    expect(renderDeployment(rejected, 9000)).toContain('⛔ Rejected on GitHub by <b>octo-sam</b>');
  });

  it('answers a press in a toast: quiet when nothing is to be done, an alert when the user must act', () => {
    expect(
      reviewReply({ kind: 'refused', reason: 'already_voted', message: 'You already approved this run.' }),
    ).toEqual({
      toast: 'You already approved this run.',
      alert: false,
    });
    expect(reviewReply({ kind: 'refused', reason: 'not_linked', message: 'Link first. /link' }).alert).toBe(
      true,
    );
    const long = reviewReply({ kind: 'refused', reason: 'github_refused', message: 'x'.repeat(500) });
    expect(long.toast).toHaveLength(200);
    expect(reviewReply({ kind: 'counted', deployment: waiting, login: 'a', have: 1, need: 3 }).toast).toBe(
      'Approval counted: 1 of 3. 2 more linked reviewers must approve before it goes to GitHub.',
    );
    expect(
      reviewReply({ kind: 'submitted', deployment: waiting, decision: 'rejected', login: 'b' }).toast,
    ).toBe('Rejected on GitHub as b.');
  });
});
