import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type AuditProblem, verifyAudit } from '../audit/verify-audit.ts';
import { loadAuditSettings } from '../config.ts';
import type { AuditAnchor } from '../core/audit-anchor.ts';
import { openStore } from '../store/open-store.ts';

const WHY: Record<AuditProblem, string> = {
  edited: 'was edited (its hash does not match its content)',
  removed_or_reordered: 'does not follow the line before it (a line was removed or reordered)',
  malformed: 'is not a valid audit record',
  not_keyed: 'is not keyed with AUDIT_HMAC_KEY (a keyed chain must stay keyed)',
  truncated: 'is missing: the store counted more lines (lines were cut off the end)',
  diverged: 'is not the line the store anchored (the end of the file was rewritten)',
};

type Output = { out: (text: string) => void; err: (text: string) => void };

/**
 * `deploybot audit verify [file]`: the hash chain (keyed with `AUDIT_HMAC_KEY` when set), and the
 * store's anchor when the store is reachable (`DATABASE_URL`), so lines cut off the end are found.
 * @returns 0 intact, 1 broken (naming the first bad line), 2 usage or unreadable input.
 */
export async function runAuditVerify(
  env: Record<string, string | undefined>,
  file: string | undefined,
  io: Output,
): Promise<number> {
  const loaded = loadAuditSettings(env);
  if (!loaded.ok) {
    for (const problem of loaded.problems) io.err(`deploybot: ${problem}\n`);
    return 2;
  }
  const path = file ?? loaded.settings.path;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    io.err(`deploybot: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}\n`);
    return 2;
  }
  const anchor = await readAnchor(loaded.settings.databaseUrl, resolve(path), io);
  const key = loaded.settings.hmacKey === null ? null : Buffer.from(loaded.settings.hmacKey);
  const result = verifyAudit(text, { key, anchor });
  if (!result.ok) {
    const hint = result.reason === 'edited' && !key ? '; if the chain is keyed, set AUDIT_HMAC_KEY' : '';
    io.err(`${path}: line ${result.line} ${WHY[result.reason]}${hint}\n`);
    return 1;
  }
  const checked = [
    key ? 'keyed' : 'not keyed',
    anchor ? `anchor of ${anchor.count} lines matches` : 'no anchor in the store',
  ];
  io.out(`${path}: ${result.lines} lines, hash chain intact (${checked.join(', ')})\n`);
  return 0;
}

/** The store's anchor of the chain; null (said on stderr) when the store cannot be read. */
async function readAnchor(databaseUrl: string, chain: string, io: Output): Promise<AuditAnchor | null> {
  const isFile = !/^postgres(?:ql)?:/i.test(databaseUrl);
  if (isFile && !existsSync(databaseUrl)) return null;
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
