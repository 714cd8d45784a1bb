import { z } from 'zod';
import { issueLines } from './config-issues.ts';
import type { EnvironmentSpec } from './core/environment.ts';
import { findEnvironment } from './core/environment.ts';
import { implicitServiceName, SERVICE_NAME, type Service } from './core/service.ts';

/** A service as the file gives it: the workflow is null when the file names none (DEPLOY_WORKFLOW, else deploy.yml). */
export type ServiceSettings = Omit<Service, 'workflow'> & { workflow: string | null };

/** Telegram user and chat ids fit in 52 bits (Bot API docs). */
const MAX_ID = 2 ** 52;

const userIds = z
  .array(
    z
      .number({ error: 'expected a Telegram user id (a positive whole number)' })
      .int({ error: 'expected a Telegram user id (a positive whole number)' })
      .positive({ error: 'expected a Telegram user id (user ids are positive)' })
      .max(MAX_ID, { error: 'too large for a Telegram id' }),
    { error: 'expected a list of Telegram user ids' },
  )
  .transform((ids) => [...new Set(ids)]);

const chatIds = z
  .array(
    z
      .number({ error: 'expected a Telegram chat id (a whole number, negative for groups)' })
      .int({ error: 'expected a Telegram chat id (a whole number, negative for groups)' })
      .refine((id) => id !== 0 && Math.abs(id) <= MAX_ID, { error: 'is not a Telegram chat id' }),
    { error: 'expected a list of Telegram chat ids' },
  )
  .transform((ids) => [...new Set(ids)]);

// Same rules as GITHUB_REPOSITORY (config.ts): owner alphanumeric with single hyphens, repo [A-Za-z0-9._-].
const repository = z
  .string({ error: 'required: owner/repo (e.g. acme/shop)' })
  .regex(
    /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}\/(?!\.\.?$)(?![^/]*\.git$)[A-Za-z0-9._-]{1,100}$/,
    {
      error: (issue) => `${JSON.stringify(issue.input)} is not owner/repo (e.g. acme/shop, no .git)`,
    },
  );

const workflow = z
  .string({ error: 'expected a workflow file name' })
  .regex(/^(?:[A-Za-z0-9._-]+\.ya?ml|\d+)$/, {
    error: (issue) =>
      `${JSON.stringify(issue.input)} is not a workflow file name ending .yml/.yaml (e.g. deploy.yml) or a numeric workflow id`,
  });

const serviceSchema = z.strictObject(
  {
    repository,
    workflow: workflow.optional(),
    environments: z.record(z.string(), z.unknown(), {
      error: 'required: a mapping of environment name to settings',
    }),
    admins: userIds.optional(),
    deployers: userIds.optional(),
    chats: chatIds.optional(),
  },
  { error: 'expected a mapping with repository and environments' },
);

/** Parses one service's `environments:` mapping, pushing problems; supplied by config-file.ts. */
export type EnvironmentsParser = (
  mapping: Record<string, unknown>,
  at: readonly string[],
  problems: string[],
) => EnvironmentSpec[];

/**
 * The `services:` of DEPLOYBOT_CONFIG: each with its repository, workflow, environments, role grants
 * and chats. Never throws: every problem is one line `<prefix>: services.<name>.<key>: <what>`, and
 * one broken service does not hide the others' problems. Start-up errors: unknown keys, a bad
 * name, a missing or duplicate repository, a service without environments, a service name that is
 * also an environment name (a command could read either), no service at all.
 */
