// biome-ignore-all lint/suspicious/noTemplateCurlyInString: HCL interpolations like ${var.x} are literal strings in these assertions.
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTool, REPO_ROOT, run } from './find-tool.ts';

const tfDir = path.join(REPO_ROOT, 'terraform');
const tfFiles = readdirSync(tfDir).filter((f) => f.endsWith('.tf'));

// hcl2json hands back untyped JSON: these helpers are the trust boundary.
type Json = Record<string, unknown>;
const obj = (v: unknown): Json =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {};
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

/** Every block of a kind (resource/data) and type across the files, by name. */
type Blocks = Map<string, Json>;
let resources: Map<string, Blocks>;
let data: Map<string, Blocks>;
let variables: Map<string, Json>;
let outputs: Map<string, Json>;
let locals: Json;

beforeAll(async () => {
  resources = new Map();
  data = new Map();
  variables = new Map();
  outputs = new Map();
  locals = {};
  for (const file of tfFiles) {
    const parsed = await parse(file, readFileSync(path.join(tfDir, file), 'utf8'));
    for (const [kind, target] of [
      ['resource', resources],
      ['data', data],
    ] as const) {
      for (const [type, byName] of Object.entries(obj(parsed[kind]))) {
        const blocks = target.get(type) ?? new Map<string, Json>();
        for (const [name, body] of Object.entries(obj(byName))) blocks.set(name, obj(list(body)[0]));
        target.set(type, blocks);
      }
    }
    for (const [name, body] of Object.entries(obj(parsed.variable))) variables.set(name, obj(list(body)[0]));
    for (const [name, body] of Object.entries(obj(parsed.output))) outputs.set(name, obj(list(body)[0]));
    for (const block of list(parsed.locals)) Object.assign(locals, obj(block));
  }
});

function resource(type: string, name: string): Json {
  const found = resources.get(type)?.get(name);
  if (!found) throw new Error(`terraform has no resource ${type}.${name}`);
  return found;
}

/** Replaces `${local.x}` (whole value or inside a string) with the local's value. */
function resolveLocals(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const whole = /^\$\{local\.([a-z_]+)\}$/.exec(value);
  if (whole?.[1] !== undefined) return resolveLocals(locals[whole[1]]);
  return value.replace(/\$\{local\.([a-z_]+)\}/g, (_m, name: string) => String(locals[name]));
}

/** The statements of an aws_iam_policy_document data source. */
function statements(name: string): Json[] {
  const doc = data.get('aws_iam_policy_document')?.get(name);
  if (!doc) throw new Error(`terraform has no data.aws_iam_policy_document.${name}`);
  return list(doc.statement).map(obj);
}

const ECR_REPO_ARN = '${aws_ecr_repository.app.arn}';
const PUSH = [
  'ecr:BatchCheckLayerAvailability',
  'ecr:InitiateLayerUpload',
  'ecr:UploadLayerPart',
  'ecr:CompleteLayerUpload',
  'ecr:PutImage',
];
// Reads of the same repository that a push of a manifest and "build only if missing" need.
const PUSH_READS = ['ecr:BatchGetImage', 'ecr:DescribeImages'];
const PULL = ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'];

/** Checks an ECR policy: login on `*`, `allowed` actions only on the one repository. */
function expectEcrOnly(policy: string, allowed: readonly string[], required: readonly string[]): void {
  const all = statements(policy);
  expect(all.length).toBeGreaterThan(0);
  const granted = new Set<string>();
  for (const statement of all) {
    expect(statement.effect ?? 'Allow').toBe('Allow');
    expect(statement.not_actions, 'no NotAction').toBeUndefined();
    expect(statement.not_resources, 'no NotResource').toBeUndefined();
    const actions = list(statement.actions).map(String);
    const resourcesOf = list(statement.resources).map(String);
    for (const action of actions) {
      expect(action, 'no wildcard action').not.toContain('*');
      granted.add(action);
    }
    if (actions.includes('ecr:GetAuthorizationToken')) {
      expect(actions, 'GetAuthorizationToken alone in its `*` statement').toEqual([
        'ecr:GetAuthorizationToken',
      ]);
      expect(resourcesOf).toEqual(['*']);
    } else {
      expect(resourcesOf, `${policy}: only the app repository`).toEqual([ECR_REPO_ARN]);
      for (const action of actions) expect(allowed, `${policy} grants ${action}`).toContain(action);
    }
  }
  for (const action of [...required, 'ecr:GetAuthorizationToken']) expect(granted).toContain(action);
}

