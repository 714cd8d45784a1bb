import { httpUrlProblem } from './config-file.ts';
import { ENCRYPTION_KEY_BYTES, parseEncryptionKey } from './core/sealed-secret.ts';

/**
 * Linking GitHub accounts (`/link`) and approving from Telegram: `GITHUB_OAUTH_CLIENT_ID` turns it
 * on, `DEPLOYBOT_ENCRYPTION_KEY` encrypts the stored user tokens, `GITHUB_WEB_URL` is where the
 * device flow lives.
 */
export type AccountsConfig = {
  /** Client id of the GitHub App (or OAuth App) whose device flow `/link` runs. Public, not a secret. */
  clientId: string;
  /** `https://github.com`, a GitHub Enterprise Server's web URL, or a fake in tests; no trailing slash. */
  webUrl: string;
  /** The 32-byte key, as 64 lowercase hex characters whatever form it was given in. */
  encryptionKey: string;
};

const CLIENT_ID = /^[A-Za-z0-9._-]{1,100}$/;
const PUBLIC_API = 'https://api.github.com';

/**
 * The accounts settings from the environment, or null when `GITHUB_OAUTH_CLIENT_ID` and
 * `DEPLOYBOT_ENCRYPTION_KEY` are both unset. Problems are pushed as `VARIABLE: what is wrong` and
 * never contain the key; `secrets` gets the key in every form it may be logged in.
 */
export function readAccountsConfig(
  read: (name: string) => string | undefined,
  apiUrl: string,
  problems: string[],
  secrets: string[],
): AccountsConfig | null {
  const clientId = read('GITHUB_OAUTH_CLIENT_ID');
  const keyText = read('DEPLOYBOT_ENCRYPTION_KEY');
  const webText = read('GITHUB_WEB_URL');
  const before = problems.length;
  if (keyText !== undefined) secrets.push(keyText);
  const key = keyText === undefined ? null : parseEncryptionKey(keyText);
  if (keyText !== undefined && key === null) {
    problems.push(
      `DEPLOYBOT_ENCRYPTION_KEY: must be ${ENCRYPTION_KEY_BYTES} bytes, as 64 hex characters or base64 (got ${keyText.length} characters; openssl rand -base64 32 makes one)`,
    );
  }
  if (webText !== undefined) {
    const problem = httpUrlProblem(webText);
    if (problem) problems.push(`GITHUB_WEB_URL: ${problem}`);
  }
  if (clientId === undefined) {
    if (keyText !== undefined) {
      problems.push(
        'DEPLOYBOT_ENCRYPTION_KEY: set, but GITHUB_OAUTH_CLIENT_ID is not (set both to let reviewers /link their GitHub accounts, or neither)',
      );
    }
    return null;
  }
  if (!CLIENT_ID.test(clientId)) {
    problems.push('GITHUB_OAUTH_CLIENT_ID: not a client id (the GitHub App’s "Client ID", e.g. Iv23li…)');
  }
  if (keyText === undefined) {
    problems.push(
      'DEPLOYBOT_ENCRYPTION_KEY: required with GITHUB_OAUTH_CLIENT_ID (it encrypts the linked GitHub tokens; openssl rand -base64 32 makes one)',
    );
  }
  if (webText === undefined && apiUrl !== PUBLIC_API) {
    problems.push(
      'GITHUB_WEB_URL: required with GITHUB_OAUTH_CLIENT_ID when GITHUB_API_URL is not api.github.com (the device flow lives on the web host, e.g. https://github.example.com)',
    );
  }
  if (problems.length > before || key === null) return null;
  const encryptionKey = key.toString('hex');
  secrets.push(encryptionKey, key.toString('base64'), key.toString('base64url'));
  return { clientId, webUrl: (webText ?? 'https://github.com').replace(/\/+$/, ''), encryptionKey };
}
