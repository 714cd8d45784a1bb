import type { AuditInput } from '../audit/audit-entry.ts';
import type { AuditLog } from '../audit/open-audit-log.ts';
import type { Config } from '../config.ts';
import type { DeploymentRecord } from '../core/deployment.ts';
import type { Service } from '../core/service.ts';
import type { GitHubClient } from '../github/github-client.ts';
import type { RepoRef } from '../github/resolve-ref.ts';
import type { Store } from '../store/store.ts';
import type { FollowUps } from './follow-ups.ts';
import type { HealthProbe } from './probe-health.ts';

/** A Telegram user as the use cases see them. */
export type Actor = { id: number; name: string };

/**
 * How the use cases reach the people in the chat, without knowing Telegram: the adapter behind it
 * (the outbox) paces, coalesces and retries.
 */
export type Notifier = {
  /** A deployment record changed: its message is sent, or edited to show the newest state. */
  changed: (deploymentId: string) => void;
  /**
   * A plain-text message to a chat (lock reminders go to the owner's private chat).
   * @throws when the chat cannot be reached (the user blocked the bot, never opened a chat with it).
   */
  tell: (chatId: number, text: string) => Promise<void>;
  /** Queues every message still owed (after a restart, and on every reconciliation pass). */
  resume: () => Promise<void>;
};

/** What the use cases report for metrics; no-ops are fine. */
export type Observer = {
  /** Once per deployment, when its run has finished. */
  finished: (record: DeploymentRecord) => void;
  /** Every health probe's result (`/status`), with the service's name. */
  health: (environment: string, up: boolean, service?: string) => void;
};

/** Every configured service's GitHub side, for {@link withService} (`service-deps.ts`). */
export type ServiceClients = {
  /** The configuration as loaded: global roles, every service. */
  config: Readonly<Config>;
  /** The client for a service's repository (with a GitHub App: that owner's installation), cached. */
  github: (service: Service) => GitHubClient;
  /** The service repository's default branch, asked once. */
  defaultBranch: (service: Service) => () => Promise<string>;
};

/**
 * Everything the deployment use cases need; built once in main.ts. No grammY or Hono in here.
 * The deps act for one service (`service`): `config.environments`, `config.access`,
 * `config.github.workflow`, `repo`, `github` and `defaultBranch` are that service's; `withService`
 * gives the deps of another.
 */
export type DeployDeps = {
  config: Readonly<Config>;
  store: Store;
  github: GitHubClient;
  /** Only owner and repo: never spread the GitHub config into a request (it holds the credentials). */
  repo: RepoRef;
  /** The service these deps act for. */
  service: Service;
  services: ServiceClients;
  audit: Pick<AuditLog, 'append'>;
  now: () => number;
  /** Request ids: `[A-Za-z0-9-]{1,64}`. */
  newRequestId: () => string;
  /** Confirmation ids: 22 base64url characters of randomness. */
  newConfirmationId: () => string;
  /** The repository's default branch (the deploy workflow runs from there). */
  defaultBranch: () => Promise<string>;
  notify: Notifier;
  observe: Observer;
  /** Work that calls GitHub after a webhook was answered (reviewers, a failed job's log). */
  followUps: FollowUps;
  confirmTtlMs: number;
  /** Probes an environment's health URL for /status; default `probeHealth` (GET, 1.5 s limit). */
  probeHealth?: (url: string) => Promise<HealthProbe>;
  /** Linked GitHub accounts (`/link`, Approve / Reject); absent when GITHUB_OAUTH_CLIENT_ID is not set. */
  accounts?: AccountsDeps;
};

/** What linking accounts and reviewing from Telegram need besides `config.accounts`. */
export type AccountsDeps = {
  /** DEPLOYBOT_ENCRYPTION_KEY's 32 bytes: seals the stored tokens. */
  key: Buffer;
  /** Aborts on shutdown: device flows still waiting for their user stop polling. */
  signal: AbortSignal;
};

/** Audit helper: fills the fields that do not apply with null. */
export function auditRecord(
  fields: Partial<AuditInput> & Pick<AuditInput, 'action' | 'outcome'>,
): AuditInput {
  return {
    actor_id: null,
    actor_name: null,
    environment: null,
    sha: null,
    request_id: null,
    ...fields,
  };
}

/** Appends an audit line for what `actor` did (null: the bot itself), other fields null unless given. */
export function auditAs(
  deps: Pick<DeployDeps, 'audit'> & Partial<Pick<DeployDeps, 'service' | 'services'>>,
  actor: Actor | null,
  fields: Partial<AuditInput> & Pick<AuditInput, 'action' | 'outcome'>,
): Promise<unknown> {
  // With several services the line names which: `environment` is `<service>/<environment>`. A
  // single-repository setup keeps the plain name (and the audit format it always had).
  const several = (deps.services?.config.services.length ?? 0) > 1;
  const environment =
    several && deps.service && fields.environment
      ? `${deps.service.name}/${fields.environment}`
      : fields.environment;
  return deps.audit.append(
    auditRecord({
      actor_id: actor?.id ?? null,
      actor_name: actor?.name ?? null,
      ...fields,
      ...(environment !== undefined && { environment }),
    }),
  );
}

/** Appends an audit line about a deployment: its environment, SHA and request id filled in. */
export function auditDeployment(
  deps: Pick<DeployDeps, 'audit'> & Partial<Pick<DeployDeps, 'service' | 'services'>>,
  actor: Actor | null,
  record: Pick<DeploymentRecord, 'environment' | 'sha' | 'id'>,
  action: string,
  outcome: string,
): Promise<unknown> {
  return auditAs(deps, actor, {
    action,
    environment: record.environment,
    sha: record.sha,
    request_id: record.id,
    outcome,
  });
}