describe('terraform files', () => {
  it('are split into versions, variables and outputs plus topical files', () => {
    expect(tfFiles).toEqual(expect.arrayContaining(['versions.tf', 'variables.tf', 'outputs.tf']));
    expect(tfFiles.length).toBeGreaterThanOrEqual(4);
    expect(resources.size).toBeGreaterThan(10);
  });

  it('every variable has a description and a type; the risky ones are validated', () => {
    for (const [name, body] of variables) {
      expect(body.description, name).toBeTruthy();
      expect(body.type, name).toBeTruthy();
    }
    for (const name of [
      'github_repository',
      'aws_region',
      'instance_type',
      'allowed_ssh_cidrs',
      'ssh_public_key',
    ]) {
      expect(list(variables.get(name)?.validation).length, `${name} validation`).toBeGreaterThan(0);
    }
    expect(variables.get('allowed_ssh_cidrs')?.default, 'no default SSH range').toBeUndefined();
  });

  it('outputs what the installation guide copies', () => {
    for (const name of ['ecr_registry', 'ecr_repository', 'deploy_role_arn', 'staging_ip', 'production_ip']) {
      expect(outputs.get(name)?.value, name).toBeTruthy();
    }
    expect(String(outputs.get('staging_ip')?.value)).toContain('aws_eip.host["staging"]');
    expect(String(outputs.get('production_ip')?.value)).toContain('aws_eip.host["production"]');
  });
});

describe('hosts', () => {
  it('staging and production instances require IMDSv2 and encrypt their root volumes', () => {
    const instances = [...(resources.get('aws_instance') ?? new Map()).values()];
    expect(instances.length).toBeGreaterThan(0);
    for (const instance of instances) {
      const metadata = obj(list(instance.metadata_options)[0]);
      expect(metadata.http_tokens).toBe('required');
      expect(metadata.http_endpoint).toBe('enabled');
      const root = obj(list(instance.root_block_device)[0]);
      expect(root.encrypted).toBe(true);
      for (const device of list(instance.ebs_block_device).map(obj)) expect(device.encrypted).toBe(true);
      expect(instance.iam_instance_profile).toBe('${aws_iam_instance_profile.host.name}');
    }
    const environments = obj(locals.environments);
    expect(Object.keys(environments).sort()).toEqual(['production', 'staging']);
    expect(resource('aws_instance', 'host').for_each).toBe('${local.environments}');
    expect(resource('aws_eip', 'host')).toMatchObject({
      for_each: '${local.environments}',
      instance: '${aws_instance.host[each.key].id}',
    });
  });

  it('user data installs Docker, Compose and the ECR helper for a deploy user owning /opt/app', () => {
    const template = readFileSync(path.join(tfDir, 'user-data.sh.tftpl'), 'utf8');
    for (const needle of [
      'docker.io',
      'docker-compose-v2',
      'amazon-ecr-credential-helper',
      'useradd --create-home --shell /bin/bash deploy',
      'usermod -aG docker deploy',
      '"credHelpers": { "${ecr_registry}": "ecr-login" }',
      "install -d -m 750 -o deploy -g deploy '${app_dir}'",
      'PasswordAuthentication no',
    ]) {
      expect(template).toContain(needle);
    }
    expect(locals.app_dir).toBe('/opt/app');
    expect(String(resource('aws_instance', 'host').user_data)).toContain('user-data.sh.tftpl');
  });

  it('no rule opens SSH to the whole internet; SSH comes only from allowed_ssh_cidrs', () => {
    const world = ['0.0.0.0/0', '::/0'];
    // A rule with `for_each = { name = port }` and `from_port = each.value` stands for each port.
    const portRanges = (rule: Json): [number, number][] => {
      const each = obj(rule.for_each);
      const expand = (v: unknown) => (v === '${each.value}' ? Object.values(each).map(Number) : [Number(v)]);
      const from = expand(rule.from_port);
      const to = expand(rule.to_port);
      return from.map((f, i) => [f, to[i] ?? to[0] ?? f]);
    };
    const coversSsh = (rule: Json) =>
      String(rule.ip_protocol ?? rule.protocol) === '-1' ||
      portRanges(rule).some(([from, to]) => !(from > 22 || to < 22));
    const ingress = [
      ...(resources.get('aws_vpc_security_group_ingress_rule') ?? new Map()).values(),
      ...[...(resources.get('aws_security_group_rule') ?? new Map()).values()].filter(
        (r) => r.type === 'ingress',
      ),
      ...[...(resources.get('aws_security_group') ?? new Map()).values()].flatMap((sg) =>
        list(sg.ingress).map(obj),
      ),
    ];
    const ssh = ingress.filter(coversSsh);
    expect(ssh.length).toBeGreaterThan(0);
    for (const rule of ssh) {
      const sources = [...list(rule.cidr_ipv4), ...list(rule.cidr_ipv6), ...list(rule.cidr_blocks)].map(
        String,
      );
      for (const source of sources) expect(world).not.toContain(source);
      expect(sources).toEqual(['${each.value}']);
      expect(rule.for_each).toBe('${toset(var.allowed_ssh_cidrs)}');
    }
    const validations = list(variables.get('allowed_ssh_cidrs')?.validation).map(obj);
    expect(validations.some((v) => String(v.error_message).includes('0.0.0.0/0'))).toBe(true);
  });
});

