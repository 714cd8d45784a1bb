import { z } from 'zod';

/**
 * The parts of GitHub's webhook payloads the bot reads, checked at the boundary (after the signature,
 * before anything is trusted). Unknown fields pass through; a payload missing what the bot needs is
 * ignored, not half-applied.
 */
const actor = z.object({ login: z.string() }).nullish();

export const repositoryPayload = z.object({ repository: z.object({ full_name: z.string() }) });

export const workflowRunPayload = z.object({
  workflow_run: z.object({
    id: z.number().int().positive(),
    html_url: z.string(),
    status: z.string().nullable(),
    conclusion: z.string().nullable(),
    updated_at: z.string(),
    display_title: z.string().nullish(),
    path: z.string().optional(),
    workflow_id: z.number().optional(),
    head_sha: z.string().optional(),
    head_branch: z.string().nullish(),
    event: z.string().optional(),
    actor,
    triggering_actor: actor,
  }),
});

export const workflowJobPayload = z.object({
  workflow_job: z.object({
    id: z.number().int().positive(),
    run_id: z.number().int().positive(),
    name: z.string(),
    status: z.string(),
    conclusion: z.string().nullable(),
    started_at: z.string().nullable(),
    completed_at: z.string().nullable(),
    html_url: z.string().nullable(),
    steps: z
      .array(
        z.object({
          name: z.string(),
          status: z.string(),
          conclusion: z.string().nullable(),
          number: z.number(),
        }),
      )
      .optional(),
  }),
});

export const deploymentStatusPayload = z.object({
  deployment_status: z.object({ state: z.string(), environment_url: z.string().nullish() }),
  workflow_run: z.object({ id: z.number().int().positive() }).nullish(),
});
