import type { MessageEntity } from 'grammy/types';

/** What the parser made of a message: the text a person sees and the formatted spans in it. */
export type ParsedText = { text: string; entities: MessageEntity[] };

/** `reason` is what follows "can't parse entities: " in the Bot API's error description. */
export type HtmlParseResult = ({ ok: true } & ParsedText) | { ok: false; reason: string };

export type HtmlParseOptions = {
  /**
   * The real server takes a `&` that starts no entity literally, although the documentation says every
   * `&` must be escaped. Strict mode (the default) rejects it, because a bot that forgets to escape `&`
   * also forgets `&lt;`, and shows users `&apos;` where it meant `'`. This one reason is the fake's own.
   */
  strictAmpersand?: boolean;
};

const SUPPORTED_TAGS = new Set([
  'a',
  'b',
  'strong',
  'i',
  'em',
  's',
  'strike',
  'del',
  'u',
  'ins',
  'tg-spoiler',
  'tg-emoji',
  'span',
  'pre',
  'code',
  'blockquote',
]);

type OpenTag = { name: string; argument: string; expandable: boolean; offset: number; textStart: number };

// TDLib reads a NUL-terminated buffer: past the end it sees '\0', which counts as a space.
const isSpace = (c: string): boolean =>
  c === ' ' || c === '\t' || c === '\r' || c === '\n' || c === '\0' || c === '\v';
const isAlnum = (c: string): boolean => /^[A-Za-z0-9]$/.test(c);

/**
 * Parses `parse_mode: 'HTML'` text the way Telegram's server (TDLib's `parse_html`) does: the tags and
 * entities it supports, its error reasons verbatim ("Unsupported start tag \"br\" at byte offset 5",
 * "Can't find end tag corresponding to start tag \"b\"", "Unexpected end tag at byte offset 9", …), byte
 * offsets counted in UTF-8 and entity offsets in UTF-16 code units. Never throws.
 */
export function parseTelegramHtml(html: string, options: HtmlParseOptions = {}): HtmlParseResult {
  const strictAmpersand = options.strictAmpersand ?? true;
  const at = (i: number): string => html[i] ?? '\0';
  const byteOffset = (i: number): number => Buffer.byteLength(html.slice(0, i), 'utf8');
  const fail = (reason: string): HtmlParseResult => ({ ok: false, reason });
  const open: OpenTag[] = [];
  const entities: MessageEntity[] = [];
  let text = '';
  let i = 0;
  while (i < html.length) {
    const c = at(i);
    if (c === '&') {
      const decoded = decodeHtmlEntity(html, i);
      if (decoded) {
        text += decoded.char;
        i = decoded.next;
        continue;
      }
      if (strictAmpersand) return fail(`Unescaped "&" at byte offset ${byteOffset(i)}`);
    }
    if (c !== '<') {
      text += c;
      i++;
      continue;
    }
    const begin = i++;
    if (at(i) !== '/') {
      while (!isSpace(at(i)) && at(i) !== '>') i++;
      if (i >= html.length) return fail(`Unclosed start tag at byte offset ${byteOffset(begin)}`);
      const name = html.slice(begin + 1, i).toLowerCase();
      if (!SUPPORTED_TAGS.has(name)) {
        return fail(`Unsupported start tag "${name}" at byte offset ${byteOffset(begin)}`);
      }
      let argument = '';
      let expandable = false;
      while (at(i) !== '>') {
        while (i < html.length && isSpace(at(i))) i++;
        if (at(i) === '>') break;
        const attrBegin = i;
        while (!isSpace(at(i)) && at(i) !== '=' && at(i) !== '>') i++;
        const attr = html.slice(attrBegin, i);
        if (attr === '') {
          return fail(`Empty attribute name in the tag "${name}" at byte offset ${byteOffset(begin)}`);
        }
        while (i < html.length && isSpace(at(i))) i++;
        if (at(i) !== '=') {
          if (name === 'blockquote' && attr === 'expandable') {
            expandable = true;
            continue;
          }
          return fail(
            `Expected equal sign in declaration of an attribute of the tag "${name}" at byte offset ${byteOffset(begin)}`,
          );
        }
        i++;
        while (i < html.length && isSpace(at(i))) i++;
        if (i >= html.length) return fail(`Unclosed start tag "${name}" at byte offset ${byteOffset(begin)}`);
        let value = '';
        if (at(i) !== "'" && at(i) !== '"') {
          const tokenBegin = i;
          while (isAlnum(at(i)) || at(i) === '.' || at(i) === '-') i++;
          value = html.slice(tokenBegin, i).toLowerCase();
          if (!isSpace(at(i)) && at(i) !== '>') {
            return fail(`Unexpected end of name token at byte offset ${byteOffset(tokenBegin)}`);
          }
        } else {
          const quote = at(i++);
          while (i < html.length && at(i) !== quote) {
            const decoded = at(i) === '&' ? decodeHtmlEntity(html, i) : undefined;
            if (decoded) {
              value += decoded.char;
              i = decoded.next;
            } else {
              value += at(i++);
            }
          }
          if (at(i) === quote) i++;
        }
        if (i >= html.length) return fail(`Unclosed start tag at byte offset ${byteOffset(begin)}`);
        if (name === 'a' && attr === 'href') argument = value;
        else if (name === 'code' && attr === 'class' && value.startsWith('language-'))
          argument = value.slice(9);
        else if (name === 'span' && attr === 'class' && value.startsWith('tg-')) argument = value.slice(3);
        else if (name === 'tg-emoji' && attr === 'emoji-id') argument = value;
        else if (name === 'blockquote' && attr === 'expandable') expandable = true;
      }
      if (name === 'span' && argument !== 'spoiler') {
        return fail(`Tag "span" must have class "tg-spoiler" at byte offset ${byteOffset(begin)}`);
      }
      open.push({ name, argument, expandable, offset: text.length, textStart: text.length });
      i++;
      continue;
    }
    const top = open.pop();
    if (!top) return fail(`Unexpected end tag at byte offset ${byteOffset(begin)}`);
    while (!isSpace(at(i)) && at(i) !== '>') i++;
    const endName = html.slice(begin + 2, i);
    while (i < html.length && isSpace(at(i))) i++;
    if (at(i) !== '>') return fail(`Unclosed end tag at byte offset ${byteOffset(begin)}`);
    i++;
    if (endName !== '' && endName !== top.name) {
      return fail(
        `Unmatched end tag at byte offset ${byteOffset(begin)}, expected "</${top.name}>", found "</${endName}>"`,
      );
    }
    const entity = entityFor(top, text, open[open.length - 1], entities);
    if (entity) entities.push(entity);
  }
  const unclosed = open[open.length - 1];
  if (unclosed) return fail(`Can't find end tag corresponding to start tag "${unclosed.name}"`);
  entities.sort((x, y) => x.offset - y.offset || y.length - x.length);
  return { ok: true, text, entities };
}

