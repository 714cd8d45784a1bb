import type { Config } from '../config.ts';
import {
  chooseService,
  findService,
  type Service,
  type ServiceChoiceRefusal,
  serviceAccess,
} from '../core/service.ts';
import type { DeployDeps, ServiceClients } from './deploy-deps.ts';

/**
 * The deps of `service`: its repository, GitHub client and default branch, and a config whose
 * `environments`, `github.owner/repo/workflow` and `access` (global lists plus the service's grants)
 * are the service's. The use cases read only these, so each acts for one service without knowing
 * that there are several.
 */
export function withService(deps: DeployDeps, service: Service): DeployDeps {
  if (deps.service === service) return deps;
  return {
    ...deps,
    service,
    config: serviceConfig(deps.services.config, service),
    repo: { owner: service.repository.owner, repo: service.repository.repo },
    github: deps.services.github(service),
    defaultBranch: deps.services.defaultBranch(service),
  };
}

/**
 * The deps of the service a stored record or lock names; the first service for `''` (rows made
 * before services, until adopted) and for a name no longer configured (so old records still show).
 */
export function forServiceName(deps: DeployDeps, name: string): DeployDeps {
  const services = deps.services.config.services;
  const service = findService(services, name) ?? services[0];
  return service ? withService(deps, service) : deps;
}

/**
 * The deps of the service a stored record names, for acting on it (a dispatch, an approval): null
 * when that service is no longer configured. Unlike {@link forServiceName}, never another service's
 * repository: acting there would dispatch or approve in the wrong repository.
 */
export function actingForService(deps: DeployDeps, name: string): DeployDeps | null {
  const services = deps.services.config.services;
  const service = name === '' ? services[0] : findService(services, name);
  return service ? withService(deps, service) : null;
}

/** Why a button of a service no longer in the configuration does nothing. */
export function noLongerConfigured(service: string): string {
  return `This belongs to the service "${service}", which is no longer configured. Nothing was done.`;
}

/** The configuration as one service's use cases see it. */
export function serviceConfig(config: Readonly<Config>, service: Service): Readonly<Config> {
  return {
    ...config,
    access: serviceAccess(service, config.access),
    environments: service.environments,
    github: {
      ...config.github,
      owner: service.repository.owner,
      repo: service.repository.repo,
      workflow: service.workflow,
    },
  };
}

export type ServiceArgument =
  | { ok: true; deps: DeployDeps; words: string[] }
  | { ok: false; reason: ServiceChoiceRefusal; message: string };

/**
 * The service a command names (`/deploy <service> <env>`), and the deps and words for its use case.
 * The service may be left out when only one exists or the chat belongs to exactly one (see
 * `chooseService`); otherwise the refusal names the services.
 */
export function serviceArgument(deps: DeployDeps, chatId: number, words: readonly string[]): ServiceArgument {
  const choice = chooseService(deps.services.config.services, chatId, words);
  if (!choice.ok) return choice;
  return { ok: true, deps: withService(deps, choice.service), words: choice.rest };
}

/**
 * The part of `DeployDeps` that names a service, for the first service (what deps built in main.ts
 * act for until `withService` says otherwise).
 * @throws {Error} when no service is configured (loadConfig never yields that).
 */
export function firstServiceDeps(
  config: Readonly<Config>,
  gitHub: Pick<ServiceClients, 'github' | 'defaultBranch'>,
): Pick<DeployDeps, 'config' | 'github' | 'repo' | 'service' | 'services' | 'defaultBranch'> {
  const [service] = config.services;
  if (!service) throw new Error('no service configured');
  return {
    config: serviceConfig(config, service),
    github: gitHub.github(service),
    repo: { owner: service.repository.owner, repo: service.repository.repo },
    service,
    services: { config, github: gitHub.github, defaultBranch: gitHub.defaultBranch },
    defaultBranch: gitHub.defaultBranch(service),
  };
}

/**
 * How a command names an environment of the deps' service: `staging` with one service,
 * `shop staging` with several (so the hint in a message can be typed as it is).
 */
export function commandTarget(
  deps: { service: { name: string }; services: { config: { services: readonly unknown[] } } },
  environment: string,
): string {
  return deps.services.config.services.length > 1 ? `${deps.service.name} ${environment}` : environment;
}
