// Text helpers: links, lengths, days, room names.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { dayLabel, directRoomName, linkify, messageLength, peerOf } from '../../static/js/format.js';

describe('linkify', () => {
  it('turns http and https URLs into links and leaves the rest as text', () => {
    assert.deepEqual(linkify('see https://example.com/a?b=1 and http://x.org.'), [
      { text: 'see ' },
      { text: 'https://example.com/a?b=1', href: 'https://example.com/a?b=1' },
      { text: ' and ' },
      { text: 'http://x.org', href: 'http://x.org/' },
      { text: '.' },
    ]);
  });

  it('never links other schemes', () => {
    for (const text of [
      'javascript:alert(1)',
      'data:text/html,<b>x</b>',
      'JAVASCRIPT://x.com/%0aalert(1)',
      'ftp://x.org',
    ]) {
      assert.deepEqual(linkify(text), [{ text }], text);
    }
  });

  it('keeps a closing bracket only when the URL opened one', () => {
    assert.deepEqual(
      linkify('(see https://en.wikipedia.org/wiki/Flask_(web_framework))').map((p) => p.text),
      ['(see ', 'https://en.wikipedia.org/wiki/Flask_(web_framework)', ')'],
    );
  });

  it('stops at quotes and angle brackets', () => {
    assert.deepEqual(
      linkify('<https://a.b/c>').map((p) => p.text),
      ['<', 'https://a.b/c', '>'],
    );
  });

  it('returns nothing for an empty text and one text part without links', () => {
    assert.deepEqual(linkify(''), []);
    assert.deepEqual(linkify('plain'), [{ text: 'plain' }]);
  });
});

describe('names and lengths', () => {
  it('direct room names are lower-cased and sorted, as the server makes them', () => {
    assert.equal(directRoomName('Zed', 'alice'), 'dm:alice:zed');
    assert.equal(peerOf('dm:alice:zed', 'ALICE'), 'zed');
    assert.equal(peerOf('general', 'alice'), null);
  });

  it('counts code points after trimming, like the server', () => {
    assert.equal(messageLength('  👍👍  '), 2);
    assert.equal(messageLength('x'.repeat(4001)), 4001);
  });
});

describe('dayLabel', () => {
  const now = new Date(2026, 11, 3, 12, 0);
  it('says Today and Yesterday, and a date before that', () => {
    assert.equal(dayLabel(new Date(2026, 11, 3, 0, 5).toISOString(), now), 'Today');
    assert.equal(dayLabel(new Date(2026, 11, 2, 23, 55).toISOString(), now), 'Yesterday');
    const older = dayLabel(new Date(2026, 10, 20, 9).toISOString(), now);
    assert.notEqual(older, 'Today');
    assert.match(older, /20/);
  });
});