function entityFor(
  tag: OpenTag,
  text: string,
  parent: OpenTag | undefined,
  done: MessageEntity[],
): MessageEntity | undefined {
  const offset = tag.offset;
  const length = text.length - offset;
  if (length <= 0) return undefined;
  switch (tag.name) {
    case 'b':
    case 'strong':
      return { type: 'bold', offset, length };
    case 'i':
    case 'em':
      return { type: 'italic', offset, length };
    case 'u':
    case 'ins':
      return { type: 'underline', offset, length };
    case 's':
    case 'strike':
    case 'del':
      return { type: 'strikethrough', offset, length };
    case 'tg-spoiler':
    case 'span':
      return { type: 'spoiler', offset, length };
    case 'tg-emoji':
      return /^[0-9]+$/.test(tag.argument)
        ? { type: 'custom_emoji', offset, length, custom_emoji_id: tag.argument }
        : undefined;
    case 'blockquote':
      return { type: tag.expandable ? 'expandable_blockquote' : 'blockquote', offset, length };
    case 'code':
      // `<pre><code class="language-x">` is one pre entity with a language, as in TDLib.
      if (parent?.name === 'pre' && parent.offset === offset) {
        if (tag.argument !== '') return { type: 'pre', offset, length, language: tag.argument };
        return undefined;
      }
      return { type: 'code', offset, length };
    case 'pre': {
      const inner = done[done.length - 1];
      if (inner?.type === 'pre' && inner.offset === offset && inner.length === length) return undefined;
      return { type: 'pre', offset, length };
    }
    case 'a':
      return linkEntity(tag.argument === '' ? text.slice(tag.textStart) : tag.argument, offset, length);
    default:
      return undefined;
  }
}

