import { describe, expect, it } from 'vitest';
import { COMMANDS, commandsFor } from './command-list.ts';

describe('COMMANDS', () => {
  it('fits Telegram’s command menu rules (setMyCommands)', () => {
    for (const c of COMMANDS) {
      expect(c.name).toMatch(/^[a-z0-9_]{1,32}$/);
      expect(c.description.length).toBeGreaterThanOrEqual(1);
      expect(c.description.length).toBeLessThanOrEqual(256);
    }
    expect(new Set(COMMANDS.map((c) => c.name)).size).toBe(COMMANDS.length);
  });

  it('gives the staging role the read commands and admins the operations', () => {
    const staging = commandsFor(['staging']).map((c) => c.name);
    const admin = commandsFor(['admin', 'staging']).map((c) => c.name);
    expect(staging).toEqual(['help', 'whoami', 'deploy', 'status', 'history']);
    expect(admin).toEqual([
      'help',
      'whoami',
      'deploy',
      'status',
      'history',
      'rollback',
      'lock',
      'unlock',
      'cancel',
    ]);
    expect(commandsFor([]).map((c) => c.name)).toEqual(['whoami']);
  });

  it('lists /link and /unlink only where linking GitHub accounts is set up', () => {
    expect(commandsFor(['staging'], { accounts: true }).map((c) => c.name)).toEqual([
      'help',
      'whoami',
      'deploy',
      'status',
      'history',
      'link',
      'unlink',
    ]);
    expect(commandsFor([], { accounts: true }).map((c) => c.name)).toEqual(['whoami', 'unlink']);
  });
});
