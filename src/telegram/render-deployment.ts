import type { DeploymentRecord, JobView, StepView } from '../core/deployment.ts';
import type { DeploymentState } from '../core/deployment-state.ts';
import { escapeHtml, formatDuration, link, visibleLength } from './html.ts';

/** Telegram's limit is 4096 visible characters; keep a margin for what we cannot measure exactly. */
export const MESSAGE_BUDGET = 3900;

const STATE_LINE: Record<DeploymentState, string> = {
  requested: '⏳ Waiting for confirmation',
  confirmed: '📤 Confirmed, dispatching…',
  dispatched: '📤 Dispatched to GitHub Actions',
  queued: '🕒 Queued',
  waiting_approval: '✋ Waiting for approval',
  in_progress: '🔄 In progress',
  succeeded: '✅ Succeeded',
  failed: '❌ Failed',
  rolling_back: '↩️ Failed, rolling back to the previous image',
  rolled_back: '↩️ Failed and rolled back to the previous image',
  rollback_failed: '🔥 Failed, and the rollback failed too',
  cancelled: '🚫 Cancelled',
  expired: '⌛ Expired: not confirmed in time',
  timed_out: '⏱ Timed out',
};

type Detail = {
  stepsOfPassedJobs: boolean;
  logLines: number;
  subjectChars: number;
  maxSteps: number;
  changes: number;
};

const LEVELS: Detail[] = [
  { stepsOfPassedJobs: true, logLines: 15, subjectChars: 200, maxSteps: 40, changes: 5 },
  { stepsOfPassedJobs: false, logLines: 15, subjectChars: 200, maxSteps: 25, changes: 5 },
  { stepsOfPassedJobs: false, logLines: 6, subjectChars: 120, maxSteps: 12, changes: 3 },
  { stepsOfPassedJobs: false, logLines: 2, subjectChars: 60, maxSteps: 5, changes: 1 },
  { stepsOfPassedJobs: false, logLines: 0, subjectChars: 40, maxSteps: 0, changes: 0 },
];

/**
 * The text of a deployment's Telegram message (HTML parse mode). Pure: record and clock in, text out.
 * Everything from GitHub or a user is escaped; the result always fits Telegram's 4096 characters,
 * shortening step lists and the log tail first, then the commit subject.
 */
export function renderDeployment(
  record: DeploymentRecord,
  now: number,
  options: { showService?: boolean } = {},
): string {
  for (const level of LEVELS) {
    const text = renderAt(record, now, level, options.showService === true);
    if (visibleLength(text) <= MESSAGE_BUDGET && text.length <= MESSAGE_BUDGET * 3) return text;
  }
  // Only a pathological record gets here (hundreds of jobs): keep the head, which says the outcome.
  const minimal = renderAt(
    { ...record, detail: { ...record.detail, jobs: [] } },
    now,
    LEVELS[LEVELS.length - 1] as Detail,
    options.showService === true,
  );
  return minimal;
}

function renderAt(d: DeploymentRecord, now: number, level: Detail, showService: boolean): string {
  const lines: string[] = [];
  const verb = d.action === 'rollback' ? 'Rollback' : 'Deploy';
  // With several services the head names which one (`Deploy shop to staging`).
  const what = showService && d.service ? `${verb} ${escapeHtml(d.service)}` : verb;
  lines.push(`${what} to <b>${escapeHtml(d.environment)}</b> · <code>${d.sha.slice(0, 7)}</code>`);
  lines.push(`${escapeHtml(clip(d.subject, level.subjectChars))} — ${escapeHtml(d.author)}`);
  // A rollback goes back: "N commits over" would mislead; its note says what runs now.
  if (d.action === 'deploy') {
    lines.push(comparison(d));
    const changes = d.detail.changes.slice(0, level.changes);
    for (const change of changes) lines.push(`  • ${escapeHtml(clip(change, 100))}`);
    const more = (d.detail.aheadBy ?? 0) - changes.length;
    if (changes.length > 0 && more > 0) lines.push(`  … and ${more} more`);
  }
  lines.push(`Requested by ${escapeHtml(d.requesterName)}`);
  lines.push('');
  const stateLine =
    d.state === 'requested' && !d.detail.confirmationId ? '📤 Dispatching…' : STATE_LINE[d.state];
  const until =
    d.state === 'requested' && d.detail.confirmBy !== null
      ? ` until ${new Date(d.detail.confirmBy).toISOString().slice(11, 16)} UTC`
      : '';
  lines.push(`<b>${stateLine}${until}</b>${durationSuffix(d, now)}`);
  if (d.state === 'waiting_approval' && d.detail.approval) {
    const who = d.detail.approval.reviewers.length
      ? `by ${d.detail.approval.reviewers.map(escapeHtml).join(', ')}`
      : '';
    lines.push(`Reviewers ${who} · ${link(d.detail.approval.url ?? d.runUrl, 'review')}`.replace('  ', ' '));
  }
  lines.push(...reviewLines(d));
  if (d.detail.note) lines.push(escapeHtml(d.detail.note));
  const jobs = d.detail.jobs;
  if (jobs.length > 0 && level.maxSteps >= 0) {
    lines.push('');
    for (const job of jobs) lines.push(...renderJob(job, level));
  }
  if (d.detail.failure && level.logLines > 0 && d.detail.failure.logTail.length > 0) {
    const f = d.detail.failure;
    lines.push('');
    lines.push(`Failed in <b>${escapeHtml(f.job)}</b>${f.step ? ` › ${escapeHtml(f.step)}` : ''}:`);
    const tail = f.logTail.slice(-level.logLines).map((l) => clip(l, 200));
    lines.push(`<pre>${escapeHtml(tail.join('\n'))}</pre>`);
  }
  const footer: string[] = [];
  if (d.runUrl) footer.push(link(d.runUrl, d.runId ? `run ${d.runId}` : 'run'));
  if (d.detail.environmentUrl && d.finishedAt !== null)
    footer.push(link(d.detail.environmentUrl, d.detail.environmentUrl));
  if (footer.length) {
    lines.push('');
    lines.push(footer.join(' · '));
  }
  return lines.join('\n');
}

