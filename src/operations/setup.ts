import { Api } from 'grammy';
import type { Config } from '../config.ts';
import { describeConfig } from '../describe-config.ts';
import { createGitHubClient, type GitHubClient } from '../github/github-client.ts';
import { toGitHubError } from '../github/github-error.ts';
import { createServiceGitHub } from '../github/service-clients.ts';
import { redactSecrets } from '../logger.ts';
import { openStore } from '../store/open-store.ts';
import { commandsFor } from '../telegram/command-list.ts';

type Check = { name: string; run: () => Promise<string> };

/** A check that found something wrong (not a failed request): its message says what to do. */
class DoctorProblem extends Error {
  override name = 'DoctorProblem';
}

const print = (line: string) => process.stdout.write(`${line}\n`);

/**
 * `deploybot doctor`: the configuration (secrets shown only as set / not set), then whether
 * Telegram, GitHub, the deploy workflow and the store answer. Exit code 1 when any check fails.
 */
export async function runDoctor(config: Readonly<Config>): Promise<number> {
  for (const line of describeConfig(config)) print(line);
  const github = createGitHubClient(config.github, { retries: 0 });
  const repo = { owner: config.github.owner, repo: config.github.repo };
  const checks: Check[] = [
    {
      name: 'Telegram',
      run: async () => {
        const me = await new Api(config.telegram.token, { apiRoot: config.telegram.apiRoot }).getMe();
        return `bot @${me.username}`;
      },
    },
    {
      name: 'GitHub repository',
      run: async () => (await github.rest.repos.get(repo)).data.full_name,
    },
    {
      name: 'Deploy workflow',
      run: async () => {
        const wf = /^\d+$/.test(config.github.workflow)
          ? Number(config.github.workflow)
          : config.github.workflow;
        const { data } = await github.rest.actions.getWorkflow({ ...repo, workflow_id: wf });
        return `${data.path} (${data.state})`;
      },
    },
    {
      name: 'OIDC subject (only deploy.yml on the default branch can build)',
      run: () => checkOidcSubject(github, repo),
    },
    {
      name: 'Store',
      run: async () => {
        const store = await openStore(config.databaseUrl);
        try {
          await store.migrate();
          await store.ping();
          return config.databaseUrl.startsWith('postgres') ? 'PostgreSQL answers' : 'SQLite file ready';
        } finally {
          await store.close();
        }
      },
    },
  ];
  let failed = 0;
  for (const check of checks) {
    try {
      print(`✔ ${check.name}: ${await check.run()}`);
    } catch (error) {
      failed++;
      if (error instanceof DoctorProblem) {
        print(`✘ ${check.name}: ${error.message}`);
        continue;
      }
      const message = error instanceof Error ? toGitHubError(error, check.name).userMessage : String(error);
      print(
        `✘ ${check.name}: ${redactSecrets(error instanceof Error ? `${message} (${error.message})` : message, config.secrets)}`,
      );
    }
  }
  return failed === 0 ? 0 : 1;
}

/**
 * The repository's OIDC subject must carry `job_workflow_ref`, or the roles' trust (Terraform
 * `iam.tf`) cannot tell deploy.yml on the default branch from any other workflow (docs/security.md).
 * @throws {Error} naming the one command that sets it.
 */
async function checkOidcSubject(
  github: GitHubClient,
  repo: { owner: string; repo: string },
): Promise<string> {
  const { data } = await github.rest.actions.getCustomOidcSubClaimForRepo(repo);
  const keys = data.include_claim_keys ?? [];
  if (!data.use_default && keys.includes('job_workflow_ref')) return `customised: ${keys.join(', ')}`;
  throw new DoctorProblem(
    `the subject is GitHub's default, so any branch's workflow matches the roles' trust. Set it: gh api -X PUT repos/${repo.owner}/${repo.repo}/actions/oidc/customization/sub --input - <<<'{"use_default":false,"include_claim_keys":["repo","context","job_workflow_ref"]}' (or terraform apply, terraform/github.tf)`,
  );
}

