import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { serialise } from '../audit/audit-entry.ts';
import { type AuditProblem, verifyAudit } from '../audit/verify-audit.ts';
import { type AuditSettings, loadAuditSettings } from '../config.ts';
import type { AuditAnchor } from '../core/audit-record.ts';
import { isPostgresUrl, openStore } from '../store/open-store.ts';

const WHY: Record<AuditProblem, string> = {
  edited: 'was edited (its hash does not match its content)',
  removed_or_reordered: 'does not follow the line before it (a line was removed or reordered)',
  malformed: 'is not a valid audit record',
  not_keyed: 'is not keyed with AUDIT_HMAC_KEY (a keyed chain must stay keyed)',
  truncated: 'is missing: the store counted more lines (lines were cut off the end)',
  diverged: 'is not the line the store anchored (the end of the file was rewritten)',
};

type Output = { out: (text: string) => void; err: (text: string) => void };
type Env = Record<string, string | undefined>;

/**
 * `deploybot audit verify [file]`: the hash chain (keyed with `AUDIT_HMAC_KEY` when set). Without a
 * file on PostgreSQL, the cluster's chain in the database; else the file, with the store's anchor
 * when the store is reachable, so lines cut off the end are found too.
 * @returns 0 intact, 1 broken (naming the first bad line), 2 usage or unreadable input.
 */
export async function runAuditVerify(env: Env, file: string | undefined, io: Output): Promise<number> {
  const loaded = settingsOrExit(env, io);
  if (!loaded) return 2;
  const fromDatabase = file === undefined && isPostgresUrl(loaded.databaseUrl);
  const source = fromDatabase ? 'the audit chain in the database' : (file ?? loaded.path);
  const text = fromDatabase ? await databaseChain(loaded.databaseUrl, io) : await fileText(source, io);
  if (text === null) return 2;
  const anchor = fromDatabase ? null : await readAnchor(loaded.databaseUrl, resolve(source), io);
  const key = loaded.hmacKey === null ? null : Buffer.from(loaded.hmacKey);
  const result = verifyAudit(text, { key, anchor });
  if (!result.ok) {
    const hint = result.reason === 'edited' && !key ? '; if the chain is keyed, set AUDIT_HMAC_KEY' : '';
    io.err(`${source}: line ${result.line} ${WHY[result.reason]}${hint}\n`);
    return 1;
  }
  const anchored = fromDatabase
    ? []
    : [anchor ? `anchor of ${anchor.count} lines matches` : 'no anchor in the store'];
  const checked = [key ? 'keyed' : 'not keyed', ...anchored];
  io.out(`${source}: ${result.lines} lines, hash chain intact (${checked.join(', ')})\n`);
  return 0;
}

/**
 * `deploybot audit export [file]`: the cluster's chain from the database as JSON Lines (to `file`,
 * else standard output), byte for byte what a file log would hold, so `audit verify file` checks it.
 * @returns 0 written, 2 not on PostgreSQL or the database cannot be read.
 */
export async function runAuditExport(env: Env, file: string | undefined, io: Output): Promise<number> {
  const loaded = settingsOrExit(env, io);
  if (!loaded) return 2;
  if (!isPostgresUrl(loaded.databaseUrl)) {
    io.err(`deploybot: on SQLite the audit trail is the file ${loaded.path} already; nothing to export\n`);
    return 2;
  }
  const text = await databaseChain(loaded.databaseUrl, io);
  if (text === null) return 2;
  if (file === undefined) io.out(text);
  else await writeFile(file, text, { mode: 0o640 });
  return 0;
}

function settingsOrExit(env: Env, io: Output): AuditSettings | null {
  const loaded = loadAuditSettings(env);
  if (loaded.ok) return loaded.settings;
  for (const problem of loaded.problems) io.err(`deploybot: ${problem}\n`);
  return null;
}

async function fileText(path: string, io: Output): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    io.err(`deploybot: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}\n`);
    return null;
  }
}

/** The database's chain as JSON Lines, read a page at a time. */
async function databaseChain(databaseUrl: string, io: Output): Promise<string | null> {
  try {
    const store = await openStore(databaseUrl);
    try {
      await store.migrate();
      const lines: string[] = [];
      for (let page = await store.listAuditEntries(0, 1000); page.length > 0; ) {
        lines.push(...page.map(serialise));
        page = await store.listAuditEntries(lines.length, 1000);
      }
      return lines.map((line) => `${line}\n`).join('');
    } finally {
      await store.close();
    }
  } catch (error) {
    io.err(
      `deploybot: the audit chain could not be read from the database (${error instanceof Error ? error.message : 'error'})\n`,
    );
    return null;
  }
}

/** The store's anchor of a file chain; null (said on stderr) when the store cannot be read. */
async function readAnchor(databaseUrl: string, chain: string, io: Output): Promise<AuditAnchor | null> {
  if (!isPostgresUrl(databaseUrl) && !existsSync(databaseUrl)) return null;
  try {
    const store = await openStore(databaseUrl);
    try {
      await store.migrate();
      return await store.getAuditAnchor(chain);
    } finally {
      await store.close();
    }
  } catch (error) {
    io.err(
      `deploybot: the store's anchor could not be read (${error instanceof Error ? error.message : 'error'}); lines cut off the end cannot be detected\n`,
    );
    return null;
  }
}
