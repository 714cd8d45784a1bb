import { createHash } from 'node:crypto';
import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';

/** One audit line. Fields that do not apply are null. Key order is fixed: it is part of the hash. */
export type AuditEntry = {
  ts: string;
  actor_id: number | null;
  actor_name: string | null;
  action: string;
  environment: string | null;
  sha: string | null;
  request_id: string | null;
  outcome: string | null;
  prev_hash: string;
  hash: string;
};
export type AuditInput = Omit<AuditEntry, 'ts' | 'prev_hash' | 'hash'> & { ts?: string };
export type AuditLog = {
  /** Resolves once the line is written and fsynced: only then may the recorded action be taken. */
  append(input: AuditInput): Promise<AuditEntry>;
  close(): Promise<void>;
};
export type AuditVerification =
  | { ok: true; lines: number }
  | { ok: false; line: number; reason: 'edited' | 'removed_or_reordered' | 'malformed' };

/** The audit log cannot be trusted or written; the action it would record must not be taken. */
export class AuditError extends Error {
  override name = 'AuditError';
}

/** prev_hash of the first line. */
export const GENESIS_HASH = '0'.repeat(64);

const HASHED_FIELDS = [
  'ts',
  'actor_id',
  'actor_name',
  'action',
  'environment',
  'sha',
  'request_id',
  'outcome',
  'prev_hash',
] as const;
const NULLABLE_STRINGS = ['actor_name', 'environment', 'sha', 'request_id', 'outcome'] as const;

function canonical(entry: Omit<AuditEntry, 'hash'>): string {
  // Built field by field so the key order never depends on how the object was assembled.
  const ordered: Record<string, unknown> = {};
  for (const key of HASHED_FIELDS) ordered[key] = entry[key];
  return JSON.stringify(ordered);
}

function hashOf(entry: Omit<AuditEntry, 'hash'>): string {
  return createHash('sha256').update(canonical(entry)).digest('hex');
}

function serialise(entry: AuditEntry): string {
  // JSON escapes newlines and quotes inside values, so a Telegram name cannot break a line.
  return `${canonical(entry).slice(0, -1)},"hash":${JSON.stringify(entry.hash)}}`;
}

function parseEntry(line: string): AuditEntry | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return null;
  const record = value as Record<string, unknown>;
  const hex = /^[0-9a-f]{64}$/;
  const ok =
    typeof record.ts === 'string' &&
    (record.actor_id === null || Number.isSafeInteger(record.actor_id)) &&
    typeof record.action === 'string' &&
    NULLABLE_STRINGS.every((key) => record[key] === null || typeof record[key] === 'string') &&
    typeof record.prev_hash === 'string' &&
    hex.test(record.prev_hash) &&
    typeof record.hash === 'string' &&
    hex.test(record.hash);
  return ok ? (record as AuditEntry) : null;
}

type LineCheck = { entry: AuditEntry } | { reason: 'edited' | 'malformed' };

function checkLine(line: string): LineCheck {
  const entry = parseEntry(line);
  if (!entry) return { reason: 'malformed' };
  // Comparing the exact text also catches added keys, which the hash alone would not cover.
  if (hashOf(entry) !== entry.hash || serialise(entry) !== line) return { reason: 'edited' };
  return { entry };
}

/**
 * Checks the whole chain. Names the first bad line (1-based): `edited` when a line's hash does not
 * match its content, `removed_or_reordered` when its prev_hash is not the previous line's hash,
 * `malformed` when it is not an audit entry. An empty text is a valid, empty log.
 * Truncating lines off the end is not detectable from the file alone.
 */
export function verifyAudit(text: string): AuditVerification {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  let previous = GENESIS_HASH;
  for (const [index, line] of lines.entries()) {
    const checked = checkLine(line);
    if ('reason' in checked) return { ok: false, line: index + 1, reason: checked.reason };
    if (checked.entry.prev_hash !== previous)
      return { ok: false, line: index + 1, reason: 'removed_or_reordered' };
    previous = checked.entry.hash;
  }
  return { ok: true, lines: lines.length };
}

