import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';
import { chooseService, hasAnyRole, implicitServiceName, serviceAccess } from './core/service.ts';

const env = {
  TELEGRAM_BOT_TOKEN: '7000000001:AAE-fakeTokenForTestsOnly_abcdefghijk',
  TELEGRAM_MODE: 'polling',
  ADMIN_TELEGRAM_IDS: '111',
  STAGING_TELEGRAM_IDS: '222',
  GITHUB_TOKEN: 'github_pat_11FAKEFAKEFAKE_testonly',
};

const THREE_TEAMS = `
services:
  shop:
    repository: acme/shop
    environments:
      staging: { branch: develop, role: staging, confirm: false }
      production: { branch: main }
    deployers: [301]
    chats: [-1001]
  billing:
    repository: acme/billing
    workflow: release.yml
    environments:
      prod: { refs: ["tag:v*", main] }
    admins: [401]
    chats: [-1002]
  search:
    repository: other-org/search
    environments:
      staging: { role: staging }
`;

function load(text: string, extra: Record<string, string> = {}) {
  return loadConfig({ ...env, ...extra }, { path: 'services.yml', text });
}

describe('services: in DEPLOYBOT_CONFIG', () => {
  it('reads every service with its repository, workflow, environments, grants and chats', () => {
    const result = load(THREE_TEAMS);
    if (!result.ok) throw new Error(result.problems.join('\n'));
    const { services, github, environments } = result.config;
    expect(services.map((s) => s.name)).toEqual(['shop', 'billing', 'search']);
    expect(services[1]).toMatchObject({
      repository: { owner: 'acme', repo: 'billing' },
      workflow: 'release.yml',
      admins: [401],
      deployers: [],
      chats: [-1002],
    });
    expect(services[2]?.workflow).toBe('deploy.yml');
    // The first service stands for the single-repository fields.
    expect(github).toMatchObject({ owner: 'acme', repo: 'shop', workflow: 'deploy.yml' });
    expect(environments.map((e) => e.name)).toEqual(['staging', 'production']);
  });

  it('needs no GITHUB_REPOSITORY; one that is set must be a service, and its service comes first', () => {
    const moved = load(THREE_TEAMS, { GITHUB_REPOSITORY: 'acme/billing' });
    expect(moved.ok && moved.config.services.map((s) => s.name)).toEqual(['billing', 'shop', 'search']);
    const stray = load(THREE_TEAMS, { GITHUB_REPOSITORY: 'acme/elsewhere' });
    expect(stray.ok ? [] : stray.problems).toEqual([
      'GITHUB_REPOSITORY: acme/elsewhere is not the repository of any service in DEPLOYBOT_CONFIG (unset it, or add it as a service)',
    ]);
  });

  it('names the path of every problem: unknown keys, duplicate repositories, no environments, bad ids', () => {
    const result = load(`
services:
  shop:
    repository: acme/shop
    environments: { production: {} }
  Shop2:
    repository: ACME/shop
    environments: {}
  api:
    repository: acme/api.git
    environments: { prod: { role: root } }
    admins: [-5]
    chats: [0]
    deployer: [1]
  staging:
    repository: acme/staging
    environments: { staging: {} }
`);
    expect(result.ok ? [] : result.problems).toEqual([
      'DEPLOYBOT_CONFIG (services.yml): services: "Shop2" is not a service name (a-z, 0-9 and -, starting with a letter, at most 32)',
      'DEPLOYBOT_CONFIG (services.yml): services.Shop2.environments: at least one environment is required',
      'DEPLOYBOT_CONFIG (services.yml): services.api.repository: "acme/api.git" is not owner/repo (e.g. acme/shop, no .git)',
      'DEPLOYBOT_CONFIG (services.yml): services.api.admins[0]: expected a Telegram user id (user ids are positive)',
      'DEPLOYBOT_CONFIG (services.yml): services.api.chats[0]: is not a Telegram chat id',
      'DEPLOYBOT_CONFIG (services.yml): services.api.deployer: unknown key',
      'DEPLOYBOT_CONFIG (services.yml): services.Shop2.repository: acme/shop is already the repository of service shop (one service per repository)',
      'DEPLOYBOT_CONFIG (services.yml): services.staging: the name is also an environment of service staging (commands could read either; rename one)',
    ]);
  });

  it('refuses top-level environments beside services, and an empty services mapping', () => {
    const both = load(
      `environments: { production: {} }\nservices: { shop: { repository: a/b, environments: { p: {} } } }`,
    );
    expect(both.ok ? [] : both.problems).toEqual([
      'DEPLOYBOT_CONFIG (services.yml): environments: give the environments under each service when services: is set',
    ]);
    const none = load('services: {}');
    expect(none.ok ? [] : none.problems).toEqual([
      'DEPLOYBOT_CONFIG (services.yml): services: at least one service is required',
    ]);
  });

  it('without services: one implicit service named after GITHUB_REPOSITORY', () => {
    const result = loadConfig({ ...env, GITHUB_REPOSITORY: 'acme/Web.Shop', DEPLOY_WORKFLOW: 'ship.yml' });
    if (!result.ok) throw new Error(result.problems.join('\n'));
    expect(result.config.services).toHaveLength(1);
    expect(result.config.services[0]).toMatchObject({
      name: 'web-shop',
      repository: { owner: 'acme', repo: 'Web.Shop' },
      workflow: 'ship.yml',
      admins: [],
      deployers: [],
      chats: [],
    });
    expect(result.config.services[0]?.environments).toEqual(result.config.environments);
    expect(implicitServiceName('2048')).toBe('default');
  });
});

describe('roles and the service a command names', () => {
  const result = load(THREE_TEAMS);
  if (!result.ok) throw new Error(result.problems.join('\n'));
  const { services, access } = result.config;
  const [shop, billing] = services;
  if (!shop || !billing) throw new Error('services missing');

  it('adds a service grant to the global lists, for that service only', () => {
    expect(serviceAccess(shop, access)).toEqual({ adminIds: [111], stagingIds: [222, 301] });
    expect(serviceAccess(billing, access)).toEqual({ adminIds: [111, 401], stagingIds: [222] });
    expect(hasAnyRole(301, services, access)).toBe(true);
    expect(hasAnyRole(999, services, access)).toBe(false);
  });

  it('takes the first word as the service, else the chat’s only service, else asks', () => {
    expect(chooseService(services, 5, ['billing', 'prod'])).toMatchObject({ ok: true, rest: ['prod'] });
    const inChat = chooseService(services, -1002, ['prod']);
    expect(inChat.ok && inChat.service.name).toBe('billing');
    expect(chooseService(services, 5, ['staging'])).toMatchObject({ ok: false, reason: 'service_required' });
    expect(chooseService(services, 5, ['nope'])).toMatchObject({ ok: false, reason: 'unknown_service' });
    expect(chooseService(services, 5, [])).toMatchObject({ ok: false, reason: 'service_required' });
  });

  it('with one service, the words read as before, the service name optional', () => {
    const one = [shop];
    expect(chooseService(one, 5, ['staging', 'main'])).toMatchObject({ ok: true, rest: ['staging', 'main'] });
    expect(chooseService(one, 5, ['shop', 'staging'])).toMatchObject({ ok: true, rest: ['staging'] });
  });
});
