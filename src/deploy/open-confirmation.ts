import type { Confirmation, ConfirmationKind } from '../store/store.ts';
import type { Actor, DeployDeps } from './deploy-deps.ts';

/**
 * Stores the server side of a Confirm / Cancel keyboard: single use, expiring after
 * `confirmTtlMs`, confirmable only by `actor`. `id` is given when the record already names it.
 */
export async function openConfirmation(
  deps: Pick<DeployDeps, 'store' | 'now' | 'newConfirmationId' | 'confirmTtlMs'>,
  fields: {
    id?: string;
    kind: ConfirmationKind;
    deploymentId: string;
    actor: Actor;
    chatId: number;
    /** Default: `confirmTtlMs` from now. */
    expiresAt?: number;
  },
): Promise<Confirmation> {
  const now = deps.now();
  const confirmation: Confirmation = {
    id: fields.id ?? deps.newConfirmationId(),
    kind: fields.kind,
    deploymentId: fields.deploymentId,
    requesterId: fields.actor.id,
    chatId: fields.chatId,
    createdAt: now,
    expiresAt: fields.expiresAt ?? now + deps.confirmTtlMs,
    usedAt: null,
  };
  await deps.store.insertConfirmation(confirmation);
  return confirmation;
}
