import { createServer, type Server } from 'node:http';
import { Octokit } from '@octokit/rest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { retryRequests } from './retry-requests.ts';

/** Answers each request with the next status of `plan` (then 200), and counts them. */
let plan: number[] = [];
let seen = 0;
let server: Server;
let baseUrl: string;
beforeAll(async () => {
  server = createServer((request, response) => {
    request.resume();
    seen++;
    const status = plan.shift() ?? 200;
    response.writeHead(status, { 'content-type': 'application/json' }).end('{"ok":1}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  seen = 0;
});

const RetryOctokit = Octokit.plugin(retryRequests);
const client = (retries: number) =>
  new RetryOctokit({
    baseUrl,
    auth: 't',
    retry: { retries, doNotRetry: [400, 401, 403, 404, 409, 410, 422, 429, 451], retryAfterBaseValue: 1 },
  });

describe("retryRequests: plugin-retry's rules without its Bottleneck", () => {
  it('sends a request that got a 5xx again, at most `retries` times', async () => {
    plan = [502, 500];
    await expect(client(2).rest.repos.get({ owner: 'a', repo: 'b' })).resolves.toMatchObject({ status: 200 });
    expect(seen).toBe(3);
    plan = [502, 503, 504];
    await expect(client(2).rest.repos.get({ owner: 'a', repo: 'b' })).rejects.toMatchObject({ status: 504 });
    expect(seen).toBe(6);
  });

  it('never sends again what doNotRetry lists, nor a request with request.retries 0', async () => {
    plan = [404];
    await expect(client(2).rest.repos.get({ owner: 'a', repo: 'b' })).rejects.toMatchObject({ status: 404 });
    expect(seen).toBe(1);
    plan = [502];
    const dispatch = client(2).rest.actions.createWorkflowDispatch({
      owner: 'a',
      repo: 'b',
      workflow_id: 'deploy.yml',
      ref: 'main',
      request: { retries: 0 },
    });
    await expect(dispatch).rejects.toMatchObject({ status: 502 });
    expect(seen).toBe(2);
    plan = [];
  });
});
