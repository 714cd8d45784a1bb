import { randomBytes } from 'node:crypto';
import type { WireAnswer } from './fault-plan.ts';

/**
 * GitHub's OAuth device flow and user tokens, as github.com serves them (`/login/device/code`,
 * `/login/oauth/access_token` with the device-code and refresh-token grants), plus what the fake API
 * needs to know about the tokens it issued: whose they are, whether they expired or were revoked.
 *
 * Answers are GitHub's: 200 with `{ error, error_description, error_uri }` for every refusal when the
 * client asks for JSON (`authorization_pending`, `slow_down`, `expired_token`, `access_denied`,
 * `incorrect_device_code`, `bad_refresh_token`, `incorrect_client_credentials`,
 * `unsupported_grant_type`). Tokens look like GitHub's (`ghu_…`, `ghr_…`) so the logger's shape-based
 * redaction is exercised.
 */

/** Options of the fake's device flow. */
export interface FakeOAuthOptions {
  /** The client id the device flow accepts (a GitHub App's: `Iv…`). */
  clientId: string;
  /** `interval` in the device-code answer, seconds (GitHub: 5; tests use a fraction). */
  intervalSeconds?: number;
  /** Lifetime of a device code, seconds (GitHub: 900). */
  codeLifetimeSeconds?: number;
  /** Lifetime of a user access token, seconds (GitHub: 28800, 8 h). */
  tokenLifetimeSeconds?: number;
  /**
   * GitHub's clock for the tokens (their expiry, the `Date` header the client dates them by); default
   * real time. A test that moves the bot's clock passes the same one, as both clocks agree in life.
   */
  now?: () => number;
}

interface DeviceCodeRecord {
  deviceCode: string;
  userCode: string;
  expiresAt: number;
  interval: number;
  lastPollAt: number | null;
  login: string | null;
  denied: boolean;
  used: boolean;
}

/** A user access token the fake issued. */
export interface UserTokenRecord {
  login: string;
  expiresAt: number;
  revoked: boolean;
}

/** One request to `/login/oauth/access_token` with the refresh grant, for tests to inspect. */
export interface RefreshRequest {
  login: string | null;
  withClientSecret: boolean;
  ok: boolean;
}

const ERROR_URI =
  'https://docs.github.com/developers/apps/authorizing-oauth-apps#error-codes-for-the-device-flow';

const DESCRIPTIONS: Record<string, string> = {
  authorization_pending: 'The authorization request is still pending.',
  slow_down: 'Too many requests have been made in the same timeframe.',
  expired_token: 'The device code has expired.',
  access_denied: 'The authorization request was denied.',
  incorrect_device_code: 'The device_code provided is not valid.',
  bad_refresh_token: 'The refresh token passed is incorrect or expired.',
  incorrect_client_credentials: 'The client_id and/or client_secret passed are incorrect.',
  unsupported_grant_type: 'The grant type is not supported.',
  device_flow_disabled: 'Device Flow must be explicitly enabled for this App',
};

/** The device flow and the user tokens of one fake GitHub. */
export class FakeOAuth {
  readonly refreshRequests: RefreshRequest[] = [];
  private readonly options: Required<FakeOAuthOptions>;
  private readonly codes = new Map<string, DeviceCodeRecord>();
  private readonly tokens = new Map<string, UserTokenRecord>();
  private readonly refreshTokens = new Map<string, { login: string; spent: boolean; revoked: boolean }>();
  private readonly userIds = new Map<string, number>();

  constructor(options: FakeOAuthOptions) {
    this.options = {
      intervalSeconds: 5,
      codeLifetimeSeconds: 900,
      tokenLifetimeSeconds: 28_800,
      now: Date.now,
      ...options,
    };
  }

  /** The user at GitHub's verification page enters `userCode` and authorizes the app as `login`. */
  authorize(userCode: string, login: string): void {
    const code = this.byUserCode(userCode);
    code.login = login;
  }

  /** The user declines at GitHub's verification page. */
  deny(userCode: string): void {
    this.byUserCode(userCode).denied = true;
  }

  /** Every access token of `login` expires now (GitHub then answers 401 to it); refresh tokens stay good. */
  expire(login: string): void {
    for (const token of this.tokens.values())
      if (token.login === login) token.expiresAt = this.options.now() - 1;
  }

  /** The user revokes the app's authorization: every access and refresh token of `login` stops working. */
  revoke(login: string): void {
    for (const token of this.tokens.values()) if (token.login === login) token.revoked = true;
    for (const refresh of this.refreshTokens.values()) if (refresh.login === login) refresh.revoked = true;
  }

  /** Revokes the given credentials (`POST /credentials/revoke`); unknown ones are ignored. */
  revokeCredentials(credentials: readonly string[]): void {
    for (const value of credentials) {
      const token = this.tokens.get(value);
      if (token) token.revoked = true;
      const refresh = this.refreshTokens.get(value);
      if (refresh) refresh.revoked = true;
    }
  }

  /** Whose a usable access token is; null when unknown, expired or revoked. */
  ownerOf(token: string): string | null {
    const record = this.tokens.get(token);
    if (!record || record.revoked || record.expiresAt <= this.options.now()) return null;
    return record.login;
  }

