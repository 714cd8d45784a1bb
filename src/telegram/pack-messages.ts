/**
 * Telegram refuses a message over 4096 characters of visible text. The HTML source is never shorter
 * than its visible text, so packing by source length with some room keeps every message accepted.
 */
export const MESSAGE_SOURCE_LIMIT = 4000;

/**
 * Packs HTML blocks (each a run of whole lines, no tag spanning two lines) into as few messages as
 * fit, in order, separated by a blank line; a block too long for one message is split between its
 * lines. Promises: every message is at most `limit` characters unless a single line is longer (it is
 * sent alone, whole, rather than cut inside a tag or an entity). Never returns an empty message.
 */
export function packMessages(blocks: readonly string[], limit = MESSAGE_SOURCE_LIMIT): string[] {
  const messages: string[] = [];
  let current = '';
  const add = (piece: string, separator: string) => {
    if (current === '') current = piece;
    else if (current.length + separator.length + piece.length <= limit) current += separator + piece;
    else {
      messages.push(current);
      current = piece;
    }
  };
  for (const block of blocks) {
    if (block === '') continue;
    if (block.length <= limit) {
      add(block, '\n\n');
      continue;
    }
    // Too long for one message: start it on a message of its own and split it between lines.
    if (current !== '') messages.push(current);
    current = '';
    for (const line of block.split('\n')) add(line, '\n');
  }
  if (current !== '') messages.push(current);
  return messages;
}
