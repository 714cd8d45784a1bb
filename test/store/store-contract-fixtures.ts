import { type DeploymentDetail, emptyDetail, type NewDeployment } from '../../src/core/deployment.ts';
import type { Confirmation, EnvironmentLock } from '../../src/store/store.ts';

/** Test data shared by the store contract's topic files (one id sequence for all of them). */

/** The time every contract test starts from (ms since the epoch). */
export const T0 = 1_700_000_000_000;
let sequence = 0;

/** A new deployment with a fresh id; `over` replaces fields. */
export function deployment(over: Partial<NewDeployment> = {}): NewDeployment {
  sequence += 1;
  return {
    id: `req-${sequence}`,
    service: '',
    environment: 'staging',
    action: 'deploy',
    ref: 'develop',
    sha: 'a'.repeat(40),
    subject: 'Fix the login form',
    author: 'ann',
    requesterId: 42,
    requesterName: 'Ann',
    chatId: -1001234567890,
    messageId: null,
    state: 'requested',
    runId: null,
    runUrl: null,
    detail: emptyDetail(),
    createdAt: T0,
    dispatchedAt: null,
    finishedAt: null,
    ...over,
  };
}

/** A confirmation with a fresh id, valid for five minutes from {@link T0}. */
export function confirmation(over: Partial<Confirmation> = {}): Confirmation {
  sequence += 1;
  return {
    id: `c${sequence}`.padEnd(22, 'x'),
    kind: 'deploy',
    deploymentId: 'req-1',
    requesterId: 42,
    chatId: -100123,
    createdAt: T0,
    expiresAt: T0 + 300_000,
    usedAt: null,
    ...over,
  };
}

/** A production lock held for an hour from {@link T0}. */
export function lock(over: Partial<EnvironmentLock> = {}): EnvironmentLock {
  return {
    service: '',
    environment: 'production',
    ownerId: 1,
    ownerName: 'Ops',
    reason: 'release freeze',
    createdAt: T0,
    expiresAt: T0 + 3_600_000,
    remindedAt: null,
    ...over,
  };
}

/** A detail with every field set and text that is awkward to store (markup, quotes, non-ASCII, escapes). */
export const richDetail: DeploymentDetail = {
  aheadBy: 0,
  baseSha: 'b'.repeat(40),
  changes: ['Fix <b>totals</b> & "tax" — Zoë', 'Ünïcode ✓ — Ada'],
  jobs: [
    {
      id: 9_876_543_210,
      name: 'deploy (production)',
      status: 'completed',
      conclusion: 'failure',
      startedAt: T0,
      completedAt: null,
      steps: [{ number: 1, name: 'Health <check> & "verify"', status: 'completed', conclusion: 'failure' }],
      url: 'https://github.com/o/r/actions/runs/1/job/2?a=1&b=2',
    },
  ],
  approval: { reviewers: ['ops-team', 'Zoë'], url: null },
  environmentUrl: 'https://example.com/?q=<script>&x="y"',
  failure: {
    job: 'deploy',
    step: null,
    logTail: ['ошибка: 接続に失敗 🚀', 'tab\tquote" back\\slash', '\\u0000 literal', ''],
  },
  note: "<b>bold</b> & 'quoted'\nsecond line",
  confirmationId: 'AbC_-123456789012345678',
  confirmBy: T0 + 300_000,
  review: {
    approvals: ['octo-ada', 'Zoë-gh'],
    required: 2,
    recorded: { state: 'approved', login: 'Zoë-gh' },
    submittingSince: null,
  },
};

/**
 * What `promise` rejects with.
 * @throws {Error} when it resolves instead.
 */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}