  /** Usable access tokens of `login` (for tests: none after a revocation). */
  liveTokens(login: string): string[] {
    return [...this.tokens.entries()]
      .filter(([token, r]) => r.login === login && this.ownerOf(token) !== null)
      .map(([token]) => token);
  }

  /** Every secret the fake handed out (device codes, access and refresh tokens): none may leak. */
  issuedSecrets(): string[] {
    return [...this.codes.keys(), ...this.tokens.keys(), ...this.refreshTokens.keys()];
  }

  /** A stable numeric id for a login (what `GET /user` answers). */
  userId(login: string): number {
    let id = this.userIds.get(login);
    if (id === undefined) {
      id = 5_000_000 + this.userIds.size * 17 + 1;
      this.userIds.set(login, id);
    }
    return id;
  }

  /** Serves `/login/device/code` and `/login/oauth/access_token`; null for any other path. */
  serve(method: string, path: string, raw: string): WireAnswer | null {
    if (method !== 'POST' || (path !== '/login/device/code' && path !== '/login/oauth/access_token'))
      return null;
    const params = parseBody(raw);
    if (params.client_id !== this.options.clientId) return this.error('incorrect_client_credentials');
    if (path === '/login/device/code') return this.deviceCode();
    if (params.grant_type === 'urn:ietf:params:oauth:grant-type:device_code') return this.exchange(params);
    if (params.grant_type === 'refresh_token') return this.refresh(params);
    return this.error('unsupported_grant_type');
  }

  private byUserCode(userCode: string): DeviceCodeRecord {
    const code = [...this.codes.values()].find((c) => c.userCode === userCode);
    if (!code) throw new Error(`no device code with user code ${userCode}`);
    return code;
  }

  private deviceCode(): WireAnswer {
    const letters = () =>
      Array.from(randomBytes(4), (byte) => 'BCDFGHJKLMNPQRSTVWXZ'.charAt(byte % 20)).join('');
    const record: DeviceCodeRecord = {
      deviceCode: randomBytes(20).toString('hex'),
      userCode: `${letters()}-${letters()}`,
      expiresAt: Date.now() + this.options.codeLifetimeSeconds * 1000,
      interval: this.options.intervalSeconds,
      lastPollAt: null,
      login: null,
      denied: false,
      used: false,
    };
    this.codes.set(record.deviceCode, record);
    return json(this.options.now(), {
      device_code: record.deviceCode,
      user_code: record.userCode,
      verification_uri: 'https://github.com/login/device',
      expires_in: this.options.codeLifetimeSeconds,
      interval: record.interval,
    });
  }

  private exchange(params: Record<string, string>): WireAnswer {
    const code = this.codes.get(params.device_code ?? '');
    if (!code || code.used) return this.error('incorrect_device_code');
    const now = Date.now();
    if (code.expiresAt <= now) return this.error('expired_token');
    // Polling faster than the interval (with some slack for timers and the network) slows the client down.
    const tooSoon = code.lastPollAt !== null && now - code.lastPollAt < code.interval * 1000 * 0.8;
    code.lastPollAt = now;
    if (tooSoon) {
      code.interval += 5;
      return this.error('slow_down', { interval: code.interval });
    }
    if (code.denied) return this.error('access_denied');
    if (!code.login) return this.error('authorization_pending');
    code.used = true;
    return this.issue(code.login);
  }

  private refresh(params: Record<string, string>): WireAnswer {
    const record = this.refreshTokens.get(params.refresh_token ?? '');
    const ok = record !== undefined && !record.spent && !record.revoked;
    this.refreshRequests.push({
      login: record?.login ?? null,
      withClientSecret: 'client_secret' in params,
      ok,
    });
    if (!record || !ok) return this.error('bad_refresh_token');
    record.spent = true;
    return this.issue(record.login);
  }

  private issue(login: string): WireAnswer {
    const token = `ghu_${randomBytes(27).toString('base64url').replace(/[-_]/g, 'x')}`;
    const refresh = `ghr_${randomBytes(57).toString('base64url').replace(/[-_]/g, 'x')}`;
    this.tokens.set(token, {
      login,
      expiresAt: this.options.now() + this.options.tokenLifetimeSeconds * 1000,
      revoked: false,
    });
    this.refreshTokens.set(refresh, { login, spent: false, revoked: false });
    return json(this.options.now(), {
      access_token: token,
      expires_in: this.options.tokenLifetimeSeconds,
      refresh_token: refresh,
      refresh_token_expires_in: 15_811_200,
      token_type: 'bearer',
      scope: '',
    });
  }

  private error(code: string, extra: Record<string, unknown> = {}): WireAnswer {
    return json(this.options.now(), {
      error: code,
      error_description: DESCRIPTIONS[code] ?? code,
      error_uri: ERROR_URI,
      ...extra,
    });
  }
}

/** GitHub accepts the OAuth parameters as JSON or form-encoded. */
function parseBody(raw: string): Record<string, string> {
  try {
    const parsed = JSON.parse(raw) as unknown;
    if (parsed && typeof parsed === 'object') {
      return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
    }
  } catch {}
  return Object.fromEntries(new URLSearchParams(raw));
}

function json(now: number, body: unknown): WireAnswer {
  return {
    status: 200,
    headers: { 'content-type': 'application/json; charset=utf-8', date: new Date(now).toUTCString() },
    text: JSON.stringify(body),
  };
}
