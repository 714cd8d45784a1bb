import type { DeployDeps } from '../deploy/deploy-deps.ts';
import type { Outbox } from './outbox.ts';

/** What the Telegram layer needs besides the use cases' own dependencies. */
export type BotDeps = {
  deploy: DeployDeps;
  outbox: Outbox;
  callbackKey: Buffer;
};
