import { timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';

/**
 * Refuses a request whose header does not carry the shared secret, before anything else is done with
 * it (the body is not read, nothing is called). Compares in constant time.
 * @throws {TypeError} at construction when the secret is empty: a misconfiguration, not a request error.
 */
export function requireSecretHeader(
  header: string,
  secret: string,
  onRefused?: () => void,
): MiddlewareHandler {
  if (!secret) throw new TypeError(`requireSecretHeader: a secret for ${header} is required`);
  const expected = Buffer.from(secret);
  return async function secretHeader(c, next) {
    const given = Buffer.from(c.req.header(header) ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      onRefused?.();
      return c.json({ ok: false, error: 'unauthorized' }, 401);
    }
    await next();
  };
}
