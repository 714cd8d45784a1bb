import type { Context } from 'grammy';

/** The words after a command (`/lock production 2h freeze` → production, 2h, freeze). */
export function commandWords(ctx: Context): string[] {
  return (typeof ctx.match === 'string' ? ctx.match : '').trim().split(/\s+/).filter(Boolean);
}
