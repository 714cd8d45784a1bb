import type { Role } from '../core/roles.ts';

/** A command as /help and Telegram's command menu show it. `role: null` means anyone may run it. */
export type CommandSpec = { name: string; args: string; description: string; role: Role | null };

/** The commands the bot answers, in the order /help lists them. */
export const COMMANDS: readonly CommandSpec[] = [
  { name: 'help', args: '', description: 'What you can do here', role: 'staging' },
  { name: 'whoami', args: '', description: 'Your Telegram id and roles', role: null },
  { name: 'deploy', args: '<env> [ref]', description: 'Deploy a branch, tag or commit', role: 'staging' },
];

/** The commands a user with these roles may run. */
export function commandsFor(roles: readonly Role[]): CommandSpec[] {
  return COMMANDS.filter((c) => c.role === null || roles.includes(c.role));
}
