// Messages as Markdown: the small set, links of safe schemes only, raw HTML as text,
// the mentions the server found, and the plain text of previews.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { mentionAt, plainText, renderHtml } from '../../static/js/markdown.js';

const html = (text, options) => renderHtml(text, options).trim();

describe('renderHtml', () => {
  it('renders the small set: emphasis, strong, strikethrough, code, quotes, lists', () => {
    assert.equal(html('**b** _i_ ~~s~~ `c`'), '<p><strong>b</strong> <em>i</em> <s>s</s> <code>c</code></p>');
    assert.equal(html('```\nx  = 1\n```'), '<pre><code>x  = 1\n</code></pre>');
    assert.match(html('> q'), /^<blockquote>\s*<p>q<\/p>\s*<\/blockquote>$/);
    assert.match(html('- a\n- b'), /<ul>\s*<li>a<\/li>\s*<li>b<\/li>\s*<\/ul>/);
    assert.equal(html('one\ntwo'), '<p>one<br>\ntwo</p>');
  });

  it('shows raw HTML as text', () => {
    assert.equal(
      html('<img src=x onerror="alert(1)"><b>bold?</b>'),
      '<p>&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&lt;b&gt;bold?&lt;/b&gt;</p>',
    );
  });

  it('links http(s) and mailto, and nothing else', () => {
    assert.equal(
      html('see https://example.com/a?b=1, and [mail](mailto:a@b.co)'),
      '<p>see <a href="https://example.com/a?b=1">https://example.com/a?b=1</a>, and <a href="mailto:a@b.co">mail</a></p>',
    );
    for (const text of [
      '[x](javascript:alert(1))',
      'javascript:alert(1)',
      '[x](data:text/html,<b>x</b>)',
      '[x](JAVASCRIPT://x.com/%0aalert(1))',
      'ftp://x.org',
      '[x](/relative)',
      'app.py and www.example.com',
    ]) {
      assert.doesNotMatch(html(text), /<a /, text);
    }
  });

  it('never embeds an image from a URL', () => {
    assert.doesNotMatch(html('![cat](https://example.com/cat.png)'), /<img/);
  });

  it('leaves headings, rules and indented code as text', () => {
    assert.equal(html('# general'), '<p># general</p>');
    assert.doesNotMatch(html('a\n\n---\n\n    code'), /<hr|<h2|<pre/);
  });

  it('marks the mentions the server found, outside code, and the reader’s own', () => {
    const out = html('@bob: `@bob` and @carol, not @bobby or x@bob', { mentions: ['bob', 'Carol'], me: 'carol' });
    assert.equal(
      out,
      '<p><span class="mention">@bob</span>: <code>@bob</code> and ' +
        '<span class="mention mention-me">@carol</span>, not @bobby or x@bob</p>',
    );
    assert.doesNotMatch(html('```\n@bob\n```', { mentions: ['bob'] }), /mention/);
    assert.doesNotMatch(html('@bob', { mentions: [] }), /mention/);
  });
});

describe('mentionAt', () => {
  it('drops trailing dots, dashes and underscores until the name is someone', () => {
    assert.deepEqual(mentionAt('@bob._', 0, ['bob']), { written: '@bob', username: 'bob' });
    assert.deepEqual(mentionAt('(@BOB)', 1, ['bob']), { written: '@BOB', username: 'bob' });
    assert.equal(mentionAt('@bobby', 0, ['bob']), null);
    assert.equal(mentionAt('me@bob', 2, ['bob']), null);
  });
});

describe('plainText', () => {
  it('is what a message says, without its markup, on one line', () => {
    assert.equal(plainText('**Ship** it\nto [staging](https://x.y) `now`'), 'Ship it to staging now');
    assert.equal(plainText('> quoted\n\n- a\n- b'), 'quoted a b');
    assert.equal(plainText('<b>raw</b>'), '<b>raw</b>');
    assert.equal(plainText(null), '');
  });
});
