import { describe, expect, it } from 'vitest';
import { defaultEnvironments, healthUrlVariable, parseConfigFile } from './config-file.ts';
import type { EnvironmentSpec } from './core/environment.ts';
import { allowedRefKinds, globMatch } from './core/ref-policy.ts';

const EXAMPLE_YAML = `environments:
  staging:
    branch: develop
    role: staging          # admin | staging
    confirm: false
    refs: ["**", "tag:**", "sha"]   # branch glob | "tag:<glob>" | "sha"
    health_url: https://staging.example.com/health
  production:
    branch: main
    role: admin
    confirm: true
    refs: ["main", "hotfix/*"]
    health_url: https://example.com/health
    windows:
      timezone: Europe/Berlin
      allow:
        - { days: [mon, tue, wed, thu], from: "09:00", to: "16:00" }
`;

const EXPECTED: EnvironmentSpec[] = [
  {
    name: 'staging',
    branch: 'develop',
    refs: [{ kind: 'branch', pattern: '**' }, { kind: 'tag', pattern: '**' }, { kind: 'sha' }],
    role: 'staging',
    confirm: false,
    windows: null,
    healthUrl: 'https://staging.example.com/health',
  },
  {
    name: 'production',
    branch: 'main',
    refs: [
      { kind: 'branch', pattern: 'main' },
      { kind: 'branch', pattern: 'hotfix/*' },
    ],
    role: 'admin',
    confirm: true,
    windows: {
      timezone: 'Europe/Berlin',
      allow: [{ days: ['mon', 'tue', 'wed', 'thu'], from: '09:00', to: '16:00' }],
    },
    healthUrl: 'https://example.com/health',
  },
];

function problems(text: string, path = 'deploybot.yml', env: Record<string, string> = {}): string[] {
  const result = parseConfigFile({ path, text }, env);
  if (result.ok) throw new Error('expected problems');
  return result.problems;
}

/** A YAML file with one environment whose settings are `body` (indented under it). */
function one(body: string): string {
  return `environments:\n  production:\n${body
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n')}\n`;
}

