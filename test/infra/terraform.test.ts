// biome-ignore-all lint/suspicious/noTemplateCurlyInString: HCL interpolations like ${var.x} are literal strings in these assertions.
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTool, run } from './find-tool.ts';
import { type Json, list, loadTerraform, obj, type Terraform, tfDir, tfFiles } from './terraform-files.ts';

let tf: Terraform;
let resources: Terraform['resources'];
let variables: Terraform['variables'];
let outputs: Terraform['outputs'];
let locals: Json;

beforeAll(async () => {
  tf = await loadTerraform();
  ({ resources, variables, outputs, locals } = tf);
});

const resource = (type: string, name: string): Json => tf.resource(type, name);

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
      'ssh_public_keys',
      'github_default_branch',
      'host_health_url',
    ]) {
      expect(list(variables.get(name)?.validation).length, `${name} validation`).toBeGreaterThan(0);
    }
    expect(variables.get('allowed_ssh_cidrs')?.default, 'no default SSH range').toBeUndefined();
  });

  it('outputs what the installation guide copies', () => {
    for (const name of [
      'ecr_registry',
      'ecr_repository',
      'build_role_arn',
      'lookup_role_arn',
      'github_oidc_subject',
      'staging_ip',
      'production_ip',
    ]) {
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
    expect(String(resource('aws_instance', 'host').user_data_base64)).toContain('user-data.sh.tftpl');
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
    const otherKey = key.replace('Y2hlY2tlZC1ieS10ZXN0cy1vbmx5', 'YW5vdGhlci1rZXktZm9yLXByb2Q');
    const keys = (staging: string, production: string) => `{staging="${staging}",production="${production}"}`;
    const good = {
      github_repository: 'octo-org/deploy-me',
      ssh_public_keys: keys(key, otherKey),
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
      [
        'a private key',
        { ssh_public_keys: keys('-----BEGIN OPENSSH PRIVATE KEY-----', otherKey) },
        'not a private key',
      ],
      // Issue #11: one key for both hosts let a key that deploys staging deploy production.
      [
        'the same key for staging and production',
        { ssh_public_keys: keys(key, key) },
        'must be different keys',
      ],
      [
        'a key for production only',
        { ssh_public_keys: `{production="${otherKey}"}` },
        'exactly the keys staging and production',
      ],
      ['a branch pattern as default branch', { github_default_branch: 'release/*' }, 'one exact branch name'],
      ['a health URL with a space', { host_health_url: 'http://127.0.0.1/ x' }, 'host_health_url must be'],
      ['a bad region', { aws_region: 'useast1' }, 'aws_region must look like'],
      ['a bad instance type', { instance_type: 'large' }, 'instance_type must be'],
    ])('rejects %s', (_label, override, message) => {
      const result = plan({ ...good, ...override });
      expect(result.status).not.toBe(0);
      expect(result.output.replace(/\s+/g, ' ')).toContain(message);
    });
  });
});
