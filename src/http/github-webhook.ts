import { Webhooks } from '@octokit/webhooks';
import type { Handler } from 'hono';
import { parseJson } from './parse-json.ts';
import { readLimitedBody } from './read-limited-body.ts';

export type GitHubDelivery = { id: string; name: string; payload: unknown };

export type GitHubWebhookOptions = {
  secret: string;
  maxBodyBytes: number;
  handleDelivery: (delivery: GitHubDelivery) => Promise<void>;
  /** Told every request's outcome (`ok`, `unauthorized`, `bad_request`, `too_large`, `error`). */
  count: (outcome: string) => void;
  onError: (error: unknown) => void;
};

/**
 * `POST /github/webhook`: verifies `X-Hub-Signature-256` over the raw body, then parses, then hands
 * the delivery over. 401 without a valid signature, 400 for a body that is not JSON or a delivery
 * without its id and event, 413 over the size limit, else 200 (also when the handler failed: it is
 * logged, and reconciliation catches up; GitHub does not retry failed deliveries anyway).
 * @throws {TypeError} at construction when the secret is empty.
 */
export function githubWebhook(options: GitHubWebhookOptions): Handler {
  if (!options.secret) throw new TypeError('githubWebhook: a secret is required');
  const webhooks = new Webhooks({ secret: options.secret });
  const { count } = options;
  return async function githubWebhookRoute(c) {
    const signature = c.req.header('x-hub-signature-256');
    if (!signature) {
      count('unauthorized');
      return c.json({ error: 'missing signature' }, 401);
    }
    const read = await readLimitedBody(c.req.raw, options.maxBodyBytes);
    if (!read.ok) {
      count(read.status === 413 ? 'too_large' : 'bad_request');
      return c.json({ error: read.status === 413 ? 'body too large' : 'unreadable body' }, read.status);
    }
    const valid = await webhooks.verify(read.body.toString('utf8'), signature).catch(() => false);
    if (!valid) {
      count('unauthorized');
      return c.json({ error: 'bad signature' }, 401);
    }
    const payload = parseJson(read.body);
    const id = c.req.header('x-github-delivery') ?? '';
    const name = c.req.header('x-github-event') ?? '';
    if (payload === undefined || !id || !name) {
      count('bad_request');
      const error =
        payload === undefined ? 'body is not JSON' : 'missing X-GitHub-Delivery or X-GitHub-Event';
      return c.json({ error }, 400);
    }
    try {
      await options.handleDelivery({ id, name, payload });
      count('ok');
    } catch (error) {
      count('error');
      options.onError(error);
    }
    return c.json({ ok: true });
  };
}
