import { type FileHandle, mkdir, open, statfs, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { AuditAnchor } from '../core/audit-record.ts';
import {
  type AuditEntry,
  AuditError,
  type AuditInput,
  type ChainKey,
  checkLine,
  GENESIS_HASH,
  hashOf,
  normalise,
  serialise,
} from './audit-entry.ts';
import { type ChainScan, scanChain } from './scan-chain.ts';

export type AuditLog = {
  /** Resolves once the line is written and fsynced: only then may the recorded action be taken. */
  append(input: AuditInput): Promise<AuditEntry>;
  /**
   * Null while the log can be written, else why not (for `/readyz`). After a failed write it tries to
   * recover first: the partial line is cut off and the disk must have room again.
   */
  check(): Promise<string | null>;
  close(): Promise<void>;
};

/** Where the chain's anchor is kept (the store): see {@link AuditAnchor}. */
export type AnchorStore = {
  get(chain: string): Promise<AuditAnchor | null>;
  /** Records the anchor unless the stored one already counts as many lines or more. */
  advance(anchor: AuditAnchor): Promise<void>;
};

export type AuditLogOptions = {
  now?: () => Date;
  key?: ChainKey;
  anchors?: AnchorStore;
  /** An anchor that could not be stored: the line is written, only truncation detection lags. */
  onAnchorError?: (error: unknown) => void;
};

/** Free space below this counts as a full disk (one line is a few hundred bytes; leave room). */
const MIN_FREE_BYTES = 64 * 1024;

/**
 * Opens (creating it and its directory) the audit log at `path` and continues its chain. A torn last
 * line (a crash mid-append: no newline, not an entry) is set aside in `<path>.torn-<ms>` and that is
 * recorded as the first new line. The chain's anchor in the store (keyed by the file's absolute path)
 * is checked against the file and advanced after every append.
 * @throws {AuditError} when the last complete line is not an intact entry, or the file has lost lines
 * the store counted: appending to a broken chain would hide the damage (`deploybot audit verify`).
 */
export async function openAuditLog(path: string, options: AuditLogOptions = {}): Promise<AuditLog> {
  const now = options.now ?? (() => new Date());
  const key = options.key ?? null;
  const chain = resolve(path);
  await mkdir(dirname(path), { recursive: true });
  // Owner and group only: the trail names people and what they did.
  const handle = await open(path, 'a+', 0o640);
  let scan: ChainScan;
  let setAside: string | null = null;
  try {
    const anchor = (await options.anchors?.get(chain)) ?? null;
    scan = await scanChain(handle, anchor?.count ?? 0);
    if (scan.size === 0) await syncDirectory(dirname(path));
    if (scan.torn !== null) {
      setAside = `${path}.torn-${now().getTime()}`;
      await writeFile(setAside, scan.torn.text, { mode: 0o640 });
      await handle.truncate(scan.torn.offset);
      await handle.sync();
    }
    checkTail(path, scan, key);
    checkAnchor(path, scan, anchor);
  } catch (error) {
    await handle.close();
    throw error;
  }
  const log = chainWriter(handle, { ...options, now, key, chain }, scan);
  if (setAside !== null) {
    await log.append({
      actor_id: null,
      actor_name: null,
      action: 'audit_torn_line_set_aside',
      environment: null,
      sha: null,
      request_id: null,
      outcome: setAside,
    });
  }
  return log;
}

function checkTail(path: string, scan: ChainScan, key: ChainKey): void {
  if (scan.last === null) return;
  const checked = checkLine(scan.last, key);
  if (!('reason' in checked)) return;
  const hint = key ? '' : ' (or the chain is keyed and AUDIT_HMAC_KEY is not set)';
  throw new AuditError(
    `audit log ${path}: the last line is ${checked.reason}${hint}; not appending to a broken chain`,
  );
}

function checkAnchor(path: string, scan: ChainScan, anchor: AuditAnchor | null): void {
  if (!anchor) return;
  if (scan.lines < anchor.count) {
    throw new AuditError(
      `audit log ${path}: the store counted ${anchor.count} lines, the file has ${scan.lines}: lines were cut off the end. Run deploybot audit verify.`,
    );
  }
  if (scan.anchoredHash !== anchor.hash) {
    throw new AuditError(
      `audit log ${path}: line ${anchor.count} is not the line the store anchored: the file was rewritten. Run deploybot audit verify.`,
    );
  }
}

type WriterOptions = Required<Pick<AuditLogOptions, 'now'>> &
  AuditLogOptions & { key: ChainKey; chain: string };

/** Appends to a checked chain, one line at a time, recovering from a failed write on the next one. */
function chainWriter(handle: FileHandle, options: WriterOptions, scan: ChainScan): AuditLog {
  let lastHash =
    scan.last === null
      ? GENESIS_HASH
      : (checkLine(scan.last, options.key) as { entry: AuditEntry }).entry.hash;
  let count = scan.lines;
  let needsNewline = scan.last !== null && !scan.endsWithNewline;
  let goodSize = scan.torn === null ? scan.size : scan.torn.offset;
  let failure: Error | null = null;
  let dirty = false;
  let queue: Promise<unknown> = Promise.resolve();
  let closed = false;

  /** A failed write may have left part of a line: cut the file back to its last whole line. */
  const repair = async () => {
    if (!dirty) return;
    try {
      await handle.truncate(goodSize);
      await handle.sync();
      dirty = false;
    } catch (error) {
      throw new AuditError(`audit log cannot be repaired after a failed write: ${messageOf(error)}`);
    }
  };

  const write = async (input: AuditInput): Promise<AuditEntry> => {
    const body = { ...normalise(input, input.ts ?? options.now().toISOString()), prev_hash: lastHash };
    const entry: AuditEntry = { ...body, hash: hashOf(body, options.key) };
    await repair();
    const text = `${needsNewline ? '\n' : ''}${serialise(entry)}\n`;
    try {
      await handle.write(text);
      await handle.sync();
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
      dirty = true;
      await repair().catch(() => {});
      throw new AuditError(`audit log write failed: ${failure.message}`);
    }
    failure = null;
    needsNewline = false;
    goodSize += Buffer.byteLength(text);
    lastHash = entry.hash;
    count++;
    options.anchors
      ?.advance({ chain: options.chain, count, hash: entry.hash })
      .catch((error) => options.onAnchorError?.(error));
    return entry;
  };

  const check = async (): Promise<string | null> => {
    if (failure === null) return null;
    try {
      await repair();
      const fs = await statfs(dirname(options.chain));
      if (fs.bavail * fs.bsize < MIN_FREE_BYTES) return `audit log cannot be written: the disk is full`;
    } catch (error) {
      return `audit log cannot be written: ${messageOf(error)}`;
    }
    return null;
  };

  const queued = <T>(task: () => Promise<T>): Promise<T> => {
    if (closed) return Promise.reject(new AuditError('audit log is closed'));
    const result = queue.then(task);
    queue = result.catch(() => undefined);
    return result;
  };

  return {
    append: (input) => queued(() => write(input)),
    check: () => queued(check),
    async close() {
      const pending = queue;
      closed = true;
      await pending;
      await handle.close();
    },
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
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
