import { type EnvironmentSpec, findEnvironment } from './environment.ts';
import { type AccessList, rolesOf } from './roles.ts';

/** A GitHub repository, owner and name only (never credentials). */
export type Repository = { owner: string; repo: string };

/**
 * One deployable service: a repository with its deploy workflow and environments, plus the people
 * who may deploy it on top of the global lists (`ADMIN_TELEGRAM_IDS`, `STAGING_TELEGRAM_IDS`).
 * Without `services:` in DEPLOYBOT_CONFIG there is exactly one, named after the repository.
 */
export type Service = {
  /** `^[a-z][a-z0-9-]{0,31}$`, unique; what commands, buttons, the store and metrics call it. */
  name: string;
  repository: Repository;
  /** The workflow file dispatched (or its numeric id). */
  workflow: string;
  /** In the order configured; at least one. */
  environments: EnvironmentSpec[];
  /** Telegram user ids holding the admin role for this service only. */
  admins: number[];
  /** Telegram user ids holding the staging (deployer) role for this service only. */
  deployers: number[];
  /** The chats this service belongs to: runs started outside Telegram are told there; empty: none named. */
  chats: number[];
};

/** A service name: the same shape as an environment name, so it fits callback data and metric labels. */
export const SERVICE_NAME = /^[a-z][a-z0-9-]{0,31}$/;

/**
 * The name of the implicit service of a single-repository configuration: the repository's name,
 * lower-cased, other characters as `-`; `default` when nothing usable is left.
 */
export function implicitServiceName(repo: string): string {
  const name = repo
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .slice(0, 32)
    .replace(/-+$/, '');
  return SERVICE_NAME.test(name) ? name : 'default';
}

/** Who holds which role for this service: the global lists plus the service's own grants. */
export function serviceAccess(
  service: Pick<Service, 'admins' | 'deployers'>,
  global: AccessList,
): { adminIds: number[]; stagingIds: number[] } {
  return {
    adminIds: [...new Set([...global.adminIds, ...service.admins])],
    stagingIds: [...new Set([...global.stagingIds, ...service.deployers])],
  };
}

/** Whether the user holds any role in any service (else the bot treats them as a stranger). */
export function hasAnyRole(userId: number, services: readonly Service[], global: AccessList): boolean {
  if (rolesOf(userId, global).length > 0) return true;
  return services.some((s) => rolesOf(userId, serviceAccess(s, global)).length > 0);
}

/** The configured service of that name, case-insensitively; undefined when there is none. */
export function findService(services: readonly Service[], name: string): Service | undefined {
  const wanted = name.trim().toLowerCase();
  return services.find((s) => s.name === wanted);
}

/** The service whose repository this is (GitHub compares owner and name case-insensitively). */
export function serviceOfRepository(
  services: readonly Service[],
  repository: Repository,
): Service | undefined {
  const owner = repository.owner.toLowerCase();
  const repo = repository.repo.toLowerCase();
  return services.find(
    (s) => s.repository.owner.toLowerCase() === owner && s.repository.repo.toLowerCase() === repo,
  );
}

/** Why a command's service could not be settled: stable codes. */
export type ServiceChoiceRefusal = 'service_required' | 'unknown_service';

export type ServiceChoice =
  | { ok: true; service: Service; rest: string[] }
  | { ok: false; reason: ServiceChoiceRefusal; message: string };

/**
 * The service a command's words name, and the words after it. The first word is the service when
 * it names one (with a single service, only when it is not also one of its environments, so a
 * single-repository configuration reads as before). Otherwise the service may be left out when
 * only one exists or the chat belongs to exactly one.
 */
export function chooseService(
  services: readonly Service[],
  chatId: number,
  words: readonly string[],
): ServiceChoice {
  const [first, ...rest] = words;
  const named = first === undefined ? undefined : findService(services, first);
  const only = services.length === 1 ? services[0] : undefined;
  if (named && !(only && first !== undefined && findEnvironment(only.environments, first))) {
    return { ok: true, service: named, rest };
  }
  if (only) return { ok: true, service: only, rest: [...words] };
  const ofChat = services.filter((s) => s.chats.includes(chatId));
  if (ofChat.length === 1 && ofChat[0]) return { ok: true, service: ofChat[0], rest: [...words] };
  const names = services.map((s) => s.name).join(', ');
  if (first !== undefined && !findEnvironmentInAny(services, first)) {
    return {
      ok: false,
      reason: 'unknown_service',
      message: `There is no service "${clip(first)}". Services: ${names}.`,
    };
  }
  return { ok: false, reason: 'service_required', message: `Name the service first. Services: ${names}.` };
}

function findEnvironmentInAny(services: readonly Service[], name: string): boolean {
  return services.some((s) => findEnvironment(s.environments, name) !== undefined);
}

function clip(text: string): string {
  const oneLine = text.replace(/\p{Cc}/gu, ' ');
  return oneLine.length > 40 ? `${oneLine.slice(0, 40)}…` : oneLine;
}