/**
 * `deploybot setup`: points Telegram at `PUBLIC_URL/telegram/webhook` with the secret token (or
 * removes the webhook in polling mode), registers the command menu per role, and creates or updates
 * the repository webhook on GitHub for the three events the bot follows.
 */
export async function runSetup(config: Readonly<Config>): Promise<number> {
  const api = new Api(config.telegram.token, { apiRoot: config.telegram.apiRoot });
  let failed = 0;
  const step = async (name: string, run: () => Promise<string>) => {
    try {
      print(`✔ ${name}: ${await run()}`);
    } catch (error) {
      failed++;
      print(
        `✘ ${name}: ${redactSecrets(error instanceof Error ? error.message : String(error), config.secrets)}`,
      );
    }
  };
  await step('Telegram webhook', async () => {
    if (config.telegram.mode === 'polling') {
      await api.deleteWebhook();
      return 'removed (polling mode)';
    }
    if (!config.publicUrl || !config.telegram.webhookSecret)
      throw new Error('PUBLIC_URL and TELEGRAM_WEBHOOK_SECRET are required in webhook mode');
    const url = `${config.publicUrl}/telegram/webhook`;
    await api.setWebhook(url, {
      secret_token: config.telegram.webhookSecret,
      allowed_updates: ['message', 'callback_query'],
      max_connections: 10,
    });
    return url;
  });
  await step('Telegram command menu', async () => {
    const options = { accounts: config.accounts !== null, services: config.services.length > 1 };
    await api.setMyCommands(menu(['staging'], options), { scope: { type: 'default' } });
    // Admins of any service get the admin menu in their private chat.
    const admins = [...new Set([...config.access.adminIds, ...config.services.flatMap((s) => s.admins)])];
    for (const id of admins) {
      await api.setMyCommands(menu(['admin', 'staging'], options), { scope: { type: 'chat', chat_id: id } });
    }
    return `default menu + ${admins.length} admin menu(s)`;
  });
  await step('GitHub webhook', async () => {
    const secret = config.github.webhookSecret;
    if (!config.publicUrl || !secret)
      return 'skipped (no PUBLIC_URL or GITHUB_WEBHOOK_SECRET: reconciliation by polling only)';
    const url = `${config.publicUrl}/github/webhook`;
    // Every service's repository sends its runs to the same route.
    const clients = createServiceGitHub(config, { retries: 0 });
    const done: string[] = [];
    for (const service of config.services) {
      const repo = { ...service.repository };
      const verb = await registerWebhook(clients.github(service), repo, url, secret);
      done.push(config.services.length > 1 ? `${verb} on ${repo.owner}/${repo.repo}` : verb);
    }
    return `${done.join(', ')} ${url}`;
  });
  return failed === 0 ? 0 : 1;
}

/**
 * Creates or updates the bot's webhook on one repository.
 * @throws {Error} saying how to create it by hand when GitHub refuses.
 */
async function registerWebhook(
  github: GitHubClient,
  repo: { owner: string; repo: string },
  url: string,
  secret: string,
): Promise<'created' | 'updated'> {
  const hookConfig = { url, content_type: 'json' as const, secret, insecure_ssl: '0' as const };
  const events = ['workflow_run', 'workflow_job', 'deployment_status'];
  try {
    const { data: hooks } = await github.rest.repos.listWebhooks(repo);
    const existing = hooks.find((h) => h.config.url === url);
    if (existing) {
      await github.rest.repos.updateWebhook({
        ...repo,
        hook_id: existing.id,
        config: hookConfig,
        events,
        active: true,
      });
      return 'updated';
    }
    await github.rest.repos.createWebhook({ ...repo, config: hookConfig, events, active: true });
    return 'created';
  } catch (error) {
    const failure = toGitHubError(error, 'repository webhooks');
    throw new Error(
      `${failure.userMessage} Create it by hand on ${repo.owner}/${repo.repo}: Settings → Webhooks → ${url}, content type JSON, the GITHUB_WEBHOOK_SECRET, events: ${events.join(', ')}.`,
    );
  }
}

function menu(roles: Parameters<typeof commandsFor>[0], options: Parameters<typeof commandsFor>[1]) {
  return commandsFor(roles, options).map((c) => ({ command: c.name, description: c.description }));
}
