import type { Config } from './config.ts';

function secretState(value: string | null): string {
  return value ? `set (${value.length} chars)` : 'not set';
}

/** A few human lines for `deploybot doctor`; secrets appear only as `set (N chars)` / `not set`. */
export function describeConfig(config: Readonly<Config>): string[] {
  const { telegram, access, github } = config;
  const auth =
    github.auth.kind === 'token'
      ? `token ${secretState(github.auth.token)}`
      : `app ${github.auth.appId}, installation ${github.auth.installationId}, private key ${secretState(github.auth.privateKey)}`;
  return [
    `Telegram: ${telegram.mode} mode, API ${telegram.apiRoot}, bot token ${secretState(telegram.token)}, webhook secret ${secretState(telegram.webhookSecret)}`,
    `Access: ${access.adminIds.length} admin(s), ${access.stagingIds.length} staging user(s); chats: ${
      telegram.allowedChatIds.length > 0 ? telegram.allowedChatIds.join(', ') : 'any'
    }; notifications to ${telegram.chatId ?? 'no chat'}`,
    `GitHub: ${github.owner}/${github.repo} workflow ${github.workflow}, API ${github.apiUrl}, ${auth}, webhook secret ${secretState(github.webhookSecret)}`,
    ...config.environments.map(
      (e) =>
        `Environment ${e.name}: branch ${e.branch}, refs ${e.refs.map((r) => (r.kind === 'sha' ? 'sha' : r.kind === 'tag' ? `tag:${r.pattern}` : r.pattern)).join(' ')}, role ${e.role}, ${e.confirm ? 'confirmation' : 'no confirmation'}${e.windows ? `, windows in ${e.windows.timezone}` : ''}, health ${e.healthUrl ?? 'none'}`,
    ),
    ...(config.services.length > 1
      ? config.services.map(
          (s) =>
            `Service ${s.name}: ${s.repository.owner}/${s.repository.repo} workflow ${s.workflow}, environments ${s.environments.map((e) => e.name).join(', ')}; ${s.admins.length} admin(s), ${s.deployers.length} deployer(s) of its own; chats ${s.chats.length > 0 ? s.chats.join(', ') : 'none'}`,
        )
      : []),
    config.accounts
      ? `Linked accounts: on, device flow at ${config.accounts.webUrl} for client ${config.accounts.clientId}, encryption key set`
      : 'Linked accounts: off (GITHUB_OAUTH_CLIENT_ID not set): reviewers approve on GitHub only',
    `Store: ${describeDatabase(config.databaseUrl)}; audit log ${config.auditLogPath} (${config.auditHmacKey ? 'keyed with AUDIT_HMAC_KEY' : 'not keyed'}); reconcile every ${config.reconcileIntervalSeconds}s`,
    `Server: ${config.host}:${config.port}, public URL ${config.publicUrl ?? 'not set'}, log level ${config.logLevel}`,
  ];
}

function describeDatabase(text: string): string {
  if (!/^postgres(?:ql)?:/i.test(text)) return `SQLite ${text}`;
  const url = new URL(text);
  return `PostgreSQL ${url.hostname}${url.port ? `:${url.port}` : ''}${url.pathname}, password ${secretState(url.password || null)}`;
}