// An invalid link loses its entity but not its text, as on the real server.
function linkEntity(href: string, offset: number, length: number): MessageEntity | undefined {
  const mention = /^tg:\/\/user\?id=([0-9]{1,15})$/i.exec(href);
  if (mention) {
    return {
      type: 'text_mention',
      offset,
      length,
      user: { id: Number(mention[1]), is_bot: false, first_name: '' },
    };
  }
  const withScheme = /^[a-z][a-z0-9+.-]*:/i.test(href) ? href : `http://${href}`;
  if (!URL.canParse(withScheme)) return undefined;
  const url = new URL(withScheme);
  const web = url.protocol === 'http:' || url.protocol === 'https:';
  if (web ? url.hostname === '' : url.protocol !== 'tg:' && url.protocol !== 'ton:') return undefined;
  return { type: 'text_link', offset, length, url: withScheme };
}

/**
 * TDLib's `decode_html_entity`: `&lt; &gt; &amp; &quot;` (the `;` is optional) and numeric references;
 * anything else is not an entity (undefined).
 */
export function decodeHtmlEntity(html: string, pos: number): { char: string; next: number } | undefined {
  let end = pos + 1;
  let code = 0;
  if (html[end] === '#') {
    end++;
    const hex = html[end] === 'x';
    if (hex) end++;
    const digits = hex ? /[0-9a-fA-F]/ : /[0-9]/;
    while (end < html.length && digits.test(html[end] ?? '')) {
      code = code * (hex ? 16 : 10) + Number.parseInt(html[end] ?? '0', 16);
      end++;
      if (code >= 0x10ffff) return undefined;
    }
    if (code === 0 || end - pos >= 10) return undefined;
  } else {
    while (end < html.length && /[A-Za-z]/.test(html[end] ?? '')) end++;
    const named: Record<string, number> = { lt: 60, gt: 62, amp: 38, quot: 34 };
    const found = named[html.slice(pos + 1, end)];
    if (found === undefined) return undefined;
    code = found;
  }
  return { char: String.fromCodePoint(code), next: html[end] === ';' ? end + 1 : end };
}

/** Escapes text for `parse_mode: 'HTML'` (what a bot must do with every value it interpolates). */
export function escapeTelegramHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

/** Telegram's limit on a message text, counted after entity parsing, in UTF-16 code units. */
export const MAX_MESSAGE_LENGTH = 4096;

export type MessageTextResult = ({ ok: true } & ParsedText) | { ok: false; description: string };

/**
 * Applies the Bot API's rules for a message text (sendMessage, editMessageText) and returns either the
 * visible text with its entities or the 400 description verbatim: "message text is empty", "can't parse
 * entities: …", "message is too long" (over 4096 UTF-16 code units after parsing). Leading and trailing
 * whitespace is trimmed as the server does. Only `parse_mode` HTML is modelled; Markdown modes are refused
 * with a description that says so, rather than shown unparsed.
 */
export function checkMessageText(
  input: { text: unknown; parse_mode?: unknown; entities?: unknown },
  options: HtmlParseOptions = {},
): MessageTextResult {
  if (input.text === undefined || input.text === null || input.text === '') {
    return { ok: false, description: 'Bad Request: message text is empty' };
  }
  const raw = String(input.text);
  const mode = typeof input.parse_mode === 'string' ? input.parse_mode.toLowerCase() : '';
  let parsed: ParsedText;
  if (mode === '') {
    parsed = {
      text: raw,
      entities: Array.isArray(input.entities) ? (input.entities as MessageEntity[]) : [],
    };
  } else if (mode === 'html') {
    const result = parseTelegramHtml(raw, options);
    if (!result.ok) return { ok: false, description: `Bad Request: can't parse entities: ${result.reason}` };
    parsed = result;
  } else if (mode === 'markdown' || mode === 'markdownv2') {
    return {
      ok: false,
      description: `Bad Request: the fake Telegram API models parse_mode HTML only, not ${mode}`,
    };
  } else {
    return { ok: false, description: 'Bad Request: unsupported parse_mode' };
  }
  const trimmed = trimText(parsed);
  if (trimmed.text === '') return { ok: false, description: 'Bad Request: message text is empty' };
  if (trimmed.text.length > MAX_MESSAGE_LENGTH)
    return { ok: false, description: 'Bad Request: message is too long' };
  return { ok: true, ...trimmed };
}

function trimText({ text, entities }: ParsedText): ParsedText {
  // Only ASCII whitespace: a message that starts with a no-break space keeps it.
  const start = /^[ \t\r\n]*/.exec(text)?.[0].length ?? 0;
  const kept = text.slice(start).replace(/[ \t\r\n]+$/, '');
  const clipped = entities
    .map((e) => {
      const from = Math.max(0, e.offset - start);
      const to = Math.min(kept.length, e.offset + e.length - start);
      return { ...e, offset: from, length: to - from };
    })
    .filter((e) => e.length > 0);
  return { text: kept, entities: clipped };
}
