'use strict';

// Messages are written in a small Markdown set (emphasis, strong, strikethrough, inline
// code, fenced code, block quotes, lists, links) that markdown-it parses, with raw HTML
// off: this module says which of its rules run, which URLs may become links (http(s) and
// mailto only), and marks the @mentions the server found in the message. It makes HTML
// for views/rich-text.js, which sanitizes it into nodes, and plain text for the places
// that show a message as a line (the room list, notifications, quotes, the screen
// reader). No DOM here: node --test runs it as it is.

import markdownit from '../vendor/markdown-it.mjs';

const md = markdownit({ html: false, breaks: true, linkify: true, typographer: false });
// Headings, rules and tables do not belong in a chat line ("#general" is a room, not a
// heading); indented code is not code either (the server's mentions agree); images are
// never fetched from a URL someone wrote; reference definitions are rare and surprising.
md.disable(
  ['heading', 'lheading', 'hr', 'table', 'code', 'image', 'reference', 'html_block', 'html_inline'],
  true,
);
// Only URLs with a scheme become links: "app.py" stays text.
md.linkify.set({ fuzzyLink: false, fuzzyIP: false, fuzzyEmail: true });

const LINKABLE = /^(https?:\/\/|mailto:)/i;
md.validateLink = (url) => LINKABLE.test(url.trim());

// --- mentions --------------------------------------------------------------------------

const NAME_CHAR = /[A-Za-z0-9_.-]/;
const NAME_RUN = /^[A-Za-z0-9_.-]+/;

// The mention at `text[at]` (an "@"), as the server reads it: the longest run of username
// characters, trailing ".", "-" and "_" dropped until it names one of `names`.
export function mentionAt(text, at, names) {
  if (text[at] !== '@' || (at > 0 && NAME_CHAR.test(text[at - 1]))) return null;
  const run = NAME_RUN.exec(text.slice(at + 1));
  if (!run) return null;
  const lower = new Map(names.map((name) => [name.toLowerCase(), name]));
  for (let word = run[0]; word; word = word.replace(/[._-]$/, '')) {
    const username = lower.get(word.toLowerCase());
    if (username) return { written: `@${word}`, username };
    if (!/[._-]$/.test(word)) break;
  }
  return null;
}

// A core rule: text outside code and links is split around the message's mentions.
function markMentions(state) {
  const names = state.env.mentions;
  if (!names || !names.length) return;
  for (const block of state.tokens) {
    if (block.type !== 'inline' || !block.children) continue;
    const children = [];
    let inLink = 0;
    for (const token of block.children) {
      if (token.type === 'link_open') inLink += 1;
      if (token.type === 'link_close') inLink -= 1;
      if (token.type !== 'text' || inLink > 0 || !token.content.includes('@')) {
        children.push(token);
        continue;
      }
      const text = token.content;
      let from = 0;
      for (let at = text.indexOf('@'); at !== -1; at = text.indexOf('@', at + 1)) {
        const found = mentionAt(text, at, names);
        if (!found) continue;
        if (at > from) children.push(textToken(state, text.slice(from, at)));
        const mention = new state.Token('mention', '', 0);
        mention.content = found.written;
        mention.meta = { username: found.username };
        children.push(mention);
        from = at + found.written.length;
        at = from - 1;
      }
      if (from === 0) children.push(token);
      else if (from < text.length) children.push(textToken(state, text.slice(from)));
    }
    block.children = children;
  }
}

function textToken(state, content) {
  const token = new state.Token('text', '', 0);
  token.content = content;
  return token;
}

md.core.ruler.push('mentions', markMentions);
md.renderer.rules.mention = (tokens, idx, options, env) => {
  const token = tokens[idx];
  const mine = env.me && token.meta.username.toLowerCase() === env.me.toLowerCase();
  return `<span class="mention${mine ? ' mention-me' : ''}">${md.utils.escapeHtml(token.content)}</span>`;
};

// --- what the page uses ----------------------------------------------------------------

// HTML for the message `text` (still to be sanitized): `mentions` are the usernames the
// server says it mentions, `me` the reader (their own mention is marked as such).
export function renderHtml(text, { mentions = [], me = '' } = {}) {
  return md.render(text, { mentions, me }).trim(); // no newline after the last block
}

// The message as one line of plain text: what it says, without its markup.
export function plainText(text) {
  if (!text) return '';
  const words = [];
  for (const token of md.parse(text, {})) {
    if (token.type === 'fence') words.push(token.content);
    else if (token.type === 'inline') {
      for (const child of token.children || []) {
        if (child.type === 'text' || child.type === 'code_inline') words.push(child.content);
        else if (child.type === 'softbreak' || child.type === 'hardbreak') words.push(' ');
      }
    }
    if (token.nesting === -1 || token.type === 'fence') words.push(' ');
  }
  return words.join('').replace(/\s+/g, ' ').trim();
}
