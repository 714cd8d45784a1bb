import type { Role } from '../core/roles.ts';

/**
 * A command as /help and Telegram's command menu show it. `role: null` means anyone may run it.
 * `accounts`: listed only where linking GitHub accounts is set up (GITHUB_OAUTH_CLIENT_ID).
 */
export type CommandSpec = {
  name: string;
  args: string;
  description: string;
  role: Role | null;
  accounts?: boolean;
};

/** The commands the bot answers, in the order /help lists them. */
export const COMMANDS: readonly CommandSpec[] = [
  { name: 'help', args: '', description: 'What you can do here', role: 'staging' },
  { name: 'whoami', args: '', description: 'Your Telegram id and roles', role: null },
  {
    name: 'deploy',
    args: '<env> [ref] [--force <reason>]',
    description:
      'Deploy a branch, tag or commit; alone: pick with buttons (admins: --force <reason> overrides a lock or window)',
    role: 'staging',
  },
  {
    name: 'status',
    args: '',
    description: 'What runs where, health, deployments in flight, locks',
    role: 'staging',
  },
  {
    name: 'history',
    args: '<env> [n]',
    description: 'The last n deployments (default 10, max 50)',
    role: 'staging',
  },
  {
    name: 'rollback',
    args: '<env> [--force <reason>]',
    description: 'Roll back to the previous successful deployment',
    role: 'admin',
  },
  {
    name: 'lock',
    args: '<env> [duration] [reason]',
    description: 'Stop deployments (default 4h, max 7d)',
    role: 'admin',
  },
  { name: 'unlock', args: '<env>', description: 'Lift a lock', role: 'admin' },
  { name: 'cancel', args: '<env>', description: 'Cancel the run in flight', role: 'admin' },
  {
    name: 'link',
    args: '',
    description: 'Link your GitHub account, to approve waiting runs from here (private chat)',
    role: 'staging',
    accounts: true,
  },
  { name: 'unlink', args: '', description: 'Forget your linked GitHub account', role: null, accounts: true },
];

/** Commands that act on one service's environments: with several services they take it first. */
const PER_SERVICE = new Set(['deploy', 'history', 'rollback', 'lock', 'unlock', 'cancel']);

/**
 * The commands a user with these roles may run (`accounts`: linking GitHub accounts is set up;
 * `services`: several services are configured, so the commands name the service).
 */
export function commandsFor(
  roles: readonly Role[],
  options: { accounts?: boolean; services?: boolean } = {},
): CommandSpec[] {
  const allowed = COMMANDS.filter(
    (c) => (c.role === null || roles.includes(c.role)) && (!c.accounts || options.accounts === true),
  );
  if (!options.services) return allowed;
  return allowed.map((c) => {
    if (c.name === 'status') return { ...c, args: '[service]' };
    return PER_SERVICE.has(c.name) ? { ...c, args: `<service> ${c.args}` } : c;
  });
}
