import { decodeCallback } from '../core/callback-data.ts';
import type { EnvironmentSpec } from '../core/environment.ts';
import { findByHash, nameHash, PICK_REF_HASH, parsePickId, pickId } from '../core/picker.ts';
import { allowedRefKinds } from '../core/ref-policy.ts';
import { hasRole } from '../core/roles.ts';
import { type Service, serviceAccess } from '../core/service.ts';
import { toGitHubError } from '../github/github-error.ts';
import { dateRefs, listRefs, type NamedRef } from '../github/list-refs.ts';
import { type Actor, auditAs, type DeployDeps } from './deploy-deps.ts';
import { type RequestOutcome, requestDeployment } from './request-deployment.ts';
import { commandTarget, withService } from './service-deps.ts';

/** At most this many refs are offered (newest first): a phone screen of buttons. */
export const PICK_REFS = 8;

/** One button of a picker step: its label and the id its signed payload carries. */
export type PickButton = { label: string; id: string };

/** Stable codes for a picker step that offers nothing. */
export type PickRefusal = 'forged' | 'forbidden' | 'gone' | 'no_refs' | 'github_error';

export type PickOutcome =
  | { kind: 'refused'; reason: PickRefusal; message: string }
  /** The next step: a question and its buttons. */
  | { kind: 'choose'; text: string; buttons: PickButton[] }
  /**
   * The last step: the same outcome as typing `/deploy <service> <env> <ref>`, and what the
   * picker's message says now that it is done (`Deploy shop staging: 🏷 v1.4.2.`).
   */
  | { kind: 'requested'; outcome: RequestOutcome; text: string };

const refused = (reason: PickRefusal, message: string): PickOutcome => ({ kind: 'refused', reason, message });

/** The services and environments `actor` may deploy to now, in the configured order. */
function targetsOf(deps: DeployDeps, actor: Actor): Array<{ service: Service; env: EnvironmentSpec }> {
  const { config } = deps.services;
  return config.services.flatMap((service) => {
    const access = serviceAccess(service, config.access);
    return service.environments
      .filter((env) => hasRole(actor.id, env.role, access))
      .map((env) => ({ service, env }));
  });
}

/**
 * `/deploy` with nothing after it: buttons for every service and environment the user may deploy to
 * (the service named only where there are several).
 */
export function startPicker(deps: DeployDeps, actor: Actor): PickOutcome {
  const several = deps.services.config.services.length > 1;
  const buttons = targetsOf(deps, actor).map(({ service, env }) => ({
    label: several ? `${service.name} · ${env.name}` : env.name,
    id: pickId({ step: 'target', service: service.name, environment: env.name }),
  }));
  if (buttons.length === 0) return refused('forbidden', 'You may not deploy anywhere.');
  return { kind: 'choose', text: 'Deploy what where? Pick a target.', buttons };
}

/**
 * A press of a picker button. Re-checked like Confirm: the signed payload, then the presser's role
 * for that environment now, and for a ref that it still exists and the environment's ref rules
 * allow it. A target answers with its recent branches and tags (newest first); a ref goes on
 * exactly like `/deploy <service> <env> <ref>` (the pinned-SHA confirmation, or the dispatch).
 */
export async function pressPick(
  deps: DeployDeps,
  press: { actor: Actor; chatId: number; data: string; key: Buffer },
): Promise<PickOutcome> {
  const decoded = decodeCallback(press.key, press.data);
  const parsed = decoded.ok && decoded.action === 'pick' ? parsePickId(decoded.id) : null;
  if (!parsed) {
    await auditAs(deps, press.actor, { action: 'button_refused', outcome: 'forged' });
    return refused('forged', 'This button is not valid.');
  }
  const target = targetsOf(deps, press.actor).find(
    (t) => nameHash(t.service.name) === parsed.service && nameHash(t.env.name) === parsed.environment,
  );
  if (!target) return refused('forbidden', 'You may no longer deploy there (or it is no longer configured).');
  const scoped = withService(deps, target.service);
  let refs: NamedRef[];
  try {
    refs = allowedRefs(target.env, await listRefs(scoped.github, scoped.repo));
  } catch (error) {
    return refused('github_error', toGitHubError(error, 'the branches and tags').userMessage);
  }
  if (parsed.step === 'ref') {
    const ref = findByHash(refs, (r) => r.name, parsed.ref ?? '', PICK_REF_HASH);
    if (!ref) return refused('gone', 'That branch or tag is gone, or no longer allowed. Send /deploy again.');
    const outcome = await requestDeployment(scoped, {
      actor: press.actor,
      chatId: press.chatId,
      environment: target.env.name,
      ref: ref.name,
    });
    return {
      kind: 'requested',
      outcome,
      text: `Deploy ${commandTarget(scoped, target.env.name)}: ${refLabel(ref)}.`,
    };
  }
  return refChoices(scoped, target.service, target.env, refs);
}

/** The refs the environment's rules allow (a full-SHA rule offers nothing to pick). */
function allowedRefs(env: EnvironmentSpec, refs: readonly NamedRef[]): NamedRef[] {
  return refs.filter((r) => allowedRefKinds(env.refs, r.name, false)[r.kind]);
}

/** A ref as its button shows it: 🏷 for a tag, 🌿 for a branch. */
const refLabel = (ref: NamedRef): string => `${ref.kind === 'tag' ? '🏷' : '🌿'} ${ref.name}`;

/** `deps` is scoped to `service` ({@link withService}). */
async function refChoices(
  deps: DeployDeps,
  service: Service,
  env: EnvironmentSpec,
  refs: readonly NamedRef[],
): Promise<PickOutcome> {
  const where = commandTarget(deps, env.name);
  if (refs.length === 0) {
    return refused('no_refs', `No branch or tag of ${where} is allowed; type /deploy ${where} <sha>.`);
  }
  // Every ref the rules allow is dated, not the first few: GitHub lists branches and tags by name, so
  // a cut before the dates would offer dependabot/* and leave out the branch pushed a minute ago.
  const ordered = (await dateRefs(deps.github, deps.repo, refs)).slice(0, PICK_REFS);
  const buttons = ordered.map((r) => ({
    label: refLabel(r),
    id: pickId({ step: 'ref', service: service.name, environment: env.name, ref: r.name }),
  }));
  return { kind: 'choose', text: `Deploy ${where}: pick a branch or tag (newest first).`, buttons };
}