export function parseServices(
  mapping: Record<string, unknown>,
  prefix: string,
  parseEnvironments: EnvironmentsParser,
):
  | { ok: true; environments: EnvironmentSpec[]; services: ServiceSettings[] }
  | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const services: ServiceSettings[] = [];
  for (const [name, raw] of Object.entries(mapping)) {
    const at = ['services', name];
    if (!SERVICE_NAME.test(name)) {
      problems.push(
        `${prefix}: services: ${JSON.stringify(name)} is not a service name (a-z, 0-9 and -, starting with a letter, at most 32)`,
      );
    }
    const checked = serviceSchema.safeParse(raw ?? {});
    if (!checked.success) {
      problems.push(
        ...checked.error.issues.flatMap((issue) => issueLines(issue, at)).map((l) => `${prefix}: ${l}`),
      );
      continue;
    }
    const settings = checked.data;
    const environments = parseEnvironments(settings.environments, [...at, 'environments'], problems);
    if (Object.keys(settings.environments).length === 0) {
      problems.push(`${prefix}: services.${name}.environments: at least one environment is required`);
    }
    const [owner = '', repo = ''] = settings.repository.split('/');
    services.push({
      name,
      repository: { owner, repo },
      workflow: settings.workflow ?? null,
      environments,
      admins: settings.admins ?? [],
      deployers: settings.deployers ?? [],
      chats: settings.chats ?? [],
    });
  }
  problems.push(...crossServiceProblems(services).map((line) => `${prefix}: ${line}`));
  if (services.length === 0 && problems.length === 0) {
    problems.push(`${prefix}: services: at least one service is required`);
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, environments: services[0]?.environments ?? [], services };
}

/** Problems only the services together show: a repository twice, a service named like an environment. */
function crossServiceProblems(services: readonly ServiceSettings[]): string[] {
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const service of services) {
    const key = `${service.repository.owner}/${service.repository.repo}`.toLowerCase();
    const first = seen.get(key);
    if (first) {
      problems.push(
        `services.${service.name}.repository: ${key} is already the repository of service ${first} (one service per repository)`,
      );
    } else seen.set(key, service.name);
    const clash = services.find((other) => findEnvironment(other.environments, service.name));
    if (clash) {
      problems.push(
        `services.${service.name}: the name is also an environment of service ${clash.name} (commands could read either; rename one)`,
      );
    }
  }
  return problems;
}

/**
 * The configured services: the file's, each workflow defaulting to DEPLOY_WORKFLOW; without
 * `services:` the one implicit service of GITHUB_REPOSITORY, DEPLOY_WORKFLOW and the environments,
 * named after the repository, with no grants of its own and `TELEGRAM_CHAT_ID`'s chat implied.
 * With `services:`, a GITHUB_REPOSITORY that is set must be one of theirs (its service is listed
 * first: records made before services existed belong to it); else it is a problem line.
 */
export function assembleServices(
  parsed: { ok: true; environments: EnvironmentSpec[]; services?: ServiceSettings[] } | { ok: false },
  repository: string | undefined,
  workflow: string,
  problems: string[],
): Service[] {
  const fromFile = parsed.ok ? parsed.services : undefined;
  const single = { repository, workflow, environments: parsed.ok ? parsed.environments : [] };
  if (!fromFile) {
    const [owner = '', repo = ''] = (single.repository ?? '').split('/');
    return [
      {
        name: implicitServiceName(repo),
        repository: { owner, repo },
        workflow: single.workflow,
        environments: single.environments,
        admins: [],
        deployers: [],
        chats: [],
      },
    ];
  }
  const services = fromFile.map((s) => ({ ...s, workflow: s.workflow ?? single.workflow }));
  if (single.repository === undefined) return services;
  const wanted = single.repository.toLowerCase();
  const index = services.findIndex(
    (s) => `${s.repository.owner}/${s.repository.repo}`.toLowerCase() === wanted,
  );
  if (index < 0) {
    problems.push(
      `GITHUB_REPOSITORY: ${single.repository} is not the repository of any service in DEPLOYBOT_CONFIG (unset it, or add it as a service)`,
    );
    return services;
  }
  const [legacy] = services.splice(index, 1);
  return legacy ? [legacy, ...services] : services;
}

/** The first service's repository, workflow and environments: `Config.github` and `Config.environments`. */
export function primaryOf(
  services: readonly Service[],
  workflow: string,
): { github: { owner: string; repo: string; workflow: string }; environments: EnvironmentSpec[] } {
  const [first] = services;
  if (!first) return { github: { owner: '', repo: '', workflow }, environments: [] };
  return { github: { ...first.repository, workflow: first.workflow }, environments: first.environments };
}
