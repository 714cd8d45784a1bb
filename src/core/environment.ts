import type { Role } from './roles.ts';

/**
 * A ref `/deploy <env> <ref>` accepts. `pattern` is a glob: `*` matches any run of characters
 * except `/`, `**` matches anything. `sha` accepts a full 40-hex commit SHA.
 */
export type RefRule =
  | { kind: 'branch'; pattern: string }
  | { kind: 'tag'; pattern: string }
  | { kind: 'sha' };

export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';

/** `from` and `to` are `HH:MM` wall-clock times in the windows' timezone, `from < to`; `to` may be `24:00`. */
export type WindowRule = { days: Weekday[]; from: string; to: string };

/** `timezone` is a canonical IANA name (as `Intl.DateTimeFormat` resolves it). */
export type DeploymentWindows = { timezone: string; allow: WindowRule[] };

/**
 * How the bot treats approvals from Telegram for an environment whose GitHub environment has
 * required reviewers (the `approval` key of DEPLOYBOT_CONFIG). GitHub's own rules apply in any case;
 * these only add to them.
 */
export type ApprovalRule = {
  /**
   * Distinct linked reviewers who must press Approve before the bot submits the approval to GitHub
   * (with the last one's token). 1: the first approval is submitted at once.
   */
  minReviewers: number;
  /** The Telegram user who requested the deployment may not approve it, even where GitHub would allow it. */
  notRequester: boolean;
};

/** The rule of an environment without an `approval` key: one approval, GitHub's rules only. */
export const DEFAULT_APPROVAL_RULE: Readonly<ApprovalRule> = { minReviewers: 1, notRequester: false };

/** An environment's approval rule, the default when it has none. */
export function approvalRuleOf(env: Pick<EnvironmentSpec, 'approval'> | undefined): ApprovalRule {
  return { ...DEFAULT_APPROVAL_RULE, ...env?.approval };
}

/** One deployment target as configured: who may deploy what to it, and when. */
export type EnvironmentSpec = {
  name: string;
  /** The default ref of `/deploy <env>`. */
  branch: string;
  refs: RefRule[];
  role: Role;
  confirm: boolean;
  windows: DeploymentWindows | null;
  healthUrl: string | null;
  /** Approvals from Telegram; absent: {@link DEFAULT_APPROVAL_RULE}. */
  approval?: ApprovalRule;
};

/**
 * An environment name: what GitHub accepts and what a shell can carry without quoting surprises.
 * The config, the dispatch inputs and deploy.yml's Resolve job all check names against it.
 */
export const ENVIRONMENT_NAME = /^[a-z][a-z0-9-]{0,31}$/;

/** The configured environment of that name, case-insensitively; undefined when there is none. */
export function findEnvironment(
  environments: readonly EnvironmentSpec[],
  name: string,
): EnvironmentSpec | undefined {
  const wanted = name.trim().toLowerCase();
  return environments.find((e) => e.name === wanted);
}
