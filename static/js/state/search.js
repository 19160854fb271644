'use strict';

// The search slice: the search box (open or not, what is typed in it, whether it looks in
// the open room only), the query whose results are listed and those results (GET
// /api/search, newest first, a page at a time), the result the arrow keys are on, and
// why there are none (nothing to search for, a refusal, too many searches at once).
//
// `apply(state, event)` is pure: given the whole state before the event, it returns this
// slice after it (the same object when nothing changed).

import { parseSearch, queryProblem } from '../search-text.js';

export function initial() {
  return {
    open: false,
    text: '', // what is typed in the box
    thisRoom: false, // only the open room
    status: 'idle', // idle | loading | loaded | failed
    query: null, // {q, from, room, key}: what the listed results answer
    messages: [],
    hasMore: false,
    more: false, // the next page is on its way
    error: null, // {code, message, retryAfter} when status is failed
    active: -1, // the result the arrow keys are on; -1: none, the box itself
    seq: 0, // the newest request: answers to older ones are dropped
  };
}

const same = (a, b) => a.room === b.room && a.id === b.id;

// No results and no error (the same object when there were none).
function cleared(s) {
  if (s.status === 'idle' && !s.messages.length && !s.query) return s;
  return { ...s, status: 'idle', query: null, messages: [], hasMore: false, more: false, error: null, active: -1 };
}

// Keeps the results of `room` out once the room is no longer mine to read.
function dropRoom(s, room) {
  const messages = s.messages.filter((m) => m.room !== room);
  if (messages.length === s.messages.length) return s;
  return { ...s, messages, active: Math.min(s.active, messages.length - 1) };
}

const handlers = {
  search_opened: (s) => (s.open ? s : { ...s, open: true }),
  search_closed: (s) => (s.open ? { ...s, open: false } : s),

  // A new line typed: results stay until the next answer replaces them, unless nothing
  // can be searched for any more.
  search_typed(s, event, state) {
    if (event.text === s.text) return s;
    const next = { ...s, text: event.text, active: -1 };
    return wantedQuery({ ...state, search: next }).problem ? cleared(next) : next;
  },

  search_scoped: (s, event) => (s.thisRoom === Boolean(event.thisRoom) ? s : { ...s, thisRoom: Boolean(event.thisRoom) }),

  search_requested(s, event) {
    if (event.more) return { ...s, seq: event.seq, more: true };
    return { ...s, seq: event.seq, status: 'loading', more: false, error: null };
  },

  // An answer to an older request, or one that comes after the box was emptied, is dropped.
  search_loaded(s, event, state) {
    if (event.seq !== s.seq || wantedQuery(state).problem) return s;
    let messages = event.messages;
    if (event.more) {
      const fresh = event.messages.filter((m) => !s.messages.some((x) => same(x, m)));
      messages = [...s.messages, ...fresh];
    }
    return {
      ...s,
      status: 'loaded',
      query: event.query,
      messages,
      hasMore: Boolean(event.has_more),
      more: false,
      error: null,
      active: event.more ? s.active : -1,
    };
  },

  search_failed(s, event, state) {
    if (event.seq !== s.seq || wantedQuery(state).problem) return s;
    if (event.more) return { ...s, more: false, error: event.error };
    return { ...s, status: 'failed', query: event.query, messages: [], hasMore: false, more: false, error: event.error, active: -1 };
  },

  // The arrow keys: down from the box to the first result, up from the first back to it.
  search_moved(s, event) {
    if (!s.messages.length) return s;
    const active = Math.max(-1, Math.min(s.messages.length - 1, s.active + event.by));
    return active === s.active ? s : { ...s, active };
  },

  search_pointed(s, event) {
    const active = event.index >= 0 && event.index < s.messages.length ? event.index : -1;
    return active === s.active ? s : { ...s, active };
  },

  // What was found may change under the list: an edit shows its new text, a deleted
  // message is gone (deleted messages never match), and so is a room taken off my list.
  edited(s, event) {
    const m = event.message;
    const i = s.messages.findIndex((x) => same(x, m));
    if (i === -1) return s;
    const messages = s.messages.slice();
    messages[i] = { ...s.messages[i], ...m };
    return { ...s, messages };
  },
  deleted(s, event) {
    const messages = s.messages.filter((m) => !(m.room === event.room && m.id === event.id));
    if (messages.length === s.messages.length) return s;
    return { ...s, messages, active: Math.min(s.active, messages.length - 1) };
  },
  room_removed: (s, event) => dropRoom(s, event.room),
};

export const EVENTS = Object.freeze(Object.keys(handlers));

export function apply(state, event) {
  const handler = handlers[event.type];
  return handler ? handler(state.search, event, state) : state.search;
}

// --- selectors ---------------------------------------------------------------------------

// What the box asks for now: {q, from, room, key, problem}. `room` is the open room when
// the search is limited to it; `key` tells one query from another; `problem` says why it
// cannot be sent (queryProblem's words), or is null.
export function wantedQuery(state) {
  const s = state.search;
  const { q, from } = parseSearch(s.text);
  const room = s.thisRoom && state.rooms.current ? state.rooms.current : null;
  const problem = queryProblem({ q, from });
  return { q, from, room, key: JSON.stringify([q, from, room]), problem };
}

// The result the arrow keys are on, or null.
export function activeResult(state) {
  const s = state.search;
  return s.active >= 0 ? s.messages[s.active] || null : null;
}
