import type { AuditInput, AuditLog } from '../audit.ts';
import type { Config, EnvironmentSpec } from '../config.ts';
import type { DeploymentRecord } from '../core/deployment.ts';
import type { GitHubClient } from '../github/github-client.ts';
import type { RepoRef } from '../github/resolve-ref.ts';
import type { Store } from '../store/store.ts';
import type { HealthProbe } from './probe-health.ts';

/** A Telegram user as the use cases see them. */
export type Actor = { id: number; name: string };

/** Everything the deployment use cases need; built once in main.ts. No grammY or Hono in here. */
export type DeployDeps = {
  config: Readonly<Config>;
  store: Store;
  github: GitHubClient;
  /** Only owner and repo: never spread the GitHub config into a request (it holds the credentials). */
  repo: RepoRef;
  audit: Pick<AuditLog, 'append'>;
  now: () => number;
  /** Request ids: `[A-Za-z0-9-]{1,64}`. */
  newRequestId: () => string;
  /** Confirmation ids: 22 base64url characters of randomness. */
  newConfirmationId: () => string;
  /** The repository's default branch (the deploy workflow runs from there); cached by the caller. */
  defaultBranch: () => Promise<string>;
  /** Told whenever a deployment record changed, so its Telegram message gets edited. */
  onDeploymentChanged: (deploymentId: string) => void;
  /** Told once when a deployment's run has finished (for metrics). */
  onFinished: (record: DeploymentRecord) => void;
  confirmTtlMs: number;
  /** Probes an environment's health URL for /status; default `probeHealth` (GET, 1.5 s limit). */
  probeHealth?: (url: string) => Promise<HealthProbe>;
  /** Told every health probe's result (the `health_check_up{env}` gauge). */
  onHealth?: (environment: string, up: boolean) => void;
  /** Sends a plain-text message to a chat (lock reminders go to the owner's private chat). */
  sendTo?: (chatId: number, text: string) => Promise<void>;
};

/** The configured environment of that name, case-insensitively. */
export function findEnvironment(config: Readonly<Config>, name: string): EnvironmentSpec | undefined {
  const wanted = name.trim().toLowerCase();
  return config.environments.find((e) => e.name === wanted);
}

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
  deps: Pick<DeployDeps, 'audit'>,
  actor: Actor | null,
  fields: Partial<AuditInput> & Pick<AuditInput, 'action' | 'outcome'>,
): Promise<unknown> {
  return deps.audit.append(
    auditRecord({ actor_id: actor?.id ?? null, actor_name: actor?.name ?? null, ...fields }),
  );
}
