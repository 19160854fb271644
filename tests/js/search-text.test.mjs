// Search text on the page: where a query's words are in a message's plain text (the
// marks: case, accents, prefixes, phrases, unspaced scripts), and what a typed line asks
// the server for.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { excerpt, fold, matchRanges, parseSearch, queryProblem, queryTerms, splitMarked } from '../../static/js/search-text.js';

// The text with its marks in brackets: "[Café] au lait".
function marked(text, q) {
  return splitMarked(text, matchRanges(text, q))
    .map((p) => (p.mark ? `[${p.text}]` : p.text))
    .join('');
}

describe('marks: where the words of a query are in a message', () => {
  it('folds case and accents both ways', () => {
    assert.equal(marked('Café au lait at the CAFE', 'cafe'), '[Café] au lait at the [CAFE]');
    assert.equal(marked('un cafe noir', 'CAFÉ'), 'un [cafe] noir');
    assert.equal(marked('Cafe\u0301 written decomposed', 'café'), '[Cafe\u0301] written decomposed');
    assert.equal(marked('Straße, Ørsted, the ﬁne print', 'strasse orsted fine'), '[Straße], [Ørsted], the [ﬁne] print');
    assert.equal(fold('ÀÉÎÕÜ'), 'aeiou');
  });

  it('marks the start of a word only, as much as the query says', () => {
    assert.equal(marked('deployment tomorrow, not a redeploy', 'deploy'), '[deploy]ment tomorrow, not a redeploy');
    assert.equal(marked('Deploy the deployer', 'dep the'), '[Dep]loy [the] [dep]loyer');
    assert.equal(marked('snake_case and snake', 'case'), 'snake_[case] and snake');
  });

  it('marks a quoted phrase as one stretch, its words one after another', () => {
    assert.equal(marked('New Yorkers love new york, not york new', '"new york"'), '[New York]ers love [new york], not york new');
    assert.equal(marked('“ship it” now: ship, then it', '„ship it”'), '“[ship it]” now: ship, then it');
    assert.equal(marked('send an e-mail or an e mail', 'e-mail'), 'send an [e-mail] or an [e mail]');
    assert.equal(marked('version v2.3 is out', 'v2.3'), 'version [v2.3] is out');
  });

  it('finds Chinese, Japanese and Thai anywhere inside a run', () => {
    assert.equal(marked('東京都庁で会議', '京都'), '東[京都]庁で会議');
    assert.equal(marked('東京都庁で会議', '会'), '東京都庁で[会]議');
    assert.equal(marked('ที่นี่ประเทศไทย', 'ประเทศ'), 'ที่นี่[ประเทศ]ไทย');
    assert.equal(marked('𠮷野家 in town', '野家'), '𠮷[野家] in town');
    assert.equal(marked('ｶﾞｲﾄﾞ and ガイド', 'ガイド'), '[ｶﾞｲﾄﾞ] and [ガイド]');
    // A run followed by a word must end where the word starts.
    assert.equal(marked('東京tower, 東京都tower', '東京tower'), '[東京tower], 東京都tower');
  });

  it('builds text, never markup: a tag in a message is text to mark', () => {
    assert.deepEqual(splitMarked('<b>bold</b>', matchRanges('<b>bold</b>', 'bold')), [
      { text: '<b>', mark: false },
      { text: 'bold', mark: true },
      { text: '</b>', mark: false },
    ]);
  });

  it('marks nothing for a query without words, or words the text lacks', () => {
    assert.deepEqual(matchRanges('a b c', '!!! ???'), []);
    assert.deepEqual(matchRanges('a b c', 'zebra'), []);
    assert.deepEqual(matchRanges('', 'a'), []);
  });

  it('cuts a long message around its first match', () => {
    const text = `${'x '.repeat(100)}the target word ${'y '.repeat(200)}`;
    const cut = excerpt(text, matchRanges(text, 'target'));
    assert.ok(cut.text.startsWith('…x '));
    assert.ok(cut.text.endsWith('…'));
    assert.equal(cut.text.length, 282);
    const [[a, b]] = cut.ranges;
    assert.equal(cut.text.slice(a, b), 'target');
    assert.deepEqual(excerpt('short one', [[0, 5]]), { text: 'short one', ranges: [[0, 5]] });
  });
});

describe('what a typed line asks for', () => {
  it('takes from:name out of the query, outside quotes only', () => {
    assert.deepEqual(parseSearch('from:bob deploy'), { q: 'deploy', from: 'bob' });
    assert.deepEqual(parseSearch('deploy FROM:@Alice now'), { q: 'deploy now', from: 'Alice' });
    assert.deepEqual(parseSearch('"from:bob" said'), { q: '"from:bob" said', from: null });
  });

  it('says why a query cannot go', () => {
    assert.equal(queryProblem({ q: '', from: null }), 'empty');
    assert.equal(queryProblem({ q: '?! …', from: null }), 'nothing');
    assert.equal(queryProblem({ q: 'a'.repeat(201) }), 'long');
    assert.equal(queryProblem({ q: '😀'.repeat(200) }), 'nothing'); // 200 code points, no word
    assert.equal(queryProblem({ q: 'deploy', from: '' }), 'author');
    assert.equal(queryProblem({ q: 'deploy', from: 'bob' }), null);
  });

  it('splits words, phrases and unspaced runs as the server does', () => {
    const texts = (q) => queryTerms(q).map((term) => term.map((u) => u.text).join('+'));
    assert.deepEqual(texts('Café "new York" e-mail 東京tower cafe'), ['cafe', 'new+york', 'e+mail', '東京+tower']);
    assert.deepEqual(texts('"unclosed phrase'), ['unclosed+phrase']);
  });
});
