import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Inline-button payloads: `<action>:<id>:<tag>`, at most 64 bytes (Telegram's limit).
 *
 * The tag is an HMAC over action and id, keyed by a secret every instance derives from the bot
 * token, so a forged or altered button is refused before the store is even asked. The id is
 * opaque and random; what it confirms lives server side (single use, expiring).
 */

/**
 * What a button does. One letter each, to keep the payload short. `approve` and `reject` review a
 * run waiting for its environment's reviewers; their id names the run ({@link reviewCallbackId}).
 * `pick` is a step of the `/deploy` picker; its id names the choice (`core/picker.ts`).
 */
export const CALLBACK_ACTIONS = { confirm: 'c', cancel: 'x', approve: 'a', reject: 'r', pick: 'p' } as const;
export type CallbackAction = keyof typeof CALLBACK_ACTIONS;

export type DecodedCallback =
  | { ok: true; action: CallbackAction; id: string }
  | { ok: false; reason: 'malformed' | 'bad_tag' };

const ID = /^[A-Za-z0-9_-]{16,32}$/;
const TAG_BYTES = 12;

/** Derives the callback key from the bot token (same on every instance, changes when the token is rotated). */
export function deriveCallbackKey(botToken: string): Buffer {
  return createHmac('sha256', 'telegram-deploy-bot/callback-data/v1').update(botToken).digest();
}

function tagOf(key: Buffer, letter: string, id: string): Buffer {
  return createHmac('sha256', key).update(`${letter}:${id}`).digest().subarray(0, TAG_BYTES);
}

/**
 * Encodes a button payload.
 * @throws {RangeError} when `id` is not 16–32 base64url characters (a programming error).
 */
export function encodeCallback(key: Buffer, action: CallbackAction, id: string): string {
  if (!ID.test(id)) throw new RangeError('callback id must be 16-32 base64url characters');
  const letter = CALLBACK_ACTIONS[action];
  return `${letter}:${id}:${tagOf(key, letter, id).toString('base64url')}`;
}

/** Decodes and authenticates a payload from Telegram. Never throws: anything odd is `malformed`. */
export function decodeCallback(key: Buffer, data: string): DecodedCallback {
  const parts = data.split(':');
  if (parts.length !== 3) return { ok: false, reason: 'malformed' };
  const [letter = '', id = '', tag = ''] = parts;
  const action = (Object.keys(CALLBACK_ACTIONS) as CallbackAction[]).find(
    (a) => CALLBACK_ACTIONS[a] === letter,
  );
  if (!action || !ID.test(id) || !/^[A-Za-z0-9_-]+$/.test(tag)) return { ok: false, reason: 'malformed' };
  const given = Buffer.from(tag, 'base64url');
  const expected = tagOf(key, letter, id);
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { ok: false, reason: 'bad_tag' };
  return { ok: true, action, id };
}

/** The actions of the Approve / Reject buttons on a run waiting for its environment's reviewers. */
export type ReviewAction = Extract<CallbackAction, 'approve' | 'reject'>;

/** Whether a decoded button reviews a run (Approve / Reject) rather than answering a confirmation. */
export function isReviewAction(action: CallbackAction): action is ReviewAction {
  return action === 'approve' || action === 'reject';
}

const REVIEW_ID = /^0*([1-9]\d{0,15})$/;

/**
 * The callback id of a review button: the run id, zero-padded to 16 digits (the id format wants
 * 16–32 characters). `a:<16 digits>:<tag>` is 35 bytes.
 * @throws {RangeError} when `runId` is not a positive safe integer (a programming error).
 */
export function reviewCallbackId(runId: number): string {
  if (!Number.isSafeInteger(runId) || runId <= 0) throw new RangeError('run id must be a positive integer');
  return String(runId).padStart(16, '0');
}

/** The run id a review button's id names, or null when the id is not one. */
export function runIdOfReviewId(id: string): number | null {
  const digits = REVIEW_ID.exec(id)?.[1];
  if (digits === undefined) return null;
  const runId = Number(digits);
  return Number.isSafeInteger(runId) ? runId : null;
}

/**
 * Whether a payload claims to be an Approve or Reject button (by its letter, not yet verified): the
 * Telegram adapter routes it to the review use case, which checks the tag like any other press.
 */
export function isReviewCallback(data: string): boolean {
  return data.startsWith(`${CALLBACK_ACTIONS.approve}:`) || data.startsWith(`${CALLBACK_ACTIONS.reject}:`);
}

/** Whether a payload is a step of the `/deploy` picker (its tag is checked by the use case). */
export function isPickCallback(data: string): boolean {
  return data.startsWith(`${CALLBACK_ACTIONS.pick}:`);
}
