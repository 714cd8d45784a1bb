import { type DeploymentRecord, emptyDetail } from '../core/deployment.ts';
import type { GitHubRun } from '../github/run-events-from-github.ts';
import { StoreError } from '../store/store.ts';
import type { DeployDeps } from './deploy-deps.ts';

/**
 * A run of the deploy workflow the bot did not start (a push, the Actions UI): followed live in the
 * service's first chat (`chats:`), else `TELEGRAM_CHAT_ID` when that is set, else ignored. The record id is derived from the run id, so two
 * deliveries racing to create it create one.
 */
export async function trackExternalRun(deps: DeployDeps, run: GitHubRun): Promise<DeploymentRecord | null> {
  const chatId = deps.service.chats[0] ?? deps.config.telegram.chatId;
  if (chatId === null || !run.head_sha) return null;
  const environment = environmentOf(deps, run);
  if (!environment) return null;
  const id = `gh-${run.id}`;
  const existing = await deps.store.getDeployment(id);
  if (existing) return existing;
  try {
    const created = await deps.store.insertDeployment({
      id,
      service: deps.service.name,
      environment,
      action: /\brollback\b/i.test(run.display_title ?? '') ? 'rollback' : 'deploy',
      ref: run.head_branch ?? run.head_sha,
      // deploy.yml names the commit it deploys in the run's title; the run's own head is the branch it runs from.
      sha: /\b[0-9a-f]{40}\b/.exec(run.display_title ?? '')?.[0] ?? run.head_sha,
      subject: run.display_title ?? '',
      author: run.actor?.login ?? 'unknown',
      requesterId: null,
      requesterName: `${run.triggering_actor?.login ?? run.actor?.login ?? 'someone'} on GitHub (${run.event ?? 'run'})`,
      chatId,
      messageId: null,
      state: 'dispatched',
      runId: run.id,
      runUrl: run.html_url,
      detail: emptyDetail(),
      createdAt: deps.now(),
      dispatchedAt: deps.now(),
      finishedAt: null,
    });
    return created;
  } catch (error) {
    if (error instanceof StoreError && error.code === 'duplicate') return deps.store.getDeployment(id);
    throw error;
  }
}

function environmentOf(deps: DeployDeps, run: GitHubRun): string | null {
  const names = deps.config.environments.map((e) => e.name);
  const title = run.display_title ?? '';
  const named = names.find((n) => new RegExp(`(^|[\\s:(])${n}($|[\\s:)])`, 'i').test(title));
  if (named) return named;
  return deps.config.environments.find((e) => e.branch === run.head_branch)?.name ?? null;
}
