'use strict';

// The reactions slice: reactions that changed since their message was loaded. A Message
// carries its reactions as they were when it was sent to us; each `reaction_changed`
// (or the ack of my own `react`) replaces one emoji's entry here, and a fresher copy of
// the message (an edit, a page of history) makes the entry unnecessary.
//
// `apply(state, event)` is pure: given the whole state before the event, it returns this
// slice after it (the same object when nothing changed).

import { findMessage } from './messages.js';
import { timelineOf } from './timeline.js';

export function initial() {
  return { byMessage: {} }; // "room\nid" -> [{emoji, count, users}]
}

const NONE = Object.freeze([]);
const keyOf = (room, id) => `${room}\n${id}`;

function loaded(state, room, id) {
  const tl = timelineOf(state, room);
  const m = (tl && findMessage(tl, id)) || (state.reader.room === room ? findMessage(state.reader, id) : null);
  return m ? m.reactions || [] : [];
}

function forget(slice, room, messages) {
  const gone = messages.map((m) => keyOf(room, m.id)).filter((key) => key in slice.byMessage);
  if (!gone.length) return slice;
  const byMessage = { ...slice.byMessage };
  for (const key of gone) delete byMessage[key];
  return { byMessage };
}

const handlers = {
  reaction_changed(slice, event, state) {
    const key = keyOf(event.room, event.id);
    const before = slice.byMessage[key] || loaded(state, event.room, event.id);
    const entry = { emoji: event.emoji, count: event.count, users: event.users || [] };
    const at = before.findIndex((r) => r.emoji === event.emoji);
    let after;
    if (event.count <= 0) after = before.filter((r) => r.emoji !== event.emoji);
    else if (at === -1) after = [...before, entry];
    else after = before.map((r, i) => (i === at ? entry : r));
    return { byMessage: { ...slice.byMessage, [key]: after } };
  },
  message: (slice, event) => forget(slice, event.message.room, [event.message]),
  edited: (slice, event) => forget(slice, event.message.room, [event.message]),
  deleted: (slice, event) => forget(slice, event.room, [{ id: event.id }]),
  history: (slice, event) => forget(slice, event.room, event.messages),
  jump_loaded: (slice, event) => forget(slice, event.room, event.messages),
  reader_page: (slice, event) => forget(slice, event.room, event.messages),
};

export const EVENTS = Object.freeze(Object.keys(handlers));

export function apply(state, event) {
  const handler = handlers[event.type];
  return handler ? handler(state.reactions, event, state) : state.reactions;
}

// A message's reactions as they are now.
export function reactionsOf(state, m) {
  if (m.deleted) return NONE;
  return state.reactions.byMessage[keyOf(m.room, m.id)] || (m.reactions && m.reactions.length ? m.reactions : NONE);
}
