// Text helpers: lengths, long messages, days, room names.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { dayLabel, directRoomName, emojiForm, isLong, messageLength, peerOf } from '../../static/js/format.js';

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

describe('isLong', () => {
  it('folds a message of many characters or many lines, not a short one', () => {
    assert.equal(isLong('x'.repeat(4000)), true);
    assert.equal(isLong('line\n'.repeat(13)), true);
    assert.equal(isLong('a short message\nof two lines'), false);
    assert.equal(isLong('é'.repeat(700)), false); // code points, not UTF-16 units
    assert.equal(isLong(null), false);
  });
});

describe('emojiForm', () => {
  it('drops a variation selector after an emoji shown as emoji anyway, and keeps the needed ones', () => {
    assert.equal(emojiForm('\u{1F44D}\uFE0F'), '\u{1F44D}');
    assert.equal(emojiForm('\u2764\uFE0F'), '\u2764\uFE0F'); // ❤️ needs it
    assert.equal(emojiForm('\u{1F3F3}\uFE0F\u200D\u{1F308}'), '\u{1F3F3}\uFE0F\u200D\u{1F308}');
    assert.equal(emojiForm('\u{1F44D}\u{1F3FD}'), '\u{1F44D}\u{1F3FD}');
  });
});
