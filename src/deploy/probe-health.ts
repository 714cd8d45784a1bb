/** One probe of a health URL: up means a 2xx answer within the time limit. */
export type HealthProbe = {
  up: boolean;
  /** Time to the answer, or to giving up. */
  latencyMs: number;
  /** The HTTP status, or why there was none ("timeout", "refused", …). */
  detail: string;
};

/** Time limit of one probe: /status answers in about two seconds even when a health URL hangs. */
export const HEALTH_TIMEOUT_MS = 1500;

/**
 * GETs a health URL once, without following redirects off-site and without reading more than the
 * status line matters. Never throws: a hang, a refusal or a 5xx are all "down" with a reason.
 */
export async function probeHealth(url: string, timeoutMs = HEALTH_TIMEOUT_MS): Promise<HealthProbe> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const response = await fetch(url, {
      method: 'GET',
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
      headers: { 'user-agent': 'telegram-deploy-bot/status' },
    });
    // The body is not needed; drop it so the connection is freed.
    await response.body?.cancel().catch(() => {});
    return {
      up: response.status >= 200 && response.status < 300,
      latencyMs: elapsed(),
      detail: `HTTP ${response.status}`,
    };
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : null;
    const code = cause && 'code' in cause && typeof cause.code === 'string' ? cause.code : null;
    const detail =
      name === 'TimeoutError' || name === 'AbortError'
        ? `no answer in ${(timeoutMs / 1000).toFixed(1)} s`
        : code === 'ECONNREFUSED'
          ? 'connection refused'
          : code === 'ENOTFOUND'
            ? 'host not found'
            : (code ?? 'unreachable');
    return { up: false, latencyMs: elapsed(), detail };
  }
}
