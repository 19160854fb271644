'use strict';

// The mentions slice: per room, how many messages mention me that I have not read (the
// room list's count from the server, plus those that came since), and the list of my
// mentions across rooms (GET /api/mentions) for the Mentions view.
//
// `apply(state, event)` is pure: given the whole state before the event, it returns this
// slice after it (the same object when nothing changed).

import { sameUser } from '../format.js';
import { unlisted } from './rooms.js';
import { timelineOf } from './timeline.js';

export function initial() {
  return {
    // room -> {base: the server's count, through: the newest id it covered, ids: newer ones}
    byRoom: {},
    list: { status: 'idle', messages: [], hasMore: false, error: null }, // idle | loading | loaded | failed
  };
}

export function mentionsMe(state, m) {
  return Boolean(m && !m.deleted && (m.mentions || []).some((name) => sameUser(name, state.me)));
}

function setRoom(slice, room, entry) {
  return { ...slice, byRoom: { ...slice.byRoom, [room]: entry } };
}

function fromSummary(slice, state, summary) {
  const meta = state.rooms.byName[summary.room];
  const had = slice.byRoom[summary.room];
  // The open room's count is kept here, from what is on screen; the list may be older.
  if (had && summary.room === state.rooms.current && meta && meta.join === 'joined') return slice;
  const through = summary.last_message ? summary.last_message.id : 0;
  const ids = had ? had.ids.filter((id) => id > through) : [];
  return setRoom(slice, summary.room, { base: summary.mentions || 0, through, ids });
}

function add(slice, state, m) {
  if (!mentionsMe(state, m) || sameUser(m.username, state.me)) return slice;
  const entry = slice.byRoom[m.room] || { base: 0, through: 0, ids: [] };
  const tl = timelineOf(state, m.room);
  const read = tl && tl.readId !== null && m.id <= tl.readId;
  let next = slice;
  if (!read && m.id > entry.through && !entry.ids.includes(m.id)) {
    next = setRoom(next, m.room, { ...entry, ids: [...entry.ids, m.id] });
  }
  const list = next.list;
  if (list.status === 'loaded' && !list.messages.some((x) => x.room === m.room && x.id === m.id)) {
    next = { ...next, list: { ...list, messages: [m, ...list.messages] } };
  }
  return next;
}

function drop(slice, room, id) {
  const entry = slice.byRoom[room];
  let next = slice;
  if (entry && entry.ids.includes(id)) next = setRoom(next, room, { ...entry, ids: entry.ids.filter((x) => x !== id) });
  const list = next.list;
  const messages = list.messages.filter((x) => !(x.room === room && x.id === id));
  return messages.length === list.messages.length ? next : { ...next, list: { ...list, messages } };
}

// Read up to `id`: mentions up to it are read, the server's count too once it is covered.
function read(slice, room, id) {
  const entry = slice.byRoom[room];
  if (!entry) return slice;
  const ids = entry.ids.filter((x) => x > id);
  const base = id >= entry.through ? 0 : entry.base;
  if (ids.length === entry.ids.length && base === entry.base) return slice;
  return setRoom(slice, room, { ...entry, base, ids });
}

const handlers = {
  rooms_listed(slice, event, state) {
    let next = slice;
    for (const summary of event.rooms) next = fromSummary(next, state, summary);
    const gone = unlisted(state, event.rooms).filter((name) => next.byRoom[name]);
    if (!gone.length) return next;
    const byRoom = { ...next.byRoom };
    for (const name of gone) delete byRoom[name];
    return { ...next, byRoom };
  },
  room_added: (slice, event, state) => fromSummary(slice, state, event.summary),
  room_removed(slice, event) {
    if (!slice.byRoom[event.room]) return slice;
    const byRoom = { ...slice.byRoom };
    delete byRoom[event.room];
    return { ...slice, byRoom };
  },
  mentioned: (slice, event, state) => add(slice, state, event.message),
  message: (slice, event, state) => add(slice, state, event.message),
  edited: (slice, event, state) =>
    mentionsMe(state, event.message) ? add(slice, state, event.message) : drop(slice, event.message.room, event.message.id),
  deleted: (slice, event) => drop(slice, event.room, event.id),
  read: (slice, event) => read(slice, event.room, event.id),
  seen_by: (slice, event, state) => (sameUser(event.username, state.me) ? read(slice, event.room, event.message_id) : slice),

  mentions_requested(slice, event) {
    const list = event.more ? { ...slice.list, status: 'loading' } : { ...initial().list, status: 'loading' };
    return { ...slice, list };
  },
  mentions_loaded(slice, event) {
    const have = new Set(slice.list.messages.map((m) => `${m.room}\n${m.id}`));
    const fresh = event.messages.filter((m) => !have.has(`${m.room}\n${m.id}`));
    const messages = event.more ? [...slice.list.messages, ...fresh] : event.messages;
    return { ...slice, list: { status: 'loaded', messages, hasMore: event.has_more, error: null } };
  },
  mentions_failed(slice, event) {
    return { ...slice, list: { ...slice.list, status: 'failed', error: event.error } };
  },
};

export const EVENTS = Object.freeze(Object.keys(handlers));

export function apply(state, event) {
  const handler = handlers[event.type];
  return handler ? handler(state.mentions, event, state) : state.mentions;
}

// --- selectors ---------------------------------------------------------------------------

export function mentionCount(state, room) {
  const entry = state.mentions.byRoom[room];
  return entry ? entry.base + entry.ids.length : 0;
}

export function totalMentions(state) {
  return Object.values(state.rooms.byName).reduce((sum, r) => sum + (r.member ? mentionCount(state, r.name) : 0), 0);
}
