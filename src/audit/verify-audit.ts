import type { AuditAnchor } from '../core/audit-record.ts';
import { type ChainKey, checkLine, GENESIS_HASH } from './audit-entry.ts';

export type AuditProblem =
  | 'edited'
  | 'removed_or_reordered'
  | 'malformed'
  /** A plain line after a keyed one, or no keyed line at all while a key is given. */
  | 'not_keyed'
  /** Fewer lines than the store's anchor counted: lines were cut off the end. */
  | 'truncated'
  /** The line at the anchor's count is not the one anchored: the tail was rewritten. */
  | 'diverged';

export type AuditVerification =
  | { ok: true; lines: number }
  | { ok: false; line: number; reason: AuditProblem };

/**
 * Checks the whole chain and names the first bad line (1-based): `edited` when a line's hash does
 * not match its content, `removed_or_reordered` when its prev_hash is not the previous line's hash,
 * `malformed` when it is not an audit entry. With `key`, every line after the first keyed one must
 * be keyed, and a chain must have one. With `anchor`, lines cut off the end are found too. An empty
 * text is a valid, empty log (unless the anchor counted lines).
 */
export function verifyAudit(
  text: string,
  options: { key?: ChainKey; anchor?: AuditAnchor | null } = {},
): AuditVerification {
  const key = options.key ?? null;
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  let previous = GENESIS_HASH;
  let keyedSeen = false;
  for (const [index, line] of lines.entries()) {
    const checked = checkLine(line, key);
    if ('reason' in checked) return { ok: false, line: index + 1, reason: checked.reason };
    if (checked.entry.prev_hash !== previous)
      return { ok: false, line: index + 1, reason: 'removed_or_reordered' };
    if (keyedSeen && !checked.keyed) return { ok: false, line: index + 1, reason: 'not_keyed' };
    keyedSeen ||= checked.keyed;
    if (options.anchor && index + 1 === options.anchor.count && checked.entry.hash !== options.anchor.hash)
      return { ok: false, line: index + 1, reason: 'diverged' };
    previous = checked.entry.hash;
  }
  if (key && lines.length > 0 && !keyedSeen) return { ok: false, line: 1, reason: 'not_keyed' };
  if (options.anchor && lines.length < options.anchor.count)
    return { ok: false, line: lines.length + 1, reason: 'truncated' };
  return { ok: true, lines: lines.length };
}
