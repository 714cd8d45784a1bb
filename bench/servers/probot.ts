/**
 * Probot, run the way `probot run` runs an app (its Server: node:http, its request logger, its
 * webhook middleware from @octokit/webhooks), with an app doing what the bot does with a delivery:
 * listen to workflow runs and jobs, and look at the repository first. Logs go where the bot's go:
 * JSON lines on stdout at the default level, `info` (Probot's own default, pretty-printing, would
 * only make it slower).
 */
import { generateKeyPairSync } from 'node:crypto';
import pino from 'pino';

// Probot's type declarations widen NodeJS.ProcessEnv for every file of a program that imports them,
// so the module is loaded untyped; these are the few members used.
type Context = { payload: { repository: { full_name: string } } };
type ProbotApp = { on: (events: string[], handler: (context: Context) => Promise<void>) => void };
type ProbotModule = {
  Probot: { defaults: (options: Record<string, unknown>) => unknown };
  Server: new (
    options: Record<string, unknown>,
  ) => {
    load: (app: (probot: ProbotApp) => void) => Promise<void>;
    start: () => Promise<{ address: () => unknown }>;
    stop: () => Promise<void>;
  };
};
const name = 'probot';
const { Probot, Server } = (await import(name)) as ProbotModule;

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const repository = process.env.BENCH_REPOSITORY ?? 'acme/shop';
let seen = 0;

const server = new Server({
  Probot: Probot.defaults({
    appId: 1,
    privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    secret: process.env.WEBHOOK_SECRET ?? '',
  }),
  log: pino({ level: process.env.LOG_LEVEL ?? 'info', name: 'probot' }, pino.destination(1)),
  host: '127.0.0.1',
  port: Number(process.env.PORT),
  webhookPath: '/github/webhook',
});
await server.load((probot) => {
  probot.on(['workflow_run', 'workflow_job'], async (context) => {
    if (context.payload.repository.full_name !== repository) return;
    seen++;
  });
});
await server.start();
process.on('SIGTERM', () => {
  process.stderr.write(`probot app saw ${seen} deliveries of the repository\n`);
  void server.stop().then(() => process.exit(0));
});