describe('ECR', () => {
  it('scans on push, has immutable tags and a lifecycle policy', () => {
    const repo = resource('aws_ecr_repository', 'app');
    expect(repo.image_tag_mutability).toBe('IMMUTABLE');
    expect(obj(list(repo.image_scanning_configuration)[0]).scan_on_push).toBe(true);
    expect(resource('aws_ecr_lifecycle_policy', 'app').repository).toBe('${aws_ecr_repository.app.name}');
  });
});

describe('GitHub OIDC', () => {
  it('the provider is created or looked up, as the variable says', () => {
    expect(resource('aws_iam_openid_connect_provider', 'github')).toMatchObject({
      count: '${var.create_github_oidc_provider ? 1 : 0}',
      url: 'https://${local.github_oidc_host}',
      client_id_list: ['sts.amazonaws.com'],
    });
    expect(data.get('aws_iam_openid_connect_provider')?.get('github')?.count).toBe(
      '${var.create_github_oidc_provider ? 0 : 1}',
    );
    expect(locals.github_oidc_host).toBe('token.actions.githubusercontent.com');
  });

  it('only the staging and production environments of the one repository can assume the deploy role', () => {
    expect(resource('aws_iam_role', 'deploy').assume_role_policy).toBe(
      '${data.aws_iam_policy_document.deploy_trust.json}',
    );
    const trust = statements('deploy_trust');
    expect(trust).toHaveLength(1);
    const [statement] = trust;
    expect(statement?.actions).toEqual(['sts:AssumeRoleWithWebIdentity']);
    expect(list(statement?.principals).map(obj)).toEqual([
      { type: 'Federated', identifiers: ['${local.github_oidc_provider_arn}'] },
    ]);
    const conditions = list(statement?.condition)
      .map(obj)
      .map((c) => ({ test: c.test, variable: resolveLocals(c.variable), values: resolveLocals(c.values) }));
    expect(conditions).toEqual(
      expect.arrayContaining([
        {
          test: 'StringEquals',
          variable: 'token.actions.githubusercontent.com:aud',
          values: ['sts.amazonaws.com'],
        },
      ]),
    );
    expect(conditions).toHaveLength(2);
    // The subjects: the two environments, and exact branch refs from a variable (no wildcard, no
    // StringLike: a pattern would let any branch or pull request in).
    const sub = conditions.find((c) => c.variable === 'token.actions.githubusercontent.com:sub');
    expect(sub?.test).toBe('StringEquals');
    const values = JSON.stringify(sub?.values);
    expect(values).toContain('repo:${var.github_repository}:environment:staging');
    expect(values).toContain('repo:${var.github_repository}:environment:production');
    expect(values).toContain('repo:${var.github_repository}:ref:refs/heads/${branch}');
    expect(values).not.toMatch(/\*|pull_request/);
  });

  it('the deploy role may push to the one ECR repository and nothing else', () => {
    const attachedToDeploy = (type: string) =>
      [...(resources.get(type) ?? new Map()).values()].filter((p) =>
        String(p.role).includes('aws_iam_role.deploy'),
      );
    const inline = attachedToDeploy('aws_iam_role_policy');
    expect(inline.map((p) => p.policy)).toEqual(['${data.aws_iam_policy_document.deploy_ecr_push.json}']);
    expect(attachedToDeploy('aws_iam_role_policy_attachment')).toEqual([]);
    expect(resource('aws_iam_role', 'deploy').managed_policy_arns).toBeUndefined();
    expectEcrOnly('deploy_ecr_push', [...PUSH, ...PUSH_READS], PUSH);
  });

  it('the hosts may only pull from that repository', () => {
    expect(resource('aws_iam_instance_profile', 'host').role).toBe('${aws_iam_role.host.name}');
    const hostPolicies = [...(resources.get('aws_iam_role_policy') ?? new Map()).values()].filter((p) =>
      String(p.role).includes('aws_iam_role.host'),
    );
    expect(hostPolicies.map((p) => p.policy)).toEqual(['${data.aws_iam_policy_document.host_ecr_pull.json}']);
    expectEcrOnly('host_ecr_pull', PULL, PULL);
  });
});