describe('parseConfigFile', () => {
  it('reads the documented YAML example, in order', () => {
    expect(parseConfigFile({ path: 'deploybot.yml', text: EXAMPLE_YAML }, {})).toEqual({
      ok: true,
      environments: EXPECTED,
    });
  });

  it('reads the same as JSON', () => {
    const json = JSON.stringify({
      environments: {
        staging: {
          branch: 'develop',
          role: 'staging',
          confirm: false,
          refs: ['**', 'tag:**', 'sha'],
          health_url: 'https://staging.example.com/health',
        },
        production: {
          branch: 'main',
          role: 'admin',
          confirm: true,
          refs: ['main', 'hotfix/*'],
          health_url: 'https://example.com/health',
          windows: {
            timezone: 'Europe/Berlin',
            allow: [{ days: ['mon', 'tue', 'wed', 'thu'], from: '09:00', to: '16:00' }],
          },
        },
      },
    });
    expect(parseConfigFile({ path: '/etc/deploybot/config.JSON', text: json }, {})).toEqual({
      ok: true,
      environments: EXPECTED,
    });
  });

  it('fills defaults per key and takes health URLs from <NAME>_HEALTH_URL only where the file has none', () => {
    const text = 'environments:\n  eu-west:\n  staging:\n    health_url: https://file.example.com/h\n';
    const result = parseConfigFile(
      { path: 'd.yaml', text },
      { EU_WEST_HEALTH_URL: 'https://env.example.com/h', STAGING_HEALTH_URL: 'https://ignored.example.com' },
    );
    expect(result).toEqual({
      ok: true,
      environments: [
        {
          name: 'eu-west',
          branch: 'main',
          refs: [{ kind: 'branch', pattern: 'main' }],
          role: 'admin',
          confirm: true,
          windows: null,
          healthUrl: 'https://env.example.com/h',
        },
        {
          name: 'staging',
          branch: 'main',
          refs: [{ kind: 'branch', pattern: 'main' }],
          role: 'admin',
          confirm: true,
          windows: null,
          healthUrl: 'https://file.example.com/h',
        },
      ],
    });
  });

  it('canonicalises the time zone, sorts and de-duplicates days, accepts 24:00 as an end', () => {
    const text = one(
      'windows:\n  timezone: america/new_york\n  allow:\n    - { days: [fri, mon, fri], from: "22:00", to: "24:00" }',
    );
    const result = parseConfigFile({ path: 'd.yml', text }, {});
    expect(result.ok && result.environments[0]?.windows).toEqual({
      timezone: 'America/New_York',
      allow: [{ days: ['mon', 'fri'], from: '22:00', to: '24:00' }],
    });
  });

  it.each<[string, string, string[]]>([
    [
      'an unknown key, named by its path',
      one('branch: main\nwindws: {}'),
      ['DEPLOYBOT_CONFIG (deploybot.yml): environments.production.windws: unknown key'],
    ],
    [
      'an unknown key deep inside',
      one('windows:\n  timezone: UTC\n  allow:\n    - { days: [mon], from: "09:00", to: "10:00", until: x }'),
      ['DEPLOYBOT_CONFIG (deploybot.yml): environments.production.windows.allow[0].until: unknown key'],
    ],
    [
      'an unknown top-level key',
      'environments:\n  a:\nenviroments: {}\n',
      ['DEPLOYBOT_CONFIG (deploybot.yml): enviroments: unknown key'],
    ],
    [
      'a bad timezone',
      one(
        'windows:\n  timezone: Europe/Atlantis\n  allow:\n    - { days: [mon], from: "09:00", to: "10:00" }',
      ),
      [
        'DEPLOYBOT_CONFIG (deploybot.yml): environments.production.windows.timezone: "Europe/Atlantis" is not an IANA time zone (e.g. Europe/Berlin)',
      ],
    ],
    [
      'a bad time',
      one('windows:\n  timezone: UTC\n  allow:\n    - { days: [mon], from: "9:00", to: "25:00" }'),
      [
        'DEPLOYBOT_CONFIG (deploybot.yml): environments.production.windows.allow[0].from: "9:00" is not a time "HH:MM" (00:00 to 23:59)',
        'DEPLOYBOT_CONFIG (deploybot.yml): environments.production.windows.allow[0].to: "25:00" is not a time "HH:MM" (00:00 to 24:00)',
      ],
    ],
    [
      'from equal to to',
      one('windows:\n  timezone: UTC\n  allow:\n    - { days: [mon], from: "10:00", to: "10:00" }'),
      [
        'DEPLOYBOT_CONFIG (deploybot.yml): environments.production.windows.allow[0].to: must be later than from',
      ],
    ],
    [
      'from after to, with a bad day too',
      one('windows:\n  timezone: UTC\n  allow:\n    - { days: [monday], from: "17:00", to: "09:00" }'),
      [
        'DEPLOYBOT_CONFIG (deploybot.yml): environments.production.windows.allow[0].days[0]: expected one of mon, tue, wed, thu, fri, sat, sun',
        'DEPLOYBOT_CONFIG (deploybot.yml): environments.production.windows.allow[0].to: must be later than from',
      ],
    ],
    [
      'no windows in the list',
      one('windows:\n  timezone: UTC\n  allow: []'),
      ['DEPLOYBOT_CONFIG (deploybot.yml): environments.production.windows.allow: at least one window'],
    ],
    [
      'a branch its refs do not allow',
      one('branch: release\nrefs: ["main", "hotfix/*", "tag:release"]'),
      [
        'DEPLOYBOT_CONFIG (deploybot.yml): environments.production.branch: "release" is not allowed by its refs (add it to refs)',
      ],
    ],
    [
      'a bad role',
      one('role: owner'),
      ['DEPLOYBOT_CONFIG (deploybot.yml): environments.production.role: must be admin or staging'],
    ],
    [
      'a string for confirm',
      one('confirm: "yes"'),
      ['DEPLOYBOT_CONFIG (deploybot.yml): environments.production.confirm: expected true or false'],
    ],
    [
      'bad ref rules',
      one('refs: [main, "foo:bar", "a b", "tag:", 7]'),
      [
        'DEPLOYBOT_CONFIG (deploybot.yml): environments.production.refs[1]: unknown ref rule "foo:bar" (use a branch glob, "tag:<glob>" or "sha")',
        'DEPLOYBOT_CONFIG (deploybot.yml): environments.production.refs[2]: branch pattern "a b" contains a character git refuses in ref names',
        'DEPLOYBOT_CONFIG (deploybot.yml): environments.production.refs[3]: tag pattern must not be empty',
        'DEPLOYBOT_CONFIG (deploybot.yml): environments.production.refs[4]: expected a string',
      ],
    ],
    [
      'a branch git refuses',
      one('branch: "feature..x"\nrefs: ["**"]'),
      [
        'DEPLOYBOT_CONFIG (deploybot.yml): environments.production.branch: "feature..x" is not a valid git ref name',
      ],
    ],
    [
      'a non-http health URL',
      one('health_url: "javascript:alert(1)"'),
      [
        'DEPLOYBOT_CONFIG (deploybot.yml): environments.production.health_url: must be an http:// or https:// URL',
      ],
    ],
    [
      'a bad environment name, with the other environments still checked',
      'environments:\n  Prod_1: {}\n  qa:\n    role: root\n',
      [
        'DEPLOYBOT_CONFIG (deploybot.yml): environments: "Prod_1" is not an environment name (a-z, 0-9 and -, starting with a letter, at most 32)',
        'DEPLOYBOT_CONFIG (deploybot.yml): environments.qa.role: must be admin or staging',
      ],
    ],
    [
      'no environments',
      'environments: {}\n',
      ['DEPLOYBOT_CONFIG (deploybot.yml): environments: at least one environment is required'],
    ],
    [
      'an empty file',
      '',
      ['DEPLOYBOT_CONFIG (deploybot.yml): environments: required: a mapping of environment name to settings'],
    ],
    [
      'a list instead of a mapping',
      'environments:\n  - staging\n',
      ['DEPLOYBOT_CONFIG (deploybot.yml): environments: required: a mapping of environment name to settings'],
    ],
    [
      'a duplicated environment',
      'environments:\n  qa: {}\n  qa: {}\n',
      ['DEPLOYBOT_CONFIG (deploybot.yml): not valid YAML: Map keys must be unique at line 3, column 3'],
    ],
  ])('reports %s', (_name, text, expected) => {
    expect(problems(text)).toEqual(expected);
  });

  it('reports invalid JSON and unknown extensions', () => {
    expect(problems('{"environments": ', 'd.json')).toEqual([
      'DEPLOYBOT_CONFIG (d.json): not valid JSON: Unexpected end of JSON input',
    ]);
    expect(problems('environments = {}', 'd.toml')).toEqual([
      'DEPLOYBOT_CONFIG (d.toml): expected a .yml, .yaml or .json file',
    ]);
  });

  it('reports a bad <NAME>_HEALTH_URL by its variable', () => {
    expect(problems('environments:\n  eu-west:\n', 'd.yml', { EU_WEST_HEALTH_URL: 'not a url' })).toEqual([
      'EU_WEST_HEALTH_URL: is not a URL',
    ]);
  });
});

