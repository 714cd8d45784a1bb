import type { DeploymentRecord } from '../core/deployment.ts';
import { checkWindow, formatInZone } from '../core/deployment-window.ts';
import type { EnvironmentSpec } from '../core/environment.ts';
import { formatLockDuration } from '../core/lock-duration.ts';
import { hasRole } from '../core/roles.ts';
import type { EnvironmentLock } from '../store/store.ts';
import { type Actor, auditAs, type DeployDeps } from './deploy-deps.ts';
import { findInFlight } from './find-in-flight.ts';
import { commandTarget } from './service-deps.ts';

/** Why a guard stopped a deploy or rollback: stable codes. */
export type GuardRefusal = 'locked' | 'outside_window' | 'override_forbidden' | 'override_needs_reason';

export type GuardOutcome =
  | { ok: true /** What an admin's override set aside (empty when nothing blocked). */; overridden: string[] }
  | { ok: false; reason: GuardRefusal; message: string };

/** The words that introduce an override; `--force` is the documented one. */
const OVERRIDE_FLAG = /(?:^|\s)(?:--force|--override)(?=\s|=|$)=?/;
const QUOTES = /^["'“”„«»‘’]+|["'“”„«»‘’]+$/g;

/**
 * Splits `main --force "hotfix for outage"` into the ref words and the override reason. `override`
 * is null without the flag and `''` for the flag without a reason (refused by {@link checkGuards}).
 * Quotes around the reason are dropped, also the curly ones phone keyboards type.
 */
export function splitOverride(text: string | undefined): {
  rest: string | undefined;
  override: string | null;
} {
  if (text === undefined) return { rest: undefined, override: null };
  const match = OVERRIDE_FLAG.exec(text);
  if (!match) return { rest: text, override: null };
  const rest = text.slice(0, match.index).trim();
  const reason = text
    .slice(match.index + match[0].length)
    .trim()
    .replace(QUOTES, '')
    .replace(/\p{Cc}/gu, ' ')
    .trim()
    .slice(0, 200);
  return { rest: rest === '' ? undefined : rest, override: reason };
}

/** "Ada (@ada) until Tue 14:00 UTC (in 1h 59m): release freeze". */
export function describeLock(lock: EnvironmentLock, env: EnvironmentSpec | undefined, now: number): string {
  const zone = env?.windows?.timezone ?? 'UTC';
  return `${lock.ownerName} until ${formatInZone(lock.expiresAt, zone)} (in ${formatLockDuration(lock.expiresAt - now)}): ${lock.reason}`;
}

/**
 * The lock and (for deploys) the deployment windows of an environment, and an admin's override of
 * them. A lock stops deploys and rollbacks; windows stop deploys only (a rollback restores a state
 * that ran before, which is what one wants at 3 a.m.). An override needs the admin role and a reason.
 */
export async function checkGuards(
  deps: DeployDeps,
  env: EnvironmentSpec,
  actor: Actor,
  override: string | null,
  options: { windows: boolean },
): Promise<GuardOutcome> {
  const isAdmin = hasRole(actor.id, 'admin', deps.config.access);
  if (override !== null && !isAdmin) {
    return {
      ok: false,
      reason: 'override_forbidden',
      message: 'Only admins can override a lock or a deployment window.',
    };
  }
  if (override === '') {
    return {
      ok: false,
      reason: 'override_needs_reason',
      message: `An override needs a reason, e.g. /deploy ${commandTarget(deps, env.name)} ${env.branch} --force "hotfix for outage". The reason goes into the audit trail.`,
    };
  }
  const blockers = await blockersOf(deps, env, options);
  if (blockers.length === 0) return { ok: true, overridden: [] };
  if (override !== null) return { ok: true, overridden: blockers.map((b) => b.code) };
  const [first] = blockers;
  const hint = isAdmin ? ' An admin can override with --force <reason>.' : '';
  await auditAs(deps, actor, {
    action: 'deploy_refused',
    environment: env.name,
    outcome: blockers.map((b) => b.code).join(','),
  });
  return {
    ok: false,
    reason: first?.code ?? 'locked',
    message: `${blockers.map((b) => b.message).join(' ')}${hint}`,
  };
}

/** Writes the audit line of an override (`action: override`, outcome = the reason). */
export async function auditOverride(
  deps: DeployDeps,
  actor: Actor,
  record: Pick<DeploymentRecord, 'environment' | 'sha' | 'id'>,
  reason: string,
): Promise<void> {
  await auditAs(deps, actor, {
    action: 'override',
    environment: record.environment,
    sha: record.sha,
    request_id: record.id,
    outcome: reason,
  });
}

/**
 * At Confirm: a lock taken (or a window closed) after the request was made stops it. A blocker that
 * already held when the request was made was overridden then (or the request would not exist).
 */
export async function recheckGuards(
  deps: DeployDeps,
  env: EnvironmentSpec,
  record: DeploymentRecord,
): Promise<{ ok: true } | { ok: false; reason: GuardRefusal | 'in_flight'; message: string }> {
  const now = deps.now();
  // Another request confirmed first: its run holds the environment. GitHub would queue this one
  // behind it, and drop it silently if a third were queued (one pending run per concurrency group).
  const running = await findInFlight(deps, env.name, { dispatching: true });
  if (running && running.id !== record.id) {
    return {
      ok: false,
      reason: 'in_flight',
      message: `A deployment to ${commandTarget(deps, env.name)} started since you asked (${running.sha.slice(0, 7)}, ${running.state.replace('_', ' ')}). Wait for it to finish, then ask again.`,
    };
  }
  const lock = await deps.store.getLock(env.name, now, deps.service.name);
  if (lock && lock.createdAt > record.createdAt) {
    return {
      ok: false,
      reason: 'locked',
      message: `${commandTarget(deps, env.name)} was locked since you asked, by ${describeLock(lock, env, now)}`,
    };
  }
  if (record.action === 'deploy' && env.windows) {
    const nowCheck = checkWindow(env.windows, now);
    if (!nowCheck.open && checkWindow(env.windows, record.createdAt).open) {
      return {
        ok: false,
        reason: 'outside_window',
        message: `The deployment window of ${commandTarget(deps, env.name)} closed since you asked.${opensLine(nowCheck.nextOpening, env)}`,
      };
    }
  }
  return { ok: true };
}

type Blocker = { code: 'locked' | 'outside_window'; message: string };

async function blockersOf(
  deps: DeployDeps,
  env: EnvironmentSpec,
  options: { windows: boolean },
): Promise<Blocker[]> {
  const now = deps.now();
  const blockers: Blocker[] = [];
  const lock = await deps.store.getLock(env.name, now, deps.service.name);
  if (lock)
    blockers.push({
      code: 'locked',
      message: `${commandTarget(deps, env.name)} is locked by ${describeLock(lock, env, now)}.`,
    });
  if (options.windows && env.windows) {
    const check = checkWindow(env.windows, now);
    if (!check.open) {
      blockers.push({
        code: 'outside_window',
        message: `${commandTarget(deps, env.name)} is outside its deployment window.${opensLine(check.nextOpening, env)}`,
      });
    }
  }
  return blockers;
}

function opensLine(nextOpening: number | null, env: EnvironmentSpec): string {
  if (nextOpening === null || !env.windows) return '';
  return ` Next opening: ${formatInZone(nextOpening, env.windows.timezone)}.`;
}
