// biome-ignore-all lint/suspicious/noTemplateCurlyInString: HCL interpolations like ${var.x} are literal strings in these assertions.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { asInstalled } from '../pipeline/support/host-gate.ts';
import { findTool, REPO_ROOT, run } from './find-tool.ts';
import { type Json, list, loadTerraform, obj, type Terraform, tfDir } from './terraform-files.ts';

// Issue #11 on the infrastructure side: who can assume which AWS role, and what a host lets an
// environment's deploy key do. Each test names the attack it closes; on the old tree it fails.
let tf: Terraform;
beforeAll(async () => {
  tf = await loadTerraform();
});

const ECR_REPO_ARN = '${aws_ecr_repository.app.arn}';
const PUSH = [
  'ecr:BatchCheckLayerAvailability',
  'ecr:InitiateLayerUpload',
  'ecr:UploadLayerPart',
  'ecr:CompleteLayerUpload',
  'ecr:PutImage',
];
const PULL = ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'];
const SUBJECT =
  'repo:${var.github_repository}:ref:refs/heads/${var.github_default_branch}:job_workflow_ref:${var.github_repository}/.github/workflows/deploy.yml@refs/heads/${var.github_default_branch}';

/** Checks an ECR policy: login on `*`, `allowed` actions only on the one repository. */
function expectEcrOnly(policy: string, allowed: readonly string[], required: readonly string[]): void {
  const all = tf.statements(policy);
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

/** The role's inline policies (and that it has no attached or managed ones). */
function policiesOf(role: string): unknown[] {
  const attached = (type: string) =>
    [...(tf.resources.get(type) ?? new Map<string, Json>()).values()].filter(
      (p) =>
        String(p.role) === `\${aws_iam_role.${role}.id}` ||
        String(p.role) === `\${aws_iam_role.${role}.name}`,
    );
  expect(attached('aws_iam_role_policy_attachment')).toEqual([]);
  expect(tf.resource('aws_iam_role', role).managed_policy_arns).toBeUndefined();
  return attached('aws_iam_role_policy').map((p) => p.policy);
}

describe('GitHub OIDC: only deploy.yml on the default branch gets AWS credentials', () => {
  it('the provider is created or looked up, as the variable says', () => {
    expect(tf.resource('aws_iam_openid_connect_provider', 'github')).toMatchObject({
      count: '${var.create_github_oidc_provider ? 1 : 0}',
      url: 'https://${local.github_oidc_host}',
      client_id_list: ['sts.amazonaws.com'],
    });
    expect(tf.data.get('aws_iam_openid_connect_provider')?.get('github')?.count).toBe(
      '${var.create_github_oidc_provider ? 0 : 1}',
    );
    expect(tf.locals.github_oidc_host).toBe('token.actions.githubusercontent.com');
  });

  it("the repository's subject template includes job_workflow_ref (github provider)", () => {
    expect(
      tf.resource('github_actions_repository_oidc_subject_claim_customization_template', 'deploy'),
    ).toEqual({
      count: '${var.manage_github_oidc_subject ? 1 : 0}',
      repository: '${local.github_repository_name}',
      use_default: false,
      include_claim_keys: '${local.github_oidc_claim_keys}',
    });
    expect(tf.locals.github_oidc_claim_keys).toEqual(['repo', 'context', 'job_workflow_ref']);
    expect(String(tf.outputs.get('github_oidc_subject_command')?.value)).toContain(
      'gh api -X PUT repos/${var.github_repository}/actions/oidc/customization/sub -F use_default=false',
    );
  });

  it('attack (planting from a branch): both roles trust exactly one subject, deploy.yml on the default branch', () => {
    for (const role of ['build', 'lookup']) {
      expect(tf.resource('aws_iam_role', role).assume_role_policy).toBe(
        '${data.aws_iam_policy_document.deploy_workflow_trust.json}',
      );
    }
    const trust = tf.statements('deploy_workflow_trust');
    expect(trust).toHaveLength(1);
    const [statement] = trust;
    expect(statement?.actions).toEqual(['sts:AssumeRoleWithWebIdentity']);
    expect(list(statement?.principals).map(obj)).toEqual([
      { type: 'Federated', identifiers: ['${local.github_oidc_provider_arn}'] },
    ]);
    const conditions = list(statement?.condition)
      .map(obj)
      .map((c) => ({
        test: c.test,
        variable: tf.resolveLocals(c.variable),
        values: tf.resolveLocals(c.values),
      }));
    expect(conditions).toEqual([
      {
        test: 'StringEquals',
        variable: 'token.actions.githubusercontent.com:aud',
        values: ['sts.amazonaws.com'],
      },
      { test: 'StringEquals', variable: 'token.actions.githubusercontent.com:sub', values: [SUBJECT] },
    ]);
    // The old role trusted `repo:…:environment:staging`, which a workflow on any branch declaring
    // `environment: staging` presents (staging has no branch policy).
    expect(JSON.stringify(conditions)).not.toMatch(/environment:|\*|pull_request/);
  });

  it('the build role may push to the one ECR repository and nothing else', () => {
    expect(policiesOf('build')).toEqual(['${data.aws_iam_policy_document.build_ecr_push.json}']);
    expectEcrOnly('build_ecr_push', [...PUSH, 'ecr:BatchGetImage', 'ecr:DescribeImages'], PUSH);
  });

  it('the lookup role (Resolve) can only read: no push, no layer upload', () => {
    expect(policiesOf('lookup')).toEqual(['${data.aws_iam_policy_document.lookup_ecr_read.json}']);
    expectEcrOnly('lookup_ecr_read', ['ecr:DescribeImages', 'ecr:BatchGetImage'], ['ecr:DescribeImages']);
  });

  it('there is no other GitHub role (the old deploy role is gone)', () => {
    expect([...(tf.resources.get('aws_iam_role') ?? new Map()).keys()].sort()).toEqual([
      'build',
      'host',
      'lookup',
    ]);
  });

  it('the hosts may only pull from that repository', () => {
    expect(tf.resource('aws_iam_instance_profile', 'host').role).toBe('${aws_iam_role.host.name}');
    expect(policiesOf('host')).toEqual(['${data.aws_iam_policy_document.host_ecr_pull.json}']);
    expectEcrOnly('host_ecr_pull', PULL, PULL);
  });
});

/**
 * Renders user-data.sh.tftpl the way templatefile() does for what it uses: `${name}` and one
 * `%{ for name, content in host_scripts ~}` loop (whose `~` strips the newline after each marker).
 */
function renderUserData(vars: Record<string, string>, scripts: Record<string, string>): string {
  const template = readFileSync(path.join(tfDir, 'user-data.sh.tftpl'), 'utf8');
  const loop = /%\{ for name, content in host_scripts ~\}\n([\s\S]*?)%\{ endfor ~\}\n/.exec(template);
  if (!loop?.[1]) throw new Error('user-data.sh.tftpl: no host_scripts loop');
  const [before = '', after = ''] = template.split(loop[0]);
  const fill = (text: string) =>
    text.replace(/\$\{([a-z_]+)\}/g, (_whole, key: string) => {
      const value = vars[key];
      if (value === undefined)
        throw new Error(`user-data.sh.tftpl uses \${${key}}, which the test does not set`);
      return value;
    });
  const body = loop[1];
  const expanded = Object.keys(scripts)
    .sort()
    .map((name) =>
      body.replace(/\$\{(name|content)\}/g, (_m, key: string) =>
        key === 'name' ? name : (scripts[name] ?? ''),
      ),
    )
    .join('');
  // Interpolated values are not interpreted again, as in Terraform: the scripts' own ${...} stay.
  return fill(before) + expanded + fill(after);
}

const HOST_SCRIPTS = [
  'canary.sh',
  'colors-lib.sh',
  'deploy-lib.sh',
  'deploy.sh',
  'deploybot-ssh-gate',
  'health-check.sh',
  'rollback.sh',
];
// As Terraform installs them: chomp(file(...)) without comment lines (asInstalled).
const scripts = Object.fromEntries(
  HOST_SCRIPTS.map((name) => [
    name,
    asInstalled(readFileSync(path.join(REPO_ROOT, 'scripts', name), 'utf8')),
  ]),
);
// What compute.tf installs for each host script (the test's terraform run uses the same).
const INSTALLED_SCRIPTS_EXPRESSION =
  'join("\\n", [for line in split("\\n", chomp(file("${path.module}/../scripts/${name}"))) : line if !can(regex("^\\\\s*#($|[^!])", line))])';
const VARS = {
  environment: 'production',
  ssh_public_key: 'ssh-ed25519 AAAAprod deploy-production',
  ecr_registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
  image_repository: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop',
  app_dir: '/opt/app',
  health_url: 'http://127.0.0.1:8080/health',
  // Issue #15: a blue-green host gets the edge nginx (its config rendered from edge-nginx.conf.tftpl).
  deploy_strategy: 'blue-green',
  edge_nginx_conf:
    'worker_processes auto;\nevents {}\nhttp { include /var/lib/deploybot/edge/upstream.conf; }',
  canary_pause: '60',
  canary_margin: '1',
};

describe("hosts: an environment's key can only deploy, on its own host", () => {
  const compute = () => tf.resource('aws_instance', 'host');
  const userDataVars = () => String(compute().user_data_base64);

  it('attack (one key for both hosts): each host gets its own environment key, and its own gate config', () => {
    expect(userDataVars()).toContain('ssh_public_key   = trimspace(var.ssh_public_keys[each.key])');
    expect(userDataVars()).toContain('environment      = each.key');
    expect(userDataVars()).toContain('image_repository = aws_ecr_repository.app.repository_url');
    expect(userDataVars()).toMatch(
      /^\$\{base64gzip\(templatefile\("\$\{path\.module\}\/user-data\.sh\.tftpl"/,
    );
  });

  it('installs the gate and the scripts it runs, from the repository, root-owned', () => {
    expect(tf.locals.host_script_files).toEqual(HOST_SCRIPTS);
    expect(String(tf.locals.host_scripts)).toContain(INSTALLED_SCRIPTS_EXPRESSION);
    for (const [name, text] of Object.entries(scripts)) {
      expect(text.split('\n'), `${name} must not end the heredoc early`).not.toContain(
        'DEPLOYBOT_SCRIPT_END',
      );
    }
    const rendered = renderUserData(VARS, scripts);
    for (const [name, text] of Object.entries(scripts)) {
      expect(rendered).toContain(
        `cat > '/usr/local/libexec/deploybot/${name}' <<'DEPLOYBOT_SCRIPT_END'\n${text}\nDEPLOYBOT_SCRIPT_END\nchmod 755 '/usr/local/libexec/deploybot/${name}'\n`,
      );
    }
    expect(rendered).toContain('install -d -m 755 -o root -g root /usr/local/libexec/deploybot\n');
    expect(rendered).toContain(
      "cat > /etc/deploybot/gate.conf <<'CONF'\nENVIRONMENT=production\nIMAGE_REPOSITORY=123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop\nDEPLOY_PATH=/opt/app\nHEALTH_URL=http://127.0.0.1:8080/health\nLOG_FILE=/var/log/deploybot/ssh-gate.log\nDEPLOY_STRATEGY=blue-green\nCANARY_PAUSE=60\nCANARY_ERROR_MARGIN=1\nCONF\nchmod 644 /etc/deploybot/gate.conf\n",
    );
    // The edge of a blue-green or canary host: its config root-owned, the upstream file the deploy
    // user's scripts write, nginx run as that user.
    expect(rendered).toContain(
      `cat > /etc/deploybot/edge/nginx.conf <<'EDGE'\n${VARS.edge_nginx_conf}\nEDGE\n`,
    );
    expect(rendered).toContain("if [ 'blue-green' != recreate ]; then\n");
    expect(rendered).toContain(
      'install -d -m 755 -o root -g root /etc/deploybot/edge /etc/deploybot/edge/conf.d\n',
    );
    expect(rendered).toContain('chown deploy:deploy /var/lib/deploybot/edge/upstream.conf\n');
    expect(rendered).toMatch(/\[Service\]\nUser=deploy\nGroup=deploy\n/);
  });

  it('attack (a shell with the deploy key): the only key line forces the gate with restrict, in a root-owned file', () => {
    const template = readFileSync(path.join(tfDir, 'user-data.sh.tftpl'), 'utf8');
    const keyLines = template.split('\n').filter((line) => line.includes('${ssh_public_key}'));
    expect(keyLines).toEqual([
      'command="/usr/local/libexec/deploybot/deploybot-ssh-gate /etc/deploybot/gate.conf",restrict ${ssh_public_key}',
    ]);
    expect(template).toContain("cat > /etc/ssh/deploybot/authorized_keys/deploy <<'KEYS'\n");
    expect(template).toContain('chmod 644 /etc/ssh/deploybot/authorized_keys/deploy\n');
    expect(template).toContain(
      'AuthorizedKeysFile /etc/ssh/deploybot/authorized_keys/%u .ssh/authorized_keys\n',
    );
    expect(template).toContain('rm -f /home/deploy/.ssh/authorized_keys\n');
    expect(template).not.toMatch(/> \/home\/deploy\/\.ssh\/authorized_keys/);
  });
});

const terraform = findTool(
  'terraform',
  'not a Debian package; install it from HashiCorp to run these checks',
);

describe.skipIf(terraform.path === null)('user data rendered by terraform', () => {
  it('is what the checks above rendered, and is a valid bash script under 16 KB once gzipped', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'deploybot-userdata-'));
    try {
      const hcl = (v: string) => JSON.stringify(v);
      writeFileSync(
        path.join(dir, 'main.tf'),
        [
          'locals {',
          `  host_scripts = { for name in ${JSON.stringify(HOST_SCRIPTS)} : name => ${INSTALLED_SCRIPTS_EXPRESSION.replace('${path.module}/../scripts', path.join(REPO_ROOT, 'scripts'))} }`,
          `  rendered = templatefile(${hcl(path.join(tfDir, 'user-data.sh.tftpl'))}, {`,
          ...Object.entries(VARS).map(([k, v]) => `    ${k} = ${hcl(v)}`),
          '    host_scripts = local.host_scripts',
          '  })',
          '}',
          'output "rendered" { value = local.rendered }',
          'output "gzipped_base64" { value = length(base64gzip(local.rendered)) }',
          '',
        ].join('\n'),
      );
      const env = {
        ...process.env,
        TF_IN_AUTOMATION: '1',
        TF_CLI_CONFIG_FILE: '/dev/null',
        CHECKPOINT_DISABLE: '1',
      };
      const tfRun = (...args: string[]) => run(terraform.path ?? 'terraform', args, { cwd: dir, env });
      expect(tfRun('init', '-input=false', '-no-color').status).toBe(0);
      const applied = tfRun('apply', '-auto-approve', '-input=false', '-no-color');
      expect(applied.status, applied.output).toBe(0);
      const rendered = tfRun('output', '-raw', 'rendered').stdout;
      expect(rendered).toBe(renderUserData(VARS, scripts));
      // EC2 limits user data to 16 KB before base64: the gzip bytes are 3/4 of their base64.
      expect((Number(tfRun('output', '-raw', 'gzipped_base64').stdout) * 3) / 4).toBeLessThan(16 * 1024);
      writeFileSync(path.join(dir, 'user-data.sh'), rendered);
      const syntax = run('bash', ['-n', path.join(dir, 'user-data.sh')]);
      expect(syntax.status, syntax.output).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
