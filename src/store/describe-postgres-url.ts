import { StoreError } from './store.ts';

/** A PostgreSQL server as error messages may name it. */
export type PostgresTarget = {
  /** `postgres://user@host:port/db`, without the password. */
  text: string;
  /** `message` with every occurrence of the password (raw or URL-decoded) replaced by `***`. */
  redact(message: string): string;
};

/**
 * `postgres://user@host:port/db`, without the password, and a function that removes the password
 * from any text (driver messages should not contain it, but this store promises it).
 * @throws {StoreError} code `unavailable` when `url` is not a URL (without echoing it).
 */
export function describePostgresUrl(url: string): PostgresTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StoreError('unavailable', 'the PostgreSQL URL is not a valid URL');
  }
  const secrets = [parsed.password, safeDecode(parsed.password)].filter((s) => s.length > 0);
  const user = parsed.username === '' ? '' : `${parsed.username}@`;
  const text = `${parsed.protocol}//${user}${parsed.host}${parsed.pathname}`;
  return {
    text,
    redact: (message) => secrets.reduce((m, secret) => m.replaceAll(secret, '***'), message),
  };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
