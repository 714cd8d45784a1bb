import { type Bot, GrammyError } from 'grammy';
import type { ProbeResult } from '../deploy/connect-dependencies.ts';

/**
 * Connects the bot to Telegram: one `getMe`, whose answer the bot keeps (grammY's `bot.init()` would
 * retry a network error forever, and the start would hang). A 401 or 404 means the token is wrong or
 * revoked: fatal. Anything else (the network, a timeout, a 5xx) is worth trying again.
 */
export async function connectTelegram(bot: Bot): Promise<ProbeResult> {
  if (bot.isInited()) return { ok: true };
  try {
    bot.botInfo = await bot.api.getMe();
    return { ok: true };
  } catch (error) {
    if (error instanceof GrammyError && (error.error_code === 401 || error.error_code === 404)) {
      return {
        ok: false,
        fatal: true,
        problem: `Telegram refused TELEGRAM_BOT_TOKEN (${error.error_code} ${error.description}); take the token from @BotFather again`,
      };
    }
    return { ok: false, fatal: false, problem: error instanceof Error ? error.message : String(error) };
  }
}