const terraform = findTool(
  'terraform',
  'not a Debian package; install it from HashiCorp to run these checks',
);

describe.skipIf(terraform.path === null)('terraform CLI', () => {
  it('terraform fmt -check finds nothing to reformat', () => {
    const result = run(terraform.path ?? 'terraform', ['fmt', '-check', '-recursive', '-diff', tfDir]);
    expect(result.status, result.output).toBe(0);
  });

  // Variables alone need no provider, so `terraform plan` runs offline and evaluates validations.
  describe('variable validation (plan of variables.tf alone)', () => {
    let dir = '';
    const env = {
      ...process.env,
      TF_IN_AUTOMATION: '1',
      TF_CLI_CONFIG_FILE: '/dev/null',
      CHECKPOINT_DISABLE: '1',
    };
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMkY2hlY2tlZC1ieS10ZXN0cy1vbmx5 deploy';
    const plan = (vars: Record<string, string>) =>
      run(
        terraform.path ?? 'terraform',
        [
          'plan',
          '-input=false',
          '-no-color',
          ...Object.entries(vars).flatMap(([k, v]) => ['-var', `${k}=${v}`]),
        ],
        { cwd: dir, env },
      );
    const good = {
      github_repository: 'octo-org/deploy-me',
      ssh_public_key: key,
      allowed_ssh_cidrs: '["203.0.113.7/32"]',
    };

    beforeAll(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'deploybot-tfvars-'));
      cpSync(path.join(tfDir, 'variables.tf'), path.join(dir, 'variables.tf'));
      const init = run(terraform.path ?? 'terraform', ['init', '-input=false', '-no-color'], {
        cwd: dir,
        env,
      });
      expect(init.status, init.output).toBe(0);
    });

    afterAll(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('accepts good values', () => {
      const result = plan(good);
      expect(result.status, result.output).toBe(0);
    });

    it.each([
      [
        'SSH from anywhere',
        { allowed_ssh_cidrs: '["203.0.113.7/32","0.0.0.0/0"]' },
        'must not contain 0.0.0.0/0',
      ],
      ['no SSH range', { allowed_ssh_cidrs: '[]' }, 'at least one CIDR'],
      ['a bad CIDR', { allowed_ssh_cidrs: '["10.0.0.300/32"]' }, 'IPv4 CIDR block'],
      ['a repository URL', { github_repository: 'https://github.com/o/r' }, 'must be owner/name'],
      ['a private key', { ssh_public_key: '-----BEGIN OPENSSH PRIVATE KEY-----' }, 'not a private key'],
      ['a bad region', { aws_region: 'useast1' }, 'aws_region must look like'],
      ['a bad instance type', { instance_type: 'large' }, 'instance_type must be'],
    ])('rejects %s', (_label, override, message) => {
      const result = plan({ ...good, ...override });
      expect(result.status).not.toBe(0);
      expect(result.output.replace(/\s+/g, ' ')).toContain(message);
    });
  });
});