/** Reviews from Telegram: what GitHub recorded, or while the run waits, the approvals counted so far. */
function reviewLines(d: DeploymentRecord): string[] {
  const review = d.detail.review;
  if (!review) return [];
  if (review.recorded) {
    const verb = review.recorded.state === 'approved' ? '✅ Approved' : '⛔ Rejected';
    return [`${verb} on GitHub by <b>${escapeHtml(review.recorded.login)}</b> (from Telegram)`];
  }
  if (d.state !== 'waiting_approval' || review.approvals.length === 0) return [];
  const who = review.approvals.map(escapeHtml).join(', ');
  return [`Approvals in Telegram: ${who} (${review.approvals.length} of ${review.required})`];
}

/** How the commit compares with what the environment runs now. */
function comparison(d: DeploymentRecord): string {
  const base = d.detail.baseSha;
  if (base === null) return 'First deployment to this environment.';
  if (base === d.sha) return `Same commit as running now (<code>${base.slice(0, 7)}</code>).`;
  const n = d.detail.aheadBy;
  if (n === null) return `Running now: <code>${base.slice(0, 7)}</code> (not comparable).`;
  return `${n} commit${n === 1 ? '' : 's'} over <code>${base.slice(0, 7)}</code>, running now${d.detail.changes.length ? ':' : '.'}`;
}

function renderJob(job: JobView, level: Detail): string[] {
  const head = `${jobIcon(job)} ${escapeHtml(job.name)}${jobDuration(job)}`;
  const passed = job.status === 'completed' && job.conclusion === 'success';
  if ((passed && !level.stepsOfPassedJobs) || job.steps.length === 0 || level.maxSteps === 0) return [head];
  const steps = pickSteps(job.steps, level.maxSteps);
  return [
    head,
    ...steps.map((s) => (s === null ? '   …' : `   ${stepIcon(s)} ${escapeHtml(clip(s.name, 80))}`)),
  ];
}

/** Keeps the running or failed step and its neighbours when a job has more steps than room. */
function pickSteps(steps: StepView[], max: number): Array<StepView | null> {
  if (steps.length <= max) return steps;
  const focus = Math.max(
    0,
    steps.findIndex(
      (s) =>
        s.status === 'in_progress' ||
        (s.conclusion !== null && s.conclusion !== 'success' && s.conclusion !== 'skipped'),
    ),
  );
  const start = Math.min(Math.max(0, focus - Math.floor(max / 2)), steps.length - max);
  const picked: Array<StepView | null> = steps.slice(start, start + max);
  if (start > 0) picked.unshift(null);
  if (start + max < steps.length) picked.push(null);
  return picked;
}

function jobIcon(job: JobView): string {
  if (job.status === 'waiting') return '✋';
  if (job.status !== 'completed') return job.status === 'in_progress' ? '🔄' : '🕒';
  return conclusionIcon(job.conclusion);
}

function stepIcon(step: StepView): string {
  if (step.status === 'in_progress') return '🔄';
  if (step.status !== 'completed') return '▫️';
  return conclusionIcon(step.conclusion);
}

function conclusionIcon(conclusion: string | null): string {
  switch (conclusion) {
    case 'success':
      return '✅';
    case 'skipped':
      return '⏭';
    case 'cancelled':
      return '🚫';
    default:
      return '❌';
  }
}

function jobDuration(job: JobView): string {
  if (job.startedAt === null || job.completedAt === null) return '';
  return ` (${formatDuration(job.completedAt - job.startedAt)})`;
}

function durationSuffix(d: DeploymentRecord, now: number): string {
  const start = d.dispatchedAt;
  if (start === null) return '';
  const end = d.finishedAt ?? now;
  return d.finishedAt !== null ? ` in ${formatDuration(end - start)}` : ` · ${formatDuration(end - start)}`;
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, Math.max(0, max - 1))}…` : text;
}
