import type { FileHandle } from 'node:fs/promises';
import { checkLine } from './audit-entry.ts';

/** What opening a chain needs to know of its file, read once from start to end. */
export type ChainScan = {
  /** Bytes in the file. */
  size: number;
  /** Complete lines (a torn last line does not count). */
  lines: number;
  /** The last complete line, or a last line that only lost its newline; null for an empty file. */
  last: string | null;
  endsWithNewline: boolean;
  /** The hash of line number `anchorCount` (1-based), if the file has that many. */
  anchoredHash: string | null;
  /** A last line cut short by a crash (no newline, not an entry): its text and where it starts. */
  torn: { text: string; offset: number } | null;
};

const CHUNK = 64 * 1024;

/**
 * Reads the file in chunks (it may be large): counts its lines, keeps the last one and the one the
 * store's anchor points at. A last line without its newline is torn when it does not parse as an
 * entry (a crash mid-append), and only lost its newline when it does.
 */
export async function scanChain(handle: FileHandle, anchorCount: number): Promise<ChainScan> {
  const { size } = await handle.stat();
  let offset = 0;
  let lineStart = 0;
  let carry = Buffer.alloc(0);
  let lines = 0;
  let last: string | null = null;
  let anchoredHash: string | null = null;
  while (offset < size) {
    const buffer = Buffer.alloc(Math.min(CHUNK, size - offset));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
    if (bytesRead === 0) break;
    offset += bytesRead;
    carry = Buffer.concat([carry, buffer.subarray(0, bytesRead)]);
    for (let cut = carry.indexOf(10); cut !== -1; cut = carry.indexOf(10)) {
      const line = carry.subarray(0, cut).toString('utf8');
      lines++;
      last = line;
      if (lines === anchorCount) anchoredHash = hashIn(line);
      lineStart += cut + 1;
      carry = carry.subarray(cut + 1);
    }
  }
  if (carry.length === 0) return { size, lines, last, endsWithNewline: true, anchoredHash, torn: null };
  const tail = carry.toString('utf8');
  // Torn: not even an entry. A whole entry whose hash fails is an edit, refused later, never set aside.
  const checked = checkLine(tail, null);
  if ('reason' in checked && checked.reason === 'malformed') {
    return {
      size,
      lines,
      last,
      endsWithNewline: true,
      anchoredHash,
      torn: { text: tail, offset: lineStart },
    };
  }
  // A whole entry that only lost its newline counts as a line.
  if (lines + 1 === anchorCount) anchoredHash = hashIn(tail);
  return { size, lines: lines + 1, last: tail, endsWithNewline: false, anchoredHash, torn: null };
}

function hashIn(line: string): string | null {
  return /"hash":"([0-9a-f]{64})"}$/.exec(line)?.[1] ?? null;
}
