import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Handler } from 'hono';
import { parseJson } from './parse-json.ts';
import { readLimitedBody } from './read-limited-body.ts';

export type GitHubDelivery = { id: string; name: string; payload: unknown };

export type GitHubWebhookOptions = {
  secret: string;
  maxBodyBytes: number;
  handleDelivery: (delivery: GitHubDelivery) => Promise<void>;
  /**
   * A look at the verified raw body and its `X-GitHub-Event`: false when the delivery provably
   * concerns nothing the handler serves (an event it does not read, a repository it does not serve).
   * A JSON object's body so judged is answered 200 without being parsed or handed over. Without it,
   * every delivery is parsed and handed over.
   */
  mayConcern?: (body: Buffer, event: string) => boolean;
  /** Told every request's outcome (`ok`, `unauthorized`, `bad_request`, `too_large`, `error`). */
  count: (outcome: string) => void;
  onError: (error: unknown) => void;
};

/** What the route answers: a status and its JSON body, serialised once. */
type Answer = { status: 200 | 400 | 401 | 413; body: string };

const answer = (status: Answer['status'], body: object): Answer => ({ status, body: JSON.stringify(body) });
const MISSING_SIGNATURE = answer(401, { error: 'missing signature' });
const BAD_SIGNATURE = answer(401, { error: 'bad signature' });
const TOO_LARGE = answer(413, { error: 'body too large' });
const UNREADABLE = answer(400, { error: 'unreadable body' });
const NOT_JSON = answer(400, { error: 'body is not JSON' });
const MISSING_IDS = answer(400, { error: 'missing X-GitHub-Delivery or X-GitHub-Event' });
const OK = answer(200, { ok: true });

/**
 * The route's rules, whichever transport reads the request: verifies `X-Hub-Signature-256` over the
 * raw bytes (HMAC-SHA256, compared in constant time), then drops a delivery `mayConcern` rules out,
 * then parses, then hands the delivery over.
 */
function webhookRules(options: GitHubWebhookOptions) {
  if (!options.secret) throw new TypeError('githubWebhook: a secret is required');
  const key = Buffer.from(options.secret, 'utf8');
  const { count, mayConcern } = options;
  const refuse = (outcome: string, refusal: Answer): Answer => {
    count(outcome);
    return refusal;
  };
  /** `sha256=<lowercase hex>` of the body, exactly as GitHub sends it; an empty body is never valid. */
  const verify = (body: Buffer, signature: string): boolean => {
    if (body.length === 0) return false;
    const expected = Buffer.from(`sha256=${createHmac('sha256', key).update(body).digest('hex')}`, 'latin1');
    const given = Buffer.from(signature, 'utf8');
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
  return {
    missingSignature: () => refuse('unauthorized', MISSING_SIGNATURE),
    tooLarge: () => refuse('too_large', TOO_LARGE),
    unreadable: () => refuse('bad_request', UNREADABLE),
    /** Everything after the body was read in full (within the limit). */
    async deliver(signature: string, body: Buffer, id: string, name: string): Promise<Answer> {
      if (!verify(body, signature)) return refuse('unauthorized', BAD_SIGNATURE);
      // A delivery that comes to nothing (most of an organisation's are other repositories') is
      // dropped before the parse that would cost more than the rest of the request; its envelope is
      // still checked, so a body that is not JSON (a webhook sending form data, a cut-off body)
      // gets its 400 as before.
      if (mayConcern && isObjectEnvelope(body) && !mayConcern(body, name)) {
        if (!id || !name) return refuse('bad_request', MISSING_IDS);
        count('ok');
        return OK;
      }
      const payload = parseJson(body);
      if (payload === undefined) return refuse('bad_request', NOT_JSON);
      if (!id || !name) return refuse('bad_request', MISSING_IDS);
      try {
        await options.handleDelivery({ id, name, payload });
        count('ok');
      } catch (error) {
        count('error');
        options.onError(error);
      }
      return OK;
    },
  };
}

/**
 * `POST /github/webhook`: verifies `X-Hub-Signature-256` over the raw body, then answers 200 to a
 * delivery `mayConcern` rules out (a JSON object's braces, not parsed), else parses, then hands the
 * delivery over. 401 without a valid signature, 400 for a body that is not JSON or a delivery
 * without its id and event, 413 over the size limit, else 200 (also when the handler failed: it is
 * logged, and reconciliation catches up; GitHub does not retry failed deliveries anyway).
 * The same rules serve both transports: this Hono handler, and {@link githubWebhookListener}.
 * @throws {TypeError} at construction when the secret is empty.
 */
export function githubWebhook(options: GitHubWebhookOptions): Handler {
  const rules = webhookRules(options);
  return async function githubWebhookRoute(c) {
    const signature = c.req.header('x-hub-signature-256');
    const reply = (a: Answer) => c.body(a.body, a.status, { 'content-type': 'application/json' });
    if (!signature) return reply(rules.missingSignature());
    const read = await readLimitedBody(c.req.raw, options.maxBodyBytes);
    if (!read.ok) return reply(read.status === 413 ? rules.tooLarge() : rules.unreadable());
    const id = c.req.header('x-github-delivery') ?? '';
    const name = c.req.header('x-github-event') ?? '';
    return reply(await rules.deliver(signature, read.body, id, name));
  };
}

/**
 * The same route straight on node:http, for the server to put in front of the Hono app: the hot path
 * of an organisation's webhook (most deliveries are refused after a look at the repository), without
 * building a web Request and Response for each. Same checks in the same order, same answers.
 * @throws {TypeError} at construction when the secret is empty.
 */
export function githubWebhookListener(
  options: GitHubWebhookOptions,
): (request: IncomingMessage, response: ServerResponse) => void {
  const rules = webhookRules(options);
  const limit = options.maxBodyBytes;
  return function githubWebhookFastRoute(request, response) {
    const reply = (a: Answer) => {
      if (response.headersSent || response.destroyed) return;
      response
        .writeHead(a.status, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(a.body),
        })
        .end(a.body);
    };
    const signature = header(request, 'x-hub-signature-256');
    if (!signature) return reply(rules.missingSignature());
    // A declared length over the limit is refused before reading anything; the rest is discarded.
    const declared = request.headers['content-length'];
    if (declared !== undefined && Number(declared) > limit) {
      reply(rules.tooLarge());
      request.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    request.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else {
        settled = true;
        chunks.length = 0;
        reply(rules.tooLarge());
      }
    });
    request.on('error', () => {
      if (settled) return;
      settled = true;
      reply(rules.unreadable());
    });
    request.on('end', () => {
      if (settled) return;
      settled = true;
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
      const id = header(request, 'x-github-delivery');
      const name = header(request, 'x-github-event');
      rules.deliver(signature, body, id, name).then(reply, (error: unknown) => {
        options.onError(error);
        if (!response.headersSent) response.writeHead(500).end();
      });
    });
  };
}

/** Whether a body is braced like a JSON object: its first and last bytes other than JSON whitespace are `{` and `}`. */
function isObjectEnvelope(body: Buffer): boolean {
  const space = (c: number | undefined) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
  let first = 0;
  while (space(body[first])) first++;
  let last = body.length - 1;
  while (last > first && space(body[last])) last--;
  return last > first && body[first] === 0x7b && body[last] === 0x7d;
}

/** A request header as one string (repeated headers joined like `Headers.get` joins them), or ''. */
function header(request: IncomingMessage, name: string): string {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}
