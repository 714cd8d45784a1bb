import { createRequire } from 'node:module';
import { z } from 'zod';
import { issueLines } from './config-issues.ts';
import { parseServices, type ServiceSettings } from './config-services.ts';
import {
  DEFAULT_APPROVAL_RULE,
  ENVIRONMENT_NAME,
  type EnvironmentSpec,
  type RefRule,
} from './core/environment.ts';
import { allowedRefKinds } from './core/ref-policy.ts';

export type EnvironmentsResult =
  | {
      ok: true;
      environments: EnvironmentSpec[];
      /** The `services:` of the file; absent: a single-repository configuration. */
      services?: ServiceSettings[];
    }
  /** `usesServices`: the file has `services:` (so GITHUB_REPOSITORY is not required), even if broken. */
  | { ok: false; problems: string[]; usesServices?: boolean };

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

/**
 * Git's ref-name rules (git check-ref-format), so a typo in a branch is caught at start rather
 * than at the first /deploy. Globs may additionally contain `*`.
 */
function refNameProblem(value: string, glob: boolean): string | null {
  const forbidden = glob ? /[\s~^:?[\\\p{Cc}]/u : /[\s~^:?*[\\\p{Cc}]/u;
  if (value === '') return 'must not be empty';
  if (forbidden.test(value)) return `${JSON.stringify(value)} contains a character git refuses in ref names`;
  if (value.includes('..') || value.includes('//') || value.includes('@{')) {
    return `${JSON.stringify(value)} is not a valid git ref name`;
  }
  if (/^[-/.]|[/.]$|\.lock$/.test(value)) return `${JSON.stringify(value)} is not a valid git ref name`;
  return null;
}

const branchName = z.string({ error: 'expected a branch name' }).superRefine((value, ctx) => {
  const problem = refNameProblem(value, false);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** An absolute http(s) URL; other schemes (file:, javascript:) never reach fetch. */
export function httpUrlProblem(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not a URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http:// or https:// URL';
  return null;
}

const httpUrl = z.string({ error: 'expected a URL' }).superRefine((value, ctx) => {
  const problem = httpUrlProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** `tag:<glob>`, `branch:<glob>`, `sha`, or a bare branch glob. */
function parseRefRule(text: string): RefRule | string {
  if (text === 'sha') return { kind: 'sha' };
  const match = /^(tag|branch):(.*)$/s.exec(text);
  const kind = match?.[1] === 'tag' ? 'tag' : 'branch';
  const pattern = match ? (match[2] ?? '') : text;
  if (!match && text.includes(':')) {
    return `unknown ref rule ${JSON.stringify(text)} (use a branch glob, "tag:<glob>" or "sha")`;
  }
  const problem = refNameProblem(pattern, true);
  return problem ? `${kind} pattern ${problem}` : { kind, pattern };
}

const refRule = z.string({ error: 'expected a string' }).transform((text, ctx): RefRule => {
  const rule = parseRefRule(text);
  if (typeof rule === 'string') {
    ctx.addIssue({ code: 'custom', message: rule });
    return z.NEVER;
  }
  return rule;
});

const time = (allow24: boolean) =>
  z
    .string({ error: 'expected a time "HH:MM"' })
    .regex(allow24 ? /^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$/ : /^(?:[01]\d|2[0-3]):[0-5]\d$/, {
      error: (issue) =>
        `${JSON.stringify(issue.input)} is not a time "HH:MM" (00:00 to ${allow24 ? '24:00' : '23:59'})`,
    });

const windowRule = z
  .strictObject({
    days: z
      .array(z.enum(WEEKDAYS, { error: `expected one of ${WEEKDAYS.join(', ')}` }), {
        error: 'expected a list of days',
      })
      .min(1, { error: 'at least one day' })
      .transform((days) => WEEKDAYS.filter((day) => days.includes(day))),
    from: time(false),
    to: time(true),
  })
  // Zero-padded HH:MM strings compare in time order.
  .refine((rule) => rule.from < rule.to, {
    path: ['to'],
    error: 'must be later than from',
    // Also when `days` is wrong, so both problems show at once; not when a time itself is bad.
    when: (payload) =>
      !payload.issues.some((issue) => issue.path?.[0] === 'from' || issue.path?.[0] === 'to'),
  });

/** Canonical IANA name, or null when `Intl` (full ICU in Node) does not know the zone. */
export function canonicalTimeZone(name: string): string | null {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

const windows = z.strictObject({
  timezone: z.string({ error: 'expected an IANA time zone name' }).transform((name, ctx) => {
    const zone = canonicalTimeZone(name);
    if (zone) return zone;
    ctx.addIssue({
      code: 'custom',
      message: `${JSON.stringify(name)} is not an IANA time zone (e.g. Europe/Berlin)`,
    });
    return z.NEVER;
  }),
  allow: z
    .array(windowRule, { error: 'expected a list of windows' })
    .min(1, { error: 'at least one window' }),
});

const approvalSchema = z.strictObject(
  {
    min_reviewers: z
      .number({ error: 'expected a whole number from 1 to 10' })
      .int({ error: 'expected a whole number from 1 to 10' })
      .min(1, { error: 'at least 1' })
      .max(10, { error: 'at most 10' })
      .optional(),
    not_requester: z.boolean({ error: 'expected true or false' }).optional(),
  },
  { error: 'expected a mapping with min_reviewers and/or not_requester' },
);

const environmentSchema = z.strictObject(
  {
    branch: branchName.optional(),
    role: z.enum(['admin', 'staging'], { error: 'must be admin or staging' }).optional(),
    confirm: z.boolean({ error: 'expected true or false' }).optional(),
    refs: z
      .array(refRule, { error: 'expected a list of ref rules' })
      .min(1, { error: 'at least one ref rule' })
      .optional(),
    health_url: httpUrl.optional(),
    windows: windows.optional(),
    approval: approvalSchema.optional(),
  },
  { error: 'expected a mapping of settings' },
);

// Environments are checked one by one (below) so one broken environment does not hide the
// problems of the others.
const fileSchema = z.strictObject(
  {
    environments: z
      .record(z.string(), z.unknown(), {
        error: 'required: a mapping of environment name to settings',
      })
      .optional(),
    services: z
      .record(z.string(), z.unknown(), { error: 'expected a mapping of service name to settings' })
      .optional(),
  },
  { error: 'expected a mapping with the key "environments"' },
);

/** `<NAME>_HEALTH_URL` for an environment name (`eu-west` → `EU_WEST_HEALTH_URL`). */
export function healthUrlVariable(name: string): string {
  return `${name.toUpperCase().replaceAll('-', '_')}_HEALTH_URL`;
}

function envHealthUrl(
  env: Record<string, string | undefined>,
  name: string,
  problems: string[],
): string | null {
  const variable = healthUrlVariable(name);
  const value = env[variable]?.trim();
  if (!value) return null;
  const problem = httpUrlProblem(value);
  if (problem) {
    problems.push(`${variable}: ${problem}`);
    return null;
  }
  return value;
}

/** The two environments used when no DEPLOYBOT_CONFIG is given (docs/architecture.md, "Environment variables"). */
export function defaultEnvironments(env: Record<string, string | undefined>): EnvironmentsResult {
  const problems: string[] = [];
  const environments: EnvironmentSpec[] = [
    {
      name: 'staging',
      branch: 'develop',
      refs: [{ kind: 'branch', pattern: '**' }, { kind: 'tag', pattern: '**' }, { kind: 'sha' }],
      role: 'staging',
      confirm: false,
      windows: null,
      healthUrl: envHealthUrl(env, 'staging', problems),
    },
    {
      name: 'production',
      branch: 'main',
      refs: [{ kind: 'branch', pattern: 'main' }],
      role: 'admin',
      confirm: true,
      windows: null,
      healthUrl: envHealthUrl(env, 'production', problems),
    },
  ];
  return problems.length > 0 ? { ok: false, problems } : { ok: true, environments };
}

/**
 * The `yaml` package, loaded the first time a YAML file is read (a plain `require`, so parsing stays
 * synchronous): without DEPLOYBOT_CONFIG, its 70-odd modules would cost memory for nothing.
 */
function loadYaml(): typeof import('yaml') {
  return createRequire(import.meta.url)('yaml');
}

function parseText(file: {
  path: string;
  text: string;
}): { ok: true; data: unknown } | { ok: false; problem: string } {
  const lower = file.path.toLowerCase();
  try {
    if (lower.endsWith('.json')) return { ok: true, data: JSON.parse(file.text) };
    if (lower.endsWith('.yml') || lower.endsWith('.yaml')) {
      // uniqueKeys (the default) turns a duplicated environment into an error, not a silent override.
      return { ok: true, data: loadYaml().parse(file.text, { prettyErrors: true }) };
    }
  } catch (error) {
    const message = (error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error)).replace(
      /:$/,
      '',
    );
    return { ok: false, problem: `not valid ${lower.endsWith('.json') ? 'JSON' : 'YAML'}: ${message}` };
  }
  return { ok: false, problem: 'expected a .yml, .yaml or .json file' };
}

/**
 * The environments of one `environments:` mapping (at `at`: top level, or under a service), checked
 * one by one so one broken environment does not hide the problems of the others. Problems are
 * pushed as `<prefix>: <key path>: <what is wrong>`.
 */
export function parseEnvironments(
  mapping: Record<string, unknown>,
  at: readonly string[],
  env: Record<string, string | undefined>,
  prefix: string,
  problems: string[],
): EnvironmentSpec[] {
  const environments: EnvironmentSpec[] = [];
  const where = at.join('.');
  for (const [name, raw] of Object.entries(mapping)) {
    if (!ENVIRONMENT_NAME.test(name)) {
      problems.push(
        `${prefix}: ${where}: ${JSON.stringify(name)} is not an environment name (a-z, 0-9 and -, starting with a letter, at most 32)`,
      );
    }
    // `production:` with nothing under it in YAML is null: all defaults.
    const checked = environmentSchema.safeParse(raw ?? {});
    if (!checked.success) {
      const lines = checked.error.issues.flatMap((issue) => issueLines(issue, [...at, name]));
      problems.push(...lines.map((line) => `${prefix}: ${line}`));
      continue;
    }
    const settings = checked.data;
    const branch = settings.branch ?? 'main';
    const refs: RefRule[] = settings.refs ?? [{ kind: 'branch', pattern: branch }];
    if (!allowedRefKinds(refs, branch, false).branch) {
      problems.push(
        `${prefix}: ${where}.${name}.branch: ${JSON.stringify(branch)} is not allowed by its refs (add it to refs)`,
      );
    }
    environments.push({
      name,
      branch,
      refs,
      role: settings.role ?? 'admin',
      confirm: settings.confirm ?? true,
      windows: settings.windows ?? null,
      healthUrl: settings.health_url ?? envHealthUrl(env, name, problems),
      ...(settings.approval && {
        approval: {
          minReviewers: settings.approval.min_reviewers ?? DEFAULT_APPROVAL_RULE.minReviewers,
          notRequester: settings.approval.not_requester ?? DEFAULT_APPROVAL_RULE.notRequester,
        },
      }),
    });
  }
  return environments;
}

/**
 * Environments from the DEPLOYBOT_CONFIG file (YAML or JSON by extension), with per-key defaults
 * (branch main, role admin, confirm true, refs = the branch only). Never throws: every problem is
 * one line `DEPLOYBOT_CONFIG (<path>): <key path>: <what is wrong>`.
 */
export function parseConfigFile(
  file: { path: string; text: string },
  env: Record<string, string | undefined>,
): EnvironmentsResult {
  const prefix = `DEPLOYBOT_CONFIG (${file.path})`;
  const parsed = parseText(file);
  if (!parsed.ok) return { ok: false, problems: [`${prefix}: ${parsed.problem}`] };
  const result = fileSchema.safeParse(parsed.data ?? {});
  if (!result.success) {
    return {
      ok: false,
      problems: result.error.issues.flatMap((issue) => issueLines(issue)).map((line) => `${prefix}: ${line}`),
    };
  }
  if (result.data.services !== undefined) {
    if (result.data.environments !== undefined) {
      return {
        ok: false,
        problems: [`${prefix}: environments: give the environments under each service when services: is set`],
        usesServices: true,
      };
    }
    const services = parseServices(result.data.services, prefix, (raw, at, problems) =>
      parseEnvironments(raw, at, {}, prefix, problems),
    );
    return services.ok ? services : { ...services, usesServices: true };
  }
  if (result.data.environments === undefined) {
    return {
      ok: false,
      problems: [`${prefix}: environments: required: a mapping of environment name to settings`],
    };
  }
  const problems: string[] = [];
  const environments = parseEnvironments(result.data.environments, ['environments'], env, prefix, problems);
  if (environments.length === 0 && problems.length === 0) {
    problems.push(`${prefix}: environments: at least one environment is required`);
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, environments };
}

/** The environments (and services) of the DEPLOYBOT_CONFIG file, else the two defaults. Never throws. */
export function readEnvironments(
  env: Record<string, string | undefined>,
  configSet: boolean,
  configFile: { path: string; text: string } | undefined,
): EnvironmentsResult {
  if (configFile) return parseConfigFile(configFile, env);
  if (!configSet) return defaultEnvironments(env);
  return {
    ok: false,
    problems: ['DEPLOYBOT_CONFIG: set, but the file was not read (use loadConfigFromEnvironment)'],
  };
}
