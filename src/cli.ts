#!/usr/bin/env node
import { loadConfigFromEnvironment } from './config.ts';

const USAGE = `Usage: deploybot <command>

  serve                 run the bot (HTTP server; Telegram webhook or long polling)
  setup                 register the Telegram webhook and command menu, and the GitHub webhook
  doctor                check the configuration and that Telegram, GitHub and the store answer
  audit verify [file]   check the audit trail's hash chain (default: AUDIT_LOG_PATH, or the database on PostgreSQL)
  audit export [file]   write the database's audit chain as JSON Lines (PostgreSQL)
`;

/** Exit codes: 0 ok, 1 a check failed, 2 bad configuration or usage. */
async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serveCommand();
    case 'setup':
    case 'doctor': {
      const config = await configOrExit();
      if (!config) return 2;
      const { runDoctor, runSetup } = await import('./operations/setup.ts');
      return command === 'setup' ? runSetup(config) : runDoctor(config);
    }
    case 'audit':
      return auditCommand(rest);
    case 'demo':
      // The demo plays against the test simulators, which are not shipped (see docs/architecture.md).
      process.stderr.write(
        'deploybot: the demo runs from a clone of the repository, with its dev dependencies: npm ci && npm run demo\n',
      );
      return 2;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`deploybot: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

async function configOrExit() {
  const result = await loadConfigFromEnvironment(process.env);
  if (result.ok) return result.config;
  process.stderr.write('deploybot: the configuration has problems:\n');
  for (const problem of result.problems) process.stderr.write(`  ${problem}\n`);
  return null;
}

async function serveCommand(): Promise<number> {
  const config = await configOrExit();
  if (!config) return 2;
  const { startService } = await import('./main.ts');
  let service: Awaited<ReturnType<typeof startService>>;
  try {
    service = await startService(config);
  } catch (error) {
    const { redactSecrets } = await import('./logger.ts');
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`deploybot: could not start: ${redactSecrets(message, config.secrets)}\n`);
    return refusedCredentials(error) ? 2 : 1;
  }
  // Until a signal, or until Telegram or GitHub refuses the credentials (they were down at start).
  const refused = await new Promise<Error | null>((resolve) => {
    process.once('SIGINT', () => resolve(null));
    process.once('SIGTERM', () => resolve(null));
    void service.refused.then(resolve);
  });
  // SIGTERM must end the process within 10 s (docker stop, Kubernetes): close() aims for 8 s, and
  // anything it waits on past that is given up.
  const deadline = setTimeout(() => {
    process.stderr.write('deploybot: shutdown took over 10 s; exiting anyway\n');
    process.exit(1);
  }, 10_000);
  deadline.unref();
  await service.close();
  clearTimeout(deadline);
  if (!refused) return 0;
  const { redactSecrets } = await import('./logger.ts');
  process.stderr.write(`deploybot: stopped: ${redactSecrets(refused.message, config.secrets)}\n`);
  return 2;
}

/** Telegram or GitHub refused the bot's credentials (main.ts's DependencyRefused): a configuration problem. */
function refusedCredentials(error: unknown): boolean {
  return error instanceof Error && 'exitCode' in error && error.exitCode === 2;
}

async function auditCommand(args: string[]): Promise<number> {
  const [verb, file] = args;
  if ((verb !== 'verify' && verb !== 'export') || args.length > 2) {
    process.stderr.write('Usage: deploybot audit verify [file] | deploybot audit export [file]\n');
    return 2;
  }
  const { runAuditExport, runAuditVerify } = await import('./operations/audit-command.ts');
  const io = {
    out: (text: string) => process.stdout.write(text),
    err: (text: string) => process.stderr.write(text),
  };
  return verb === 'verify' ? runAuditVerify(process.env, file, io) : runAuditExport(process.env, file, io);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`deploybot: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
