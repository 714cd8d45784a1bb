import { describe, expect, it } from 'vitest';
import { checkMessageText, escapeTelegramHtml, parseTelegramHtml } from './telegram-html.ts';

const reasonOf = (html: string, strictAmpersand = true) => {
  const result = parseTelegramHtml(html, { strictAmpersand });
  return result.ok ? undefined : result.reason;
};

describe('parseTelegramHtml', () => {
  it('keeps the visible text and records each supported tag as an entity, offsets in UTF-16', () => {
    const result = parseTelegramHtml(
      '🚀 <b>prod</b> <i>i</i><u>u</u><s>s</s><tg-spoiler>p</tg-spoiler><span class="tg-spoiler">q</span>',
    );
    expect(result).toEqual({
      ok: true,
      text: '🚀 prod iuspq',
      entities: [
        { type: 'bold', offset: 3, length: 4 },
        { type: 'italic', offset: 8, length: 1 },
        { type: 'underline', offset: 9, length: 1 },
        { type: 'strikethrough', offset: 10, length: 1 },
        { type: 'spoiler', offset: 11, length: 1 },
        { type: 'spoiler', offset: 12, length: 1 },
      ],
    });
  });

  it('turns pre/code with a language into one pre entity, and reads blockquote and links', () => {
    expect(parseTelegramHtml('<pre><code class="language-bash">npm test</code></pre>')).toEqual({
      ok: true,
      text: 'npm test',
      entities: [{ type: 'pre', offset: 0, length: 8, language: 'bash' }],
    });
    expect(
      parseTelegramHtml('<blockquote expandable>log</blockquote><a href="tg://user?id=42">Al</a>'),
    ).toMatchObject({
      text: 'logAl',
      entities: [
        { type: 'expandable_blockquote', offset: 0, length: 3 },
        { type: 'text_mention', offset: 3, length: 2, user: { id: 42 } },
      ],
    });
  });

  it('decodes the four named entities (semicolon optional) and numeric ones, nothing else', () => {
    expect(parseTelegramHtml('&lt;a&gt; &amp; &quot; &#39; &#x1F680; &lt')).toMatchObject({
      ok: true,
      text: '<a> & " \' 🚀 <',
    });
    expect(reasonOf('it&apos;s')).toBe('Unescaped "&" at byte offset 2');
    expect(parseTelegramHtml('it&apos;s &', { strictAmpersand: false })).toMatchObject({
      text: 'it&apos;s &',
    });
  });

  it('reports errors as the real server does, with byte offsets in UTF-8', () => {
    expect(reasonOf('Привет <br>')).toBe('Unsupported start tag "br" at byte offset 13');
    expect(reasonOf('a < b')).toBe('Unsupported start tag "" at byte offset 2');
    expect(reasonOf('<b>x</i>')).toBe('Unmatched end tag at byte offset 4, expected "</b>", found "</i>"');
    expect(reasonOf('<B>x</B>')).toBe('Unmatched end tag at byte offset 4, expected "</b>", found "</B>"');
    expect(reasonOf('<b><i>x</i>')).toBe('Can\'t find end tag corresponding to start tag "b"');
    expect(reasonOf('x</b>')).toBe('Unexpected end tag at byte offset 1');
    expect(reasonOf('<b')).toBe('Unclosed start tag at byte offset 0');
    expect(reasonOf('<span class="x">y</span>')).toBe(
      'Tag "span" must have class "tg-spoiler" at byte offset 0',
    );
    expect(reasonOf('<a href>x</a>')).toBe(
      'Expected equal sign in declaration of an attribute of the tag "a" at byte offset 0',
    );
    // A bare ">" is fine, as on the real server.
    expect(parseTelegramHtml('a > b')).toMatchObject({ ok: true, text: 'a > b' });
  });

  it('closes the last open tag with </>, and keeps the text of a link whose URL is invalid', () => {
    expect(parseTelegramHtml('<b>x</>')).toMatchObject({ text: 'x', entities: [{ type: 'bold' }] });
    expect(parseTelegramHtml('<a href="http://">x</a>')).toEqual({ ok: true, text: 'x', entities: [] });
  });

  it('escapeTelegramHtml makes any text safe to interpolate', () => {
    const nasty = 'fix <script> & "quotes" &amp; </b>';
    expect(parseTelegramHtml(`<b>${escapeTelegramHtml(nasty)}</b>`)).toMatchObject({ ok: true, text: nasty });
  });
});

describe('checkMessageText', () => {
  it('trims surrounding whitespace, shifting entities, and refuses what is empty after that', () => {
    expect(checkMessageText({ text: '\n  <b>hi</b> \n', parse_mode: 'HTML' })).toEqual({
      ok: true,
      text: 'hi',
      entities: [{ type: 'bold', offset: 0, length: 2 }],
    });
    expect(checkMessageText({ text: '<b> </b>', parse_mode: 'HTML' })).toEqual({
      ok: false,
      description: 'Bad Request: message text is empty',
    });
  });

  it('says plainly that Markdown modes are not modelled', () => {
    const result = checkMessageText({ text: '*x*', parse_mode: 'MarkdownV2' });
    expect(result).toMatchObject({ ok: false, description: expect.stringContaining('HTML only') });
    expect(checkMessageText({ text: 'x', parse_mode: 'LaTeX' })).toEqual({
      ok: false,
      description: 'Bad Request: unsupported parse_mode',
    });
  });
});