/** A new file's directory entry must be durable too, or a crash could lose the whole file. */
async function syncDirectory(path: string): Promise<void> {
  const directory = await open(path, 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

/** The last line of the file and whether the file ends with a newline, reading backwards in chunks. */
async function readTail(handle: FileHandle): Promise<{ line: string | null; endsWithNewline: boolean }> {
  const { size } = await handle.stat();
  if (size === 0) return { line: null, endsWithNewline: true };
  let chunk = 4096;
  for (;;) {
    const start = Math.max(0, size - chunk);
    const buffer = Buffer.alloc(size - start);
    await handle.read(buffer, 0, buffer.length, start);
    const text = buffer.toString('utf8');
    const endsWithNewline = text.endsWith('\n');
    const body = endsWithNewline ? text.slice(0, -1) : text;
    const cut = body.lastIndexOf('\n');
    if (cut >= 0 || start === 0) return { line: body.slice(cut + 1), endsWithNewline };
    chunk *= 4;
  }
}

function normalise(input: AuditInput, ts: string): Omit<AuditEntry, 'hash' | 'prev_hash'> {
  if (typeof input.action !== 'string' || input.action === '')
    throw new AuditError('audit entry needs an action');
  if (input.actor_id !== null && !Number.isSafeInteger(input.actor_id)) {
    throw new AuditError('audit actor_id must be an integer or null');
  }
  if (Number.isNaN(Date.parse(ts))) throw new AuditError(`audit ts is not a date: ${JSON.stringify(ts)}`);
  // undefined would vanish from the JSON and make the line malformed; the contract says null.
  return {
    ts,
    actor_id: input.actor_id ?? null,
    actor_name: input.actor_name ?? null,
    action: input.action,
    environment: input.environment ?? null,
    sha: input.sha ?? null,
    request_id: input.request_id ?? null,
    outcome: input.outcome ?? null,
  };
}

/**
 * Opens (creating it and its directory) the audit log at `path` and continues its chain.
 * @throws {AuditError} when the last line is not an intact entry: appending to a broken chain
 * would hide the damage. Run `deploybot audit verify` to find it.
 */
export async function openAuditLog(path: string, options: { now?: () => Date } = {}): Promise<AuditLog> {
  const now = options.now ?? (() => new Date());
  await mkdir(dirname(path), { recursive: true });
  // Owner and group only: the trail names people and what they did.
  const handle = await open(path, 'a+', 0o640);
  let lastHash = GENESIS_HASH;
  let needsNewline = false;
  try {
    const tail = await readTail(handle);
    if (tail.line === null) await syncDirectory(dirname(path));
    if (tail.line !== null) {
      const checked = checkLine(tail.line);
      if ('reason' in checked) {
        throw new AuditError(
          `audit log ${path}: the last line is ${checked.reason}; not appending to a broken chain`,
        );
      }
      lastHash = checked.entry.hash;
      needsNewline = !tail.endsWithNewline;
    }
  } catch (error) {
    await handle.close();
    throw error;
  }

  let queue: Promise<unknown> = Promise.resolve();
  let failure: Error | null = null;
  let closed = false;

  const write = async (input: AuditInput): Promise<AuditEntry> => {
    // After a failed write the file may hold a partial line; refusing further appends keeps
    // every later action from running unrecorded.
    if (failure)
      throw new AuditError(`audit log unusable after an earlier write failure: ${failure.message}`);
    const body = { ...normalise(input, input.ts ?? now().toISOString()), prev_hash: lastHash };
    const entry: AuditEntry = { ...body, hash: hashOf(body) };
    try {
      await handle.write(`${needsNewline ? '\n' : ''}${serialise(entry)}\n`);
      await handle.sync();
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
      throw new AuditError(`audit log write failed: ${failure.message}`);
    }
    needsNewline = false;
    lastHash = entry.hash;
    return entry;
  };

  return {
    append(input) {
      if (closed) return Promise.reject(new AuditError('audit log is closed'));
      const result = queue.then(() => write(input));
      queue = result.catch(() => undefined);
      return result;
    },
    async close() {
      const pending = queue;
      closed = true;
      await pending;
      await handle.close();
    },
  };
}
