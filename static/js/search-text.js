'use strict';

// Search as the page reads it: what a typed query asks the server for (`from:name` taken
// out, the rest is `q`), and where a query's words are in a message's plain text, so the
// results can mark them. The server's rules (chat/searchtext.py, docs/protocol.md) are
// followed closely enough to find what it matched: case, accents and compatibility forms
// folded; every word of the query the start of a word; a quoted phrase (or a word that
// punctuation splits, `e-mail`) words one after another; text of a script written
// without spaces (Chinese, Japanese, Thai…) a substring of its run. Ranges are computed
// here and the view builds text nodes and <mark> elements from them: no HTML anywhere.
// No DOM here: node --test runs it as it is.

export const MAX_QUERY = 200; // code points, as the server counts them

// Scripts written without spaces: the blocks chat/searchtext.py lists.
const UNSPACED =
  '\\u0E00-\\u0EFF\\u1000-\\u109F\\u1780-\\u17FF\\u19E0-\\u19FF\\u2E80-\\u2FDF\\u3005-\\u3007' +
  '\\u3021-\\u303C\\u3040-\\u31FF\\u3400-\\u4DBF\\u4E00-\\u9FFF\\uA9E0-\\uA9FF\\uAA60-\\uAA7F' +
  '\\uF900-\\uFAFF\\u{1B000}-\\u{1B16F}\\u{20000}-\\u{3FFFF}';
// Marks a reader does without (accents, Hebrew points, Arabic vowels, variation
// selectors); marks a script needs (Thai vowels, the kana voicing mark) stay.
const OPTIONAL_MARKS = new RegExp(
  '[\\u0300-\\u036F\\u0591-\\u05C7\\u0610-\\u061A\\u064B-\\u065F\\u0670\\u06D6-\\u06ED' +
    '\\u1AB0-\\u1AFF\\u1DC0-\\u1DFF\\u20D0-\\u20FF\\uFE00-\\uFE0F\\uFE20-\\uFE2F]',
  'gu',
);
// Letters no decomposition takes apart, and what case folding does beyond lower case.
const SPELT_OUT = { ø: 'o', đ: 'd', ð: 'd', ł: 'l', ħ: 'h', ŧ: 't', ı: 'i', æ: 'ae', œ: 'oe', þ: 'th', ß: 'ss', ς: 'σ' };
const HAS_SPELT_OUT = new RegExp(`[${Object.keys(SPELT_OUT).join('')}]`, 'gu');

