'use strict';

// The search box: a field in the conversation's header (on a phone with no room open, a
// button in the room list) opens a dialog, the whole screen on a phone, where what you
// type searches the messages of your rooms; `/` outside a text field and Ctrl+K / Cmd+K
// open it too. Each result shows its room, author and time and its text with the query's
// words marked: text nodes and <mark> elements built from ranges computed here from the
// query (search-text.js), never HTML. From the box, the arrow keys go through the
// results and Enter opens one (a click too) in its room at the message; Escape closes
// the dialog and gives the focus back to where it was.

import { h, setText } from './dom.js';
import { icon } from './icons.js';
import { messageLine } from '../attachments.js';
import { fullWhen, shortWhen } from '../format.js';
import { excerpt, matchRanges, MAX_QUERY, splitMarked } from '../search-text.js';
import { roomLabel } from '../state/rooms.js';
import { activeResult, wantedQuery } from '../state/search.js';

const HINT =
  'Words find the words they start, whatever their case or accents. ' +
  '"Quotes" keep words together; from:name keeps one person’s messages.';
// Where typing a "/" writes it rather than opening search.
const TYPING =
  'textarea, select, [contenteditable]:not([contenteditable="false"]), ' +
  'input:not([type=checkbox]):not([type=radio]):not([type=button]):not([type=submit]):not([type=reset])';

function roomName(state, name) {
  const room = state.rooms.byName[name];
  if (room) return roomLabel(room);
  return name.startsWith('dm:') ? 'a direct message' : `#${name}`;
}

function failureText(state, error, query) {
  const where = query && query.room ? roomName(state, query.room) : 'there';
  if (error.status === 429 || error.code === 'rate_limited') {
    const wait = Math.max(1, Math.ceil(error.retryAfter ?? 10));
    const again = error.retryAfter !== null && wait <= 60 ? ' Searching again then…' : '';
    return `Too many searches at once: wait ${wait} ${wait === 1 ? 'second' : 'seconds'}.${again}`;
  }
  if (error.status === 400) return `This search cannot be made: ${error.message}.`;
  if (error.status === 403 || error.status === 404) return `You cannot search ${where}: ${error.message}.`;
  if (error.status === 0 || error.status === 503) return 'Search is out of reach right now: try again in a moment.';
  return `Could not search: ${error.message}.`;
}

// The line above the results: a hint, why the query cannot go, how it went.
export function statusText(state) {
  const s = state.search;
  const wanted = wantedQuery(state);
  if (wanted.problem === 'author') return 'from: takes a username, as in from:alice.';
  if (wanted.problem === 'long') return `A search is at most ${MAX_QUERY} characters; this one has ${[...wanted.q].length}.`;
  if (wanted.problem === 'nothing') {
    return 'Nothing to search for: type letters or digits (punctuation and symbols are not searched).';
  }
  if (wanted.problem === 'empty') return wanted.from ? `Type the words to find in ${wanted.from}’s messages.` : HINT;
  if (s.error) return failureText(state, s.error, s.query);
  if (s.status === 'loading') return 'Searching…';
  if (s.status !== 'loaded') return '';
  const n = s.messages.length;
  if (!n) {
    const where = s.query.room ? ` in ${roomName(state, s.query.room)}` : '';
    const who = s.query.from ? ` from ${s.query.from}` : '';
    return `No messages match “${s.query.q}”${where}${who}.`;
  }
  return `${n} ${n === 1 ? 'message' : 'messages'}${s.hasMore ? ', more below' : ''}`;
}

// The text of message `m` cut around what `q` matches in it, as nodes: text and <mark>s.
export function markedText(m, q) {
  const text = m.deleted ? '' : messageLine(m);
  const cut = excerpt(text, matchRanges(text, q));
  return splitMarked(cut.text, cut.ranges).map((piece) => (piece.mark ? h('mark', {}, piece.text) : piece.text));
}

