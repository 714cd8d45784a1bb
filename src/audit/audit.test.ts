import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditAnchor } from '../core/audit-record.ts';
import { AuditError, type AuditInput, GENESIS_HASH } from './audit-entry.ts';
import { openAuditLog } from './open-audit-log.ts';
import { verifyAudit } from './verify-audit.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'deploybot-audit-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function input(n: number, overrides: Partial<AuditInput> = {}): AuditInput {
  return {
    actor_id: 1000 + n,
    actor_name: `user ${n}`,
    action: 'deploy.request',
    environment: 'staging',
    sha: 'a'.repeat(40),
    request_id: `req-${n}`,
    outcome: 'ok',
    ...overrides,
  };
}

async function writeFive(path: string): Promise<string[]> {
  const log = await openAuditLog(path);
  for (let n = 1; n <= 5; n++) await log.append(input(n));
  await log.close();
  return (await readFile(path, 'utf8')).split('\n').filter(Boolean);
}

describe('openAuditLog + verifyAudit', () => {
  it('writes a verifiable chain with fixed fields and order', async () => {
    const path = join(dir, 'nested', 'dir', 'audit.jsonl');
    const fixed = new Date('2025-01-02T03:04:05.000Z');
    const log = await openAuditLog(path, { now: () => fixed });
    const first = await log.append(input(1));
    // On disk as soon as append resolves, before close: the recorded action may follow at once.
    expect(await readFile(path, 'utf8')).toContain(first.hash);
    const second = await log.append(input(2, { ts: '2025-02-03T00:00:00.000Z' }));
    await log.close();
    expect(first.prev_hash).toBe(GENESIS_HASH);
    expect(first.ts).toBe('2025-01-02T03:04:05.000Z');
    expect(second.prev_hash).toBe(first.hash);
    expect(second.ts).toBe('2025-02-03T00:00:00.000Z');
    const text = await readFile(path, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const keys = Object.keys(JSON.parse(text.split('\n')[0] ?? ''));
    expect(keys).toEqual([
      'ts',
      'actor_id',
      'actor_name',
      'action',
      'environment',
      'sha',
      'request_id',
      'outcome',
      'prev_hash',
      'hash',
    ]);
    expect(verifyAudit(text)).toEqual({ ok: true, lines: 2 });
    expect((await stat(path)).mode & 0o777).toBe(0o640);
  });

  it('verifies 5 lines and names an edited line 3', async () => {
    const path = join(dir, 'audit.jsonl');
    const lines = await writeFive(path);
    expect(verifyAudit(`${lines.join('\n')}\n`)).toEqual({ ok: true, lines: 5 });
    const edited = [...lines];
    edited[2] = (edited[2] ?? '').replace('"outcome":"ok"', '"outcome":"failed"');
    expect(edited[2]).not.toBe(lines[2]);
    expect(verifyAudit(edited.join('\n'))).toEqual({ ok: false, line: 3, reason: 'edited' });
  });

  it('names the line after a removed one', async () => {
    const lines = await writeFive(join(dir, 'audit.jsonl'));
    const removed = lines.filter((_, index) => index !== 1);
    expect(verifyAudit(removed.join('\n'))).toEqual({ ok: false, line: 2, reason: 'removed_or_reordered' });
    expect(verifyAudit(lines.slice(1).join('\n'))).toEqual({
      ok: false,
      line: 1,
      reason: 'removed_or_reordered',
    });
  });

  it('names the first of two swapped lines', async () => {
    const lines = await writeFive(join(dir, 'audit.jsonl'));
    const swapped = [lines[0], lines[1], lines[3], lines[2], lines[4]];
    expect(verifyAudit(swapped.join('\n'))).toEqual({ ok: false, line: 3, reason: 'removed_or_reordered' });
  });

  it('reports malformed lines: not JSON, missing fields, blank lines', async () => {
    const lines = await writeFive(join(dir, 'audit.jsonl'));
    const parsed = JSON.parse(lines[1] ?? '');
    delete parsed.sha;
    expect(verifyAudit([lines[0], JSON.stringify(parsed)].join('\n'))).toEqual({
      ok: false,
      line: 2,
      reason: 'malformed',
    });
    expect(verifyAudit([lines[0], '{not json'].join('\n'))).toEqual({
      ok: false,
      line: 2,
      reason: 'malformed',
    });
    expect(verifyAudit([lines[0], '', lines[1]].join('\n'))).toEqual({
      ok: false,
      line: 2,
      reason: 'malformed',
    });
  });

  it('treats an added key as an edit', async () => {
    const lines = await writeFive(join(dir, 'audit.jsonl'));
    const extended = (lines[0] ?? '').replace('{"ts"', '{"note":"hi","ts"');
    expect(verifyAudit([extended, ...lines.slice(1)].join('\n'))).toEqual({
      ok: false,
      line: 1,
      reason: 'edited',
    });
  });

  it('accepts an empty file', () => {
    expect(verifyAudit('')).toEqual({ ok: true, lines: 0 });
  });

  it('continues the chain after reopening', async () => {
    const path = join(dir, 'audit.jsonl');
    const lines = await writeFive(path);
    const log = await openAuditLog(path);
    const sixth = await log.append(input(6));
    await log.close();
    expect(sixth.prev_hash).toBe(JSON.parse(lines[4] ?? '').hash);
    expect(verifyAudit(await readFile(path, 'utf8'))).toEqual({ ok: true, lines: 6 });
  });

  it('keeps the chain intact under 50 concurrent appends', async () => {
    const path = join(dir, 'audit.jsonl');
    const log = await openAuditLog(path);
    const entries = await Promise.all(Array.from({ length: 50 }, (_, n) => log.append(input(n))));
    await log.close();
    expect(new Set(entries.map((entry) => entry.hash)).size).toBe(50);
    expect(verifyAudit(await readFile(path, 'utf8'))).toEqual({ ok: true, lines: 50 });
  });

  it('keeps one line per entry whatever the actor name holds', async () => {
    const path = join(dir, 'audit.jsonl');
    const log = await openAuditLog(path);
    const name = 'Eve "the\nadmin"\r\n{"action":"forged"}\u2028\\';
    await log.append(input(1, { actor_name: name, outcome: 'line1\nline2' }));
    await log.close();
    const text = await readFile(path, 'utf8');
    expect(text.split('\n').filter(Boolean)).toHaveLength(1);
    expect(JSON.parse(text).actor_name).toBe(name);
    expect(verifyAudit(text)).toEqual({ ok: true, lines: 1 });
  });

  it('refuses to append to a file whose last line is broken', async () => {
    const path = join(dir, 'audit.jsonl');
    const lines = await writeFive(path);
    await writeFile(
      path,
      `${lines.slice(0, 4).join('\n')}\n${(lines[4] ?? '').replace('user 5', 'user 9')}\n`,
    );
    await expect(openAuditLog(path)).rejects.toBeInstanceOf(AuditError);
    // A whole line that lost only its newline but was edited is refused too, not set aside.
    await writeFile(path, `${lines.slice(0, 4).join('\n')}\n${(lines[4] ?? '').replace('user 5', 'user 9')}`);
    await expect(openAuditLog(path)).rejects.toThrow(/edited/);
  });

  it('sets a torn last line aside, records that, and goes on', async () => {
    const path = join(dir, 'audit.jsonl');
    const lines = await writeFive(path);
    await writeFile(path, `${lines.join('\n')}\n{"ts":"2025-01-0`);
    const log = await openAuditLog(path, { now: () => new Date('2026-11-30T12:00:00Z') });
    await log.append(input(6));
    await log.close();
    const text = await readFile(path, 'utf8');
    expect(verifyAudit(text)).toEqual({ ok: true, lines: 7 });
    const [recovered, sixth] = text
      .split('\n')
      .slice(5, 7)
      .map((l) => JSON.parse(l));
    expect(recovered).toMatchObject({
      action: 'audit_torn_line_set_aside',
      outcome: `${path}.torn-1796040000000`,
    });
    expect(sixth).toMatchObject({ request_id: 'req-6' });
    expect(await readFile(`${path}.torn-1796040000000`, 'utf8')).toBe('{"ts":"2025-01-0');
  });

  it('starts a new line when the file lost its final newline', async () => {
    const path = join(dir, 'audit.jsonl');
    const lines = await writeFive(path);
    await writeFile(path, lines.join('\n'));
    const log = await openAuditLog(path);
    await log.append(input(6));
    await log.close();
    expect(verifyAudit(await readFile(path, 'utf8'))).toEqual({ ok: true, lines: 6 });
  });

  it('reads the tail of a file larger than one read chunk', async () => {
    const path = join(dir, 'audit.jsonl');
    const log = await openAuditLog(path);
    for (let n = 0; n < 3; n++) await log.append(input(n, { outcome: 'x'.repeat(10_000) }));
    await log.close();
    const again = await openAuditLog(path);
    await again.append(input(4));
    await again.close();
    expect(verifyAudit(await readFile(path, 'utf8'))).toEqual({ ok: true, lines: 4 });
  });

  it('rejects bad input and appends after close', async () => {
    const log = await openAuditLog(join(dir, 'audit.jsonl'));
    await expect(log.append(input(1, { action: '' }))).rejects.toBeInstanceOf(AuditError);
    await expect(log.append(input(1, { actor_id: 1.5 }))).rejects.toBeInstanceOf(AuditError);
    await expect(log.append(input(1, { ts: 'yesterday' }))).rejects.toBeInstanceOf(AuditError);
    // A rejected input leaves the chain usable.
    await log.append(input(2));
    await log.close();
    await expect(log.append(input(3))).rejects.toThrow(/closed/);
    expect(verifyAudit(await readFile(join(dir, 'audit.jsonl'), 'utf8'))).toEqual({ ok: true, lines: 1 });
  });

  describe('keyed with AUDIT_HMAC_KEY', () => {
    const key = Buffer.from('k'.repeat(40));

    it('writes lines only the key verifies, and continues a plain chain keyed', async () => {
      const path = join(dir, 'audit.jsonl');
      await writeFive(path);
      const log = await openAuditLog(path, { key });
      await log.append(input(6));
      await log.close();
      const text = await readFile(path, 'utf8');
      expect(verifyAudit(text, { key })).toEqual({ ok: true, lines: 6 });
      expect(verifyAudit(text)).toEqual({ ok: false, line: 6, reason: 'edited' });
      expect(verifyAudit(text, { key: Buffer.from('x'.repeat(40)) })).toEqual({
        ok: false,
        line: 6,
        reason: 'edited',
      });
      await expect(openAuditLog(path)).rejects.toThrow(/AUDIT_HMAC_KEY is not set/);
    });

    it('finds a chain recomputed without the key: a plain line after a keyed one, or no keyed line at all', async () => {
      const path = join(dir, 'audit.jsonl');
      const keyed = await openAuditLog(path, { key });
      for (let n = 1; n <= 3; n++) await keyed.append(input(n));
      await keyed.close();
      const plain = await openAuditLog(join(dir, 'plain.jsonl'));
      for (let n = 1; n <= 3; n++) await plain.append(input(n, { outcome: 'forged' }));
      await plain.close();
      const forged = await readFile(join(dir, 'plain.jsonl'), 'utf8');
      expect(verifyAudit(forged, { key })).toEqual({ ok: false, line: 1, reason: 'not_keyed' });
      // An insider appends a plain line to the keyed chain, chaining it correctly.
      const text = await readFile(path, 'utf8');
      const lastHash = JSON.parse(text.trim().split('\n').at(-1) ?? '{}').hash as string;
      const appended = await openAuditLog(join(dir, 'tail.jsonl'));
      await appended.append(input(4));
      await appended.close();
      const tail = JSON.parse((await readFile(join(dir, 'tail.jsonl'), 'utf8')).trim());
      const { createHash } = await import('node:crypto');
      const body = { ...tail, prev_hash: lastHash };
      delete body.hash;
      const hash = createHash('sha256').update(JSON.stringify(body)).digest('hex');
      const line = `${JSON.stringify(body).slice(0, -1)},"hash":"${hash}"}`;
      expect(verifyAudit(`${text}${line}\n`, { key })).toEqual({ ok: false, line: 4, reason: 'not_keyed' });
    });
  });

  describe('anchored in the store', () => {
    function memoryAnchors() {
      const anchors = new Map<string, AuditAnchor>();
      return {
        anchors,
        store: {
          get: async (chain: string) => anchors.get(chain) ?? null,
          advance: async (anchor: AuditAnchor) => {
            if ((anchors.get(anchor.chain)?.count ?? -1) < anchor.count) anchors.set(anchor.chain, anchor);
          },
        },
      };
    }

    it('finds lines cut off the end, which the chain alone cannot', async () => {
      const path = join(dir, 'audit.jsonl');
      const { anchors, store } = memoryAnchors();
      const log = await openAuditLog(path, { anchors: store });
      for (let n = 1; n <= 5; n++) await log.append(input(n));
      await log.close();
      await new Promise((resolve) => setImmediate(resolve));
      const anchor = anchors.get(path) ?? null;
      expect(anchor?.count).toBe(5);
      const lines = (await readFile(path, 'utf8')).split('\n').filter(Boolean);
      const cut = `${lines.slice(0, 3).join('\n')}\n`;
      expect(verifyAudit(cut)).toEqual({ ok: true, lines: 3 });
      expect(verifyAudit(cut, { anchor })).toEqual({ ok: false, line: 4, reason: 'truncated' });
      await writeFile(path, cut);
      await expect(openAuditLog(path, { anchors: store })).rejects.toThrow(
        /store counted 5 lines, the file has 3/,
      );
    });

    it('finds a tail rewritten to the same length', async () => {
      const path = join(dir, 'audit.jsonl');
      const { anchors, store } = memoryAnchors();
      const log = await openAuditLog(path, { anchors: store });
      for (let n = 1; n <= 3; n++) await log.append(input(n));
      await log.close();
      await new Promise((resolve) => setImmediate(resolve));
      const lines = (await readFile(path, 'utf8')).split('\n').filter(Boolean);
      await writeFile(path, `${lines.slice(0, 2).join('\n')}\n`);
      const rewrite = await openAuditLog(path);
      await rewrite.append(input(3, { outcome: 'rewritten' }));
      await rewrite.close();
      const text = await readFile(path, 'utf8');
      expect(verifyAudit(text, { anchor: anchors.get(path) ?? null })).toEqual({
        ok: false,
        line: 3,
        reason: 'diverged',
      });
      await expect(openAuditLog(path, { anchors: store })).rejects.toThrow(/not the line the store anchored/);
    });
  });
});
