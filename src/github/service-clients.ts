import type { Config } from '../config.ts';
import type { Service } from '../core/service.ts';
import { cachedDefaultBranch } from './default-branch.ts';
import { createGitHubClient, type GitHubClient, type GitHubClientOptions } from './github-client.ts';

/** The GitHub side of every configured service, built on first use and kept. */
export type ServiceGitHub = {
  /** The client for a service's repository: one for all with a token, one per owner with a GitHub App. */
  github: (service: Service) => GitHubClient;
  /** The repository's default branch, asked once per service (a failed lookup is asked again). */
  defaultBranch: (service: Service) => () => Promise<string>;
};

/**
 * GitHub clients per service. A token serves every repository it can reach. A GitHub App serves
 * the first service's owner through GITHUB_APP_INSTALLATION_ID and every other owner through the
 * installation GitHub names for that owner's repository (`GET /repos/{owner}/{repo}/installation`,
 * asked once); @octokit/auth-app caches and renews each installation's token.
 */
export function createServiceGitHub(
  config: Readonly<Config>,
  options: GitHubClientOptions = {},
): ServiceGitHub {
  const clients = new Map<string, GitHubClient>();
  const branches = new Map<string, () => Promise<string>>();
  const configuredOwner = config.github.owner.toLowerCase();
  const github = (service: Service): GitHubClient => {
    const owner = service.repository.owner.toLowerCase();
    const key = config.github.auth.kind === 'token' || owner === configuredOwner ? '' : owner;
    let client = clients.get(key);
    if (!client) {
      client = createGitHubClient(config.github, {
        ...options,
        ...(key !== '' && { installationOf: service.repository }),
      });
      clients.set(key, client);
    }
    return client;
  };
  const defaultBranch = (service: Service): (() => Promise<string>) => {
    let branch = branches.get(service.name);
    if (!branch) {
      branch = cachedDefaultBranch(github(service), service.repository);
      branches.set(service.name, branch);
    }
    return branch;
  };
  return { github, defaultBranch };
}