// search: the search effect; onOpen(room, id) opens the room at the message.
export function createSearchView(doc, { search, onOpen }) {
  const $ = (id) => doc.getElementById(id);
  const els = {
    openers: [$('search-open'), $('search-open-side')],
    dialog: $('search-dialog'),
    input: $('search-input'),
    close: $('search-close'),
    scope: $('search-scope'),
    scopeBox: $('search-this-room'),
    scopeName: $('search-room-name'),
    status: $('search-status'),
    list: $('search-results'),
    more: $('search-more'),
  };
  let returnTo = null; // what had the focus before the dialog opened
  let lastState = null;
  let shown = { messages: null, query: null, active: null };
  let nodes = [];

  for (const opener of els.openers) {
    opener.prepend(icon('search'));
    opener.addEventListener('click', openBox);
  }

  function openBox() {
    if (!els.dialog.open) {
      returnTo = doc.activeElement;
      els.dialog.showModal();
    }
    els.input.focus();
    els.input.select();
    search.open();
  }

  function choose(m) {
    els.dialog.close();
    onOpen(m.room, m.id);
  }

  els.dialog.addEventListener('close', () => {
    search.close();
    const back = returnTo && returnTo.isConnected && returnTo !== doc.body ? returnTo : null;
    returnTo = null;
    const opener = els.openers.find((el) => el.offsetParent !== null);
    (back || opener || doc.body).focus();
  });
  els.close.addEventListener('click', () => els.dialog.close());
  els.more.addEventListener('click', () => search.more());
  els.scopeBox.addEventListener('change', () => search.scope(els.scopeBox.checked));
  els.input.addEventListener('input', () => search.type(els.input.value));
  els.input.addEventListener('keydown', (event) => {
    if (event.isComposing) return;
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      search.move(event.key === 'ArrowDown' ? 1 : -1);
    } else if (event.key === 'Enter') {
      event.preventDefault();
      const m = lastState && activeResult(lastState);
      if (m) choose(m);
      else search.submit();
    } else if (event.key === 'Escape') {
      event.preventDefault(); // a search field would only clear itself
      els.dialog.close();
    }
  });

  doc.addEventListener('keydown', (event) => {
    if (event.defaultPrevented || event.isComposing || event.altKey) return;
    const combo = (event.key === 'k' || event.key === 'K') && (event.ctrlKey || event.metaKey) && !event.shiftKey;
    const target = event.composedPath()[0];
    const typing = target instanceof Element && target.matches(TYPING);
    const slash = event.key === '/' && !event.ctrlKey && !event.metaKey && !typing;
    if (!combo && !slash) return;
    const otherDialog = [...doc.querySelectorAll('dialog[open]')].some((d) => d !== els.dialog);
    if (otherDialog && !els.dialog.open) return;
    event.preventDefault();
    openBox();
  });

  function result(state, m, q) {
    return h(
      'li',
      {
        role: 'option',
        id: `search-result-${m.id}`,
        className: 'search-result',
        'aria-selected': 'false',
        on: { click: () => choose(m) },
      },
      h(
        'span',
        { className: 'search-where' },
        // (The spaces are for screen readers: a flex box does not show them.)
        h('span', { className: 'search-room' }, roomName(state, m.room)),
        ' ',
        h('strong', { className: 'search-author' }, m.username),
        ' ',
        h('time', { datetime: m.created_at, title: fullWhen(m.created_at) }, shortWhen(m.created_at)),
      ),
      h('span', { className: 'search-text' }, ...markedText(m, q)),
    );
  }

  return {
    render(state) {
      lastState = state;
      const s = state.search;
      if (!s.open && els.dialog.open) els.dialog.close();
      if (els.input.value !== s.text) els.input.value = s.text;
      const current = state.rooms.current ? state.rooms.byName[state.rooms.current] : null;
      els.scope.hidden = !current;
      if (current) setText(els.scopeName, roomLabel(current));
      els.scopeBox.checked = s.thisRoom;
      setText(els.status, statusText(state));
      els.list.classList.toggle('stale', s.status === 'loading');

      if (s.messages !== shown.messages || s.query !== shown.query) {
        const q = s.query ? s.query.q : '';
        nodes = s.messages.map((m) => result(state, m, q));
        els.list.replaceChildren(...nodes);
        shown = { messages: s.messages, query: s.query, active: null };
      }
      if (s.active !== shown.active) {
        nodes.forEach((node, i) => node.setAttribute('aria-selected', String(i === s.active)));
        const node = nodes[s.active];
        if (node) {
          els.input.setAttribute('aria-activedescendant', node.id);
          node.scrollIntoView({ block: 'nearest' });
        } else {
          els.input.removeAttribute('aria-activedescendant');
        }
        shown.active = s.active;
      }
      els.input.setAttribute('aria-expanded', String(nodes.length > 0));
      els.list.hidden = !nodes.length;
      els.more.hidden = !(s.status === 'loaded' && s.hasMore);
      els.more.disabled = s.more;
      setText(els.more, s.more ? 'Loading more…' : 'More results');
    },
  };
}