describe('defaultEnvironments', () => {
  it('gives staging then production, with health URLs from the environment', () => {
    const result = defaultEnvironments({ PRODUCTION_HEALTH_URL: 'https://example.com/health' });
    expect(
      result.ok && result.environments.map((e) => [e.name, e.branch, e.role, e.confirm, e.healthUrl]),
    ).toEqual([
      ['staging', 'develop', 'staging', false, null],
      ['production', 'main', 'admin', true, 'https://example.com/health'],
    ]);
  });

  it('lets staging take any branch or tag but production only main', () => {
    const result = defaultEnvironments({});
    if (!result.ok) throw new Error('defaults failed');
    const [staging, production] = result.environments;
    expect(allowedRefKinds(staging?.refs ?? [], 'feature/x/y', false).branch).toBe(true);
    expect(allowedRefKinds(staging?.refs ?? [], 'v1.2.3', false).tag).toBe(true);
    expect(allowedRefKinds(production?.refs ?? [], 'main', false).branch).toBe(true);
    expect(allowedRefKinds(production?.refs ?? [], 'develop', false).branch).toBe(false);
    expect(allowedRefKinds(production?.refs ?? [], 'main', false).tag).toBe(false);
  });
});

describe('globMatch', () => {
  it.each<[string, string, boolean]>([
    ['hotfix/*', 'hotfix/urgent', true],
    ['hotfix/*', 'hotfix/a/b', false],
    ['hotfix/**', 'hotfix/a/b', true],
    ['release-*', 'release-1.2', true],
    ['v1.*', 'v1x2', false],
    ['main', 'main', true],
    ['main', 'mainline', false],
    ['(a|b)', '(a|b)', true],
    ['**', 'any/thing', true],
  ])('%s against %s is %s', (pattern, name, expected) => {
    expect(globMatch(pattern, name)).toBe(expected);
  });
});

describe('healthUrlVariable', () => {
  it('upper-cases and replaces hyphens', () => {
    expect(healthUrlVariable('eu-west-1')).toBe('EU_WEST_1_HEALTH_URL');
  });
});

describe('parseConfigFile: approval', () => {
  it('reads min_reviewers and not_requester, with defaults per key, and leaves it out when absent', () => {
    const text = [
      'environments:',
      '  production:',
      '    approval: { min_reviewers: 2, not_requester: true }',
      '  staging:',
      '    approval: { not_requester: true }',
      '  qa:',
    ].join('\n');
    const result = parseConfigFile({ path: 'd.yml', text }, {});
    if (!result.ok) throw new Error(result.problems.join('\n'));
    const [production, staging, qa] = result.environments;
    expect(production?.approval).toEqual({ minReviewers: 2, notRequester: true });
    expect(staging?.approval).toEqual({ minReviewers: 1, notRequester: true });
    expect(qa && 'approval' in qa).toBe(false);
  });

  it.each([
    ['min_reviewers: 0', 'environments.production.approval.min_reviewers: at least 1'],
    [
      'min_reviewers: 1.5',
      'environments.production.approval.min_reviewers: expected a whole number from 1 to 10',
    ],
    ['min_reviewers: 11', 'environments.production.approval.min_reviewers: at most 10'],
    ['not_requester: yes please', 'environments.production.approval.not_requester: expected true or false'],
    ['reviewers: [ada]', 'environments.production.approval.reviewers: unknown key'],
  ])('refuses approval %s', (line, problem) => {
    const text = `environments:\n  production:\n    approval:\n      ${line}\n`;
    expect(parseConfigFile({ path: 'd.yml', text }, {})).toEqual({
      ok: false,
      problems: [`DEPLOYBOT_CONFIG (d.yml): ${problem}`],
    });
  });
});
