import { createDeviceCode, exchangeDeviceCode, refreshToken } from '@octokit/oauth-methods';
import { RequestError } from '@octokit/request-error';
import { Octokit } from '@octokit/rest';

/**
 * GitHub's OAuth device flow, through `@octokit/oauth-methods`: the bot asks for a code, the user
 * enters it at GitHub's verification page, the bot polls until GitHub hands over a user access token
 * (and, for a GitHub App with expiring tokens, a refresh token). No client secret is involved.
 * Everything here talks to the web host (`GITHUB_WEB_URL`: `/login/device/code`,
 * `/login/oauth/access_token`), not to the API.
 */

/** Where the device flow lives and for which app. */
export type DeviceFlowSettings = {
  webUrl: string;
  clientId: string;
  /** Per-request time limit (ms); default 10 s. */
  timeoutMs?: number;
};

/** What the user is shown: the code to enter and where. `deviceCode` stays with the bot. */
export type DeviceCode = {
  deviceCode: string;
  userCode: string;
  verificationUri: string;
  expiresInSeconds: number;
  intervalSeconds: number;
};

/** A user's tokens; times in ms. Never logged, never shown. */
export type UserTokens = {
  token: string;
  expiresAt: number | null;
  refreshToken: string | null;
  refreshExpiresAt: number | null;
};

/** One poll of the device flow. */
export type DevicePoll =
  | { kind: 'pending' }
  /** GitHub asks to poll less often: wait this many seconds from now on. */
  | { kind: 'slow_down'; intervalSeconds: number }
  | { kind: 'authorized'; tokens: UserTokens }
  | { kind: 'expired' }
  | { kind: 'denied' }
  /** Anything else (device flow disabled for the app, an unknown client id, no answer): GitHub's words. */
  | { kind: 'failed'; message: string };

/** A refresh: new tokens, or why not (`rejected`: the refresh token is expired, used or revoked). */
export type RefreshResult =
  | { ok: true; tokens: UserTokens }
  | { ok: false; reason: 'rejected' | 'unavailable'; message: string };

/**
 * A GitHub App's client id starts with `Iv` (`Iv1.…`, `Iv23li…`); anything else is an OAuth App,
 * whose token needs the `repo` scope to review deployments (a GitHub App's user token has the app's
 * permissions instead of scopes).
 */
export function clientTypeOf(clientId: string): 'github-app' | 'oauth-app' {
  return /^Iv/.test(clientId) ? 'github-app' : 'oauth-app';
}

function webRequest(settings: DeviceFlowSettings) {
  const timeoutMs = settings.timeoutMs ?? 10_000;
  return new Octokit({
    baseUrl: settings.webUrl,
    userAgent: 'telegram-deploy-bot',
    log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    request: {
      fetch: (url: string | URL | Request, init?: RequestInit) =>
        fetch(url, { ...init, signal: init?.signal ?? AbortSignal.timeout(timeoutMs) }),
    },
  }).request;
}

function timeOf(iso: string | undefined): number | null {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : null;
}

/** GitHub's `error` code in a device-flow answer (`authorization_pending`, …), if it gave one. */
function oauthErrorOf(error: unknown): { code: string; description: string } | null {
  if (!(error instanceof RequestError)) return null;
  const data = error.response?.data as { error?: unknown; error_description?: unknown } | undefined;
  if (typeof data?.error !== 'string') return null;
  const description = typeof data.error_description === 'string' ? data.error_description : data.error;
  return { code: data.error, description };
}

function failureText(error: unknown): string {
  const oauth = oauthErrorOf(error);
  if (oauth) return `${oauth.description} (${oauth.code})`;
  if (error instanceof RequestError) return `GitHub answered ${error.status}`;
  return 'GitHub did not answer';
}

/**
 * Step 1: a device code for this app.
 * @throws {Error} with GitHub's reason when it refuses (device flow not enabled, unknown client id)
 *   or does not answer; the message never contains a code.
 */
export async function requestDeviceCode(settings: DeviceFlowSettings): Promise<DeviceCode> {
  const clientType = clientTypeOf(settings.clientId);
  try {
    const { data } = await createDeviceCode({
      clientId: settings.clientId,
      request: webRequest(settings),
      ...(clientType === 'oauth-app' ? { clientType, scopes: ['repo'] } : { clientType }),
    });
    return {
      deviceCode: data.device_code,
      userCode: data.user_code,
      verificationUri: data.verification_uri,
      expiresInSeconds: data.expires_in,
      intervalSeconds: data.interval,
    };
  } catch (error) {
    throw new Error(`GitHub refused to start the device flow: ${failureText(error)}`);
  }
}

/** Step 2, once per interval: has the user entered the code yet? Never throws. */
export async function pollDeviceCode(settings: DeviceFlowSettings, deviceCode: string): Promise<DevicePoll> {
  const clientType = clientTypeOf(settings.clientId);
  try {
    const { authentication } = await exchangeDeviceCode({
      clientType: clientType as 'github-app',
      clientId: settings.clientId,
      code: deviceCode,
      request: webRequest(settings),
    });
    const withRefresh = authentication as {
      refreshToken?: string;
      expiresAt?: string;
      refreshTokenExpiresAt?: string;
    };
    return {
      kind: 'authorized',
      tokens: {
        token: authentication.token,
        expiresAt: timeOf(withRefresh.expiresAt),
        refreshToken: withRefresh.refreshToken ?? null,
        refreshExpiresAt: timeOf(withRefresh.refreshTokenExpiresAt),
      },
    };
  } catch (error) {
    const oauth = oauthErrorOf(error);
    if (oauth?.code === 'authorization_pending') return { kind: 'pending' };
    if (oauth?.code === 'slow_down') {
      const interval = (error as RequestError).response?.data as { interval?: unknown } | undefined;
      return {
        kind: 'slow_down',
        intervalSeconds: typeof interval?.interval === 'number' ? interval.interval : 0,
      };
    }
    if (oauth?.code === 'expired_token') return { kind: 'expired' };
    if (oauth?.code === 'access_denied') return { kind: 'denied' };
    return { kind: 'failed', message: failureText(error) };
  }
}

/**
 * New tokens for a GitHub App user token about to expire (or expired), from its refresh token.
 * GitHub rotates the refresh token: the old one is spent. Never throws.
 */
export async function refreshUserToken(
  settings: DeviceFlowSettings,
  refresh: string,
): Promise<RefreshResult> {
  try {
    const { authentication } = await refreshToken({
      clientType: 'github-app',
      clientId: settings.clientId,
      // The device flow has no client secret; the library forwards this field as is, and JSON leaves
      // an undefined value out of the request.
      clientSecret: undefined as unknown as string,
      refreshToken: refresh,
      request: webRequest(settings),
    });
    return {
      ok: true,
      tokens: {
        token: authentication.token,
        expiresAt: timeOf(authentication.expiresAt),
        refreshToken: authentication.refreshToken,
        refreshExpiresAt: timeOf(authentication.refreshTokenExpiresAt),
      },
    };
  } catch (error) {
    const oauth = oauthErrorOf(error);
    return oauth
      ? { ok: false, reason: 'rejected', message: failureText(error) }
      : { ok: false, reason: 'unavailable', message: failureText(error) };
  }
}
