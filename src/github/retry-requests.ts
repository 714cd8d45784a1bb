import type { throttling } from '@octokit/plugin-throttling';

/** The Octokit a plugin is given (@octokit/core's, named through a plugin the bot depends on). */
type Octokit = Parameters<typeof throttling>[0];

/** The `retry` options of {@link retryRequests}, as @octokit/plugin-retry names them. */
export type RetryRequestsOptions = {
  retry?: { retries?: number; doNotRetry?: number[]; retryAfterBaseValue?: number };
};

/**
 * An Octokit plugin that does what @octokit/plugin-retry does for the bot, without the Bottleneck
 * limiter that plugin makes for every request (its `setTimeout(0)` steps cost about 5 ms a request,
 * more than sending it to a nearby server: README, "Benchmarks"). A request that fails with a
 * `RequestError` of status 400 or above, not in `doNotRetry` (network errors reach here as 500), is
 * sent again after (n + 1)² seconds, at most `retries` times, or `request.retries` of that request
 * (0 for the requests that must not be repeated blindly: `mayRetryBlindly`).
 */
export function retryRequests(octokit: Octokit, options: RetryRequestsOptions): Record<string, never> {
  const retries = options.retry?.retries ?? 3;
  const doNotRetry = options.retry?.doNotRetry ?? [400, 401, 403, 404, 410, 422, 451];
  const baseMs = options.retry?.retryAfterBaseValue ?? 1000;
  octokit.hook.wrap('request', async (request, requestOptions) => {
    for (let retryCount = 0; ; retryCount++) {
      try {
        return await request(requestOptions);
      } catch (error) {
        const status = retryableStatus(error);
        const own = requestOptions.request as { retries?: number } | undefined;
        const allowed = own?.retries ?? retries;
        if (status === null || doNotRetry.includes(status) || retryCount >= allowed) throw error;
        requestOptions.request = {
          ...requestOptions.request,
          retryCount: retryCount + 1,
        } as typeof requestOptions.request;
        await new Promise((resolve) => setTimeout(resolve, (retryCount + 1) ** 2 * baseMs));
      }
    }
  });
  return {};
}

/** The status of an error Octokit's request made (it carries the request's options), or null. */
function retryableStatus(error: unknown): number | null {
  if (typeof error !== 'object' || error === null) return null;
  const { status, request } = error as { status?: unknown; request?: { request?: unknown } };
  if (!request?.request || typeof status !== 'number' || status < 400) return null;
  return status;
}
