import { createHash } from 'node:crypto';

/**
 * The `/deploy` picker's button ids. A button names its choice by short hashes of the names (a
 * service, an environment, a ref), not by position: a list that changed between showing and
 * pressing (a new branch, a reordered config) can never turn a press into another choice; a name
 * no longer there is simply not found. The ids fit `encodeCallback` (16–32 base64url characters),
 * so the signed payload stays under Telegram's 64 bytes.
 */
export type PickChoice =
  /** A service and environment: next, the refs. */
  | { step: 'target'; service: string; environment: string }
  /** A ref of that target: next, the usual confirmation. */
  | { step: 'ref'; service: string; environment: string; ref: string };

const PART = 7;
const REF_PART = 12;

/** A name's short hash: base64url of its SHA-256, `length` characters. */
export function nameHash(name: string, length: number = PART): string {
  return createHash('sha256').update(name).digest('base64url').slice(0, length);
}

/** The button id of a choice: `t<service><env>_` (16) or `r<service><env><ref>` (27). */
export function pickId(choice: PickChoice): string {
  const target = `${nameHash(choice.service)}${nameHash(choice.environment)}`;
  return choice.step === 'target' ? `t${target}_` : `r${target}${nameHash(choice.ref, REF_PART)}`;
}

/** What a pick id says: the step and the hashes to look the names up by; null when it is not one. */
export function parsePickId(
  id: string,
): { step: 'target' | 'ref'; service: string; environment: string; ref: string | null } | null {
  const target = /^t([A-Za-z0-9_-]{7})([A-Za-z0-9_-]{7})_$/.exec(id);
  if (target) return { step: 'target', service: target[1] ?? '', environment: target[2] ?? '', ref: null };
  const ref = /^r([A-Za-z0-9_-]{7})([A-Za-z0-9_-]{7})([A-Za-z0-9_-]{12})$/.exec(id);
  if (ref) return { step: 'ref', service: ref[1] ?? '', environment: ref[2] ?? '', ref: ref[3] ?? '' };
  return null;
}

/** The name among `names` whose hash is `hash` (`length` characters); undefined when none is. */
export function findByHash<T>(
  items: readonly T[],
  nameOf: (item: T) => string,
  hash: string,
  length: number = PART,
): T | undefined {
  return items.find((item) => nameHash(nameOf(item), length) === hash);
}

/** Length of a ref's hash in a pick id. */
export const PICK_REF_HASH = REF_PART;
