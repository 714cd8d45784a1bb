import { z } from 'zod';
import { ENVIRONMENT_NAME } from '../core/environment.ts';

/** deploy.yml's Resolve job checks environment names with this pattern too. */
export { ENVIRONMENT_NAME };

/**
 * The `workflow_dispatch` inputs of `.github/workflows/deploy.yml`: the one source of truth the
 * bot dispatches with and the workflow declares (a test compares the two, see
 * `test/pipeline/dispatch-contract.test.ts`).
 */
export const DISPATCH_INPUT_NAMES = ['environment', 'sha', 'action', 'request_id', 'requested_by'] as const;

/** Deploy actions the workflow understands. */
export const DISPATCH_ACTIONS = ['deploy', 'rollback'] as const;

/** A request id, as it appears between square brackets in the run-name. */
export const REQUEST_ID = /^[A-Za-z0-9-]{1,64}$/;

/** Inputs the bot sends; every value is a string, as GitHub requires for workflow_dispatch. */
export const dispatchInputsSchema = z.strictObject({
  environment: z.string().regex(ENVIRONMENT_NAME),
  sha: z.string().regex(/^[0-9a-f]{40}$/),
  action: z.enum(DISPATCH_ACTIONS),
  request_id: z.string().regex(REQUEST_ID),
  requested_by: z
    .string()
    .min(1)
    .max(200)
    .refine((s) => !/\p{Cc}/u.test(s), 'no control characters'),
});

export type DispatchInputs = z.infer<typeof dispatchInputsSchema>;

/**
 * Validates inputs before they leave for GitHub.
 * @throws {z.ZodError} when a value would be refused by the workflow.
 */
export function buildDispatchInputs(inputs: DispatchInputs): DispatchInputs {
  return dispatchInputsSchema.parse(inputs);
}

/** Extracts the request id from a run's `display_title` ("Deploy production abc1234 [req-id]"). */
export function requestIdFromTitle(title: string | null | undefined): string | null {
  if (!title) return null;
  const match = /\[([A-Za-z0-9-]{1,64})\]/.exec(title);
  return match?.[1] ?? null;
}