const WORDS = /[\p{L}\p{N}][\p{L}\p{N}\p{M}]*/gu; // "_" and punctuation separate words
const RUNS = new RegExp(`([${UNSPACED}]+)|[^${UNSPACED}]+`, 'gu');
const IS_UNSPACED = new RegExp(`[${UNSPACED}]`, 'u');
const QUOTES = /["\u201C\u201D\u201E]/;
// A character and the marks written on it: the smallest piece of text a mark may cover.
const UNITS = /\P{M}\p{M}*|\p{M}+/gsu;
const FROM = /^from:@?(\S*)$/i;
const USERNAME = /^[A-Za-z0-9_.-]{3,32}$/;

// The text as search compares it, kept decomposed (NFKD) so that a character folds the
// same alone as in a string: case, accents and compatibility forms gone.
export function fold(text) {
  let folded = text.normalize('NFKD').toLowerCase();
  folded = folded.replace(HAS_SPELT_OUT, (c) => SPELT_OUT[c]);
  return folded.replace(OPTIONAL_MARKS, '');
}

// What a typed line asks for: {q, from} (`from:name` outside quotes names the author,
// the last one counts, "" for none given yet; the rest, trimmed, is the query).
export function parseSearch(input) {
  let from = null;
  let quoted = false;
  const kept = [];
  for (const part of String(input).split(/(["\u201C\u201D\u201E])/)) {
    if (QUOTES.test(part) && part.length === 1) {
      quoted = !quoted;
      kept.push(part);
      continue;
    }
    if (quoted) {
      kept.push(part);
      continue;
    }
    kept.push(
      part
        .split(/(\s+)/)
        .filter((chunk) => {
          const found = FROM.exec(chunk);
          if (found) from = found[1];
          return !found;
        })
        .join(''),
    );
  }
  return { q: kept.join('').replace(/\s+/g, ' ').trim(), from };
}

// The pieces of folded text: words, with a run of an unspaced script inside one as a
// piece of its own. [{start, end, text, unspaced}], indices into `folded`.
function pieces(folded) {
  const found = [];
  for (const word of folded.matchAll(WORDS)) {
    if (!IS_UNSPACED.test(word[0])) {
      found.push({ start: word.index, end: word.index + word[0].length, text: word[0], unspaced: false });
      continue;
    }
    for (const run of word[0].matchAll(RUNS)) {
      const start = word.index + run.index;
      found.push({ start, end: start + run[0].length, text: run[0], unspaced: Boolean(run[1]) });
    }
  }
  return found;
}

// The terms of a query, each a list of {text, unspaced} that must match one after the
// other: every unquoted word, every quoted phrase (an unclosed quote runs to the end).
export function queryTerms(q) {
  const terms = [];
  const seen = new Set();
  String(q)
    .split(QUOTES)
    .forEach((part, i) => {
      const chunks = i % 2 === 1 ? [part] : part.split(/\s+/);
      for (const chunk of chunks) {
        const units = pieces(fold(chunk)).map(({ text, unspaced }) => ({ text, unspaced }));
        const key = JSON.stringify(units);
        if (!units.length || seen.has(key)) continue;
        seen.add(key);
        terms.push(units);
      }
    });
  return terms;
}

// Why a query cannot be sent as it is (null when it can): `from:` without a username,
// nothing typed, nothing to search for (only punctuation, symbols or quotes), or longer
// than the server takes.
export function queryProblem({ q, from = null }) {
  if (from !== null && !USERNAME.test(from)) return 'author';
  if (!q) return 'empty';
  if ([...q].length > MAX_QUERY) return 'long';
  return queryTerms(q).length ? null : 'nothing';
}

// `text` folded, with where each folded code unit came from: [start, end) in `text`.
function folded(text) {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7F]*$/.test(text)) {
    return { text: text.toLowerCase(), from: null };
  }
  let out = '';
  const starts = [];
  const ends = [];
  for (const unit of text.matchAll(UNITS)) {
    const f = fold(unit[0]);
    out += f;
    for (let i = 0; i < f.length; i += 1) {
      starts.push(unit.index);
      ends.push(unit.index + unit[0].length);
    }
  }
  return { text: out, from: { starts, ends } };
}

// Where a term matches the pieces from `i` on: [start, end) in folded text, or null.
function matchAt(list, i, term) {
  const last = term.length - 1;
  let start = 0;
  let end = 0;
  for (let k = 0; k <= last; k += 1) {
    const p = list[i + k];
    const u = term[k];
    if (!p || p.unspaced !== u.unspaced) return null;
    // Each piece starts with its word; in an unspaced run, the words before it must end
    // its run and the words after it must start there (the run is split no further).
    const starts = !u.unspaced || k > 0;
    const ends = u.unspaced && k < last;
    if (starts && !p.text.startsWith(u.text)) return null;
    if (ends && !p.text.endsWith(u.text)) return null;
    if (k === 0) start = starts ? p.start : p.end - u.text.length;
    if (k === last) end = p.start + u.text.length;
  }
  return [start, end];
}

function merge(ranges) {
  const sorted = ranges.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  const out = [];
  for (const [a, b] of sorted) {
    const prev = out[out.length - 1];
    if (prev && a <= prev[1]) prev[1] = Math.max(prev[1], b);
    else out.push([a, b]);
  }
  return out;
}

// Where the words of query `q` are in `text`: [[start, end), …] in UTF-16 indices of
// `text`, in order, not overlapping. A phrase is one range from its first word to its last.
export function matchRanges(text, q) {
  const terms = queryTerms(q);
  if (!text || !terms.length) return [];
  const f = folded(text);
  const list = pieces(f.text);
  const found = [];
  for (const term of terms) {
    const only = term.length === 1 ? term[0] : null;
    for (let i = 0; i < list.length; i += 1) {
      if (only && only.unspaced) {
        // A run of an unspaced script alone: anywhere inside a run.
        const p = list[i];
        if (!p.unspaced) continue;
        for (let at = p.text.indexOf(only.text); at !== -1; at = p.text.indexOf(only.text, at + 1)) {
          found.push([p.start + at, p.start + at + only.text.length]);
        }
        continue;
      }
      const range = matchAt(list, i, term);
      if (range) found.push(range);
    }
  }
  const ranges = merge(found);
  if (!f.from) return ranges;
  return merge(ranges.map(([a, b]) => [f.from.starts[a], f.from.ends[b - 1]]));
}

// `text` cut around its first range for a result line: at most `length` code units,
// starting up to `before` of them ahead of the first match (at a space when there is one
// near), with "…" where it was cut. {text, ranges} with the ranges moved along.
export function excerpt(text, ranges, { before = 40, length = 280 } = {}) {
  let from = 0;
  if (ranges.length && ranges[0][0] > before + 10) {
    from = ranges[0][0] - before;
    const space = text.indexOf(' ', from);
    if (space !== -1 && space < ranges[0][0]) from = space + 1;
    if (/[\uDC00-\uDFFF]/.test(text[from] || '')) from += 1; // never half a character
  }
  let to = Math.min(text.length, from + length);
  if (/[\uDC00-\uDFFF]/.test(text[to] || '')) to -= 1;
  const head = from > 0 ? '…' : '';
  const tail = to < text.length ? '…' : '';
  const shift = head.length - from;
  return {
    text: head + text.slice(from, to) + tail,
    ranges: ranges
      .filter(([a, b]) => b > from && a < to)
      .map(([a, b]) => [Math.max(a, from) + shift, Math.min(b, to) + shift]),
  };
}

// `text` as pieces to build: [{text, mark}], the ranges marked, in order.
export function splitMarked(text, ranges) {
  const out = [];
  let at = 0;
  for (const [a, b] of ranges) {
    if (a > at) out.push({ text: text.slice(at, a), mark: false });
    out.push({ text: text.slice(a, b), mark: true });
    at = b;
  }
  if (at < text.length) out.push({ text: text.slice(at), mark: false });
  return out;
}
