import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('npm run demo', () => {
  it('plays every scenario to its expected end and prints the chats', async () => {
    const { stdout } = await run(process.execPath, ['demo/run-demo.ts'], { timeout: 60_000 });
    expect(stdout).toContain('Demo finished: every deployment reached the state it should.');
    expect(stdout).toContain('✋ Waiting for approval');
    expect(stdout).toContain('lead-reviewer');
    // A reviewer links her GitHub account and approves from Telegram; the requester may not.
    expect(stdout).toContain('Linked to GitHub as lead-reviewer');
    expect(stdout).toContain('You requested this deployment; production needs another reviewer');
    expect(stdout).toContain('Approved on GitHub by lead-reviewer (from Telegram)');
    expect(stdout).not.toContain('GitHub did not record lead-reviewer');
    expect(stdout).toContain('Failed and rolled back to the previous image');
    expect(stdout).toContain('Tune cache <ttl> & timeouts'); // HTML in a commit subject, shown literally
    expect(stdout).toContain('Not authorised. Your Telegram id is 1003.');
    // A second service with its own team and chat: refused the other service, picks with buttons.
    expect(stdout).toContain('Kofi › /deploy shop staging');
    expect(stdout).toContain('[ billing · staging ]');
    expect(stdout).toContain('Deploy billing to staging');
    expect(stdout).toContain('Telegram calls rate-limited: 0;');
  }, 90_000);
});
