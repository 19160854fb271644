'use strict';

// The reader slice: a message opened in context (the original of a reply, a mention, the
// place a reload returns to) and, when it is older than what the open room has loaded, the
// stretch of history around it, paged both ways (`has_more` up, `has_newer` down) until it
// reaches the live end and joins it. `target` is the message to bring into view (`seq`
// tells one request from the next), `highlight` the one to mark.
//
// `apply(state, event)` is pure: given the whole state before the event, it returns this
// slice after it (the same object when nothing changed).

import { asDeleted, findMessage, hasMessage, mergeMessages, replaceMessage } from './messages.js';
import { liveLoaded, timelineOf } from './timeline.js';

export function initial(seq = 0) {
  return {
    room: null,
    detached: false, // showing `messages` instead of the room's live end
    messages: [],
    hasMore: false,
    hasNewer: false,
    loading: null, // null | around | older | newer
    target: null, // {id, seq, offset}: where the conversation scrolls to
    highlight: null, // the id of the message opened in context
    seq,
  };
}

function inLive(state, room, id) {
  const tl = timelineOf(state, room);
  return Boolean(tl && tl.loaded && hasMessage(tl, id));
}

function backToLive(r) {
  return r.detached || r.messages.length || r.loading ? { ...r, detached: false, messages: [], loading: null } : r;
}

const handlers = {
  // Another room: what was opened in context belongs to the room that was open.
  opened(r, event, state) {
    return event.room === state.rooms.current ? r : initial(r.seq);
  },

  room_removed(r, event) {
    return r.room === event.room ? initial(r.seq) : r;
  },

  // Open message `id` of `room` in context; `highlight: false` only scrolls there (a reload).
  jump_requested(r, event, state) {
    const seq = r.seq + 1;
    const target = { id: event.id, seq, offset: event.offset ?? null };
    const highlight = event.highlight === false ? null : event.id;
    if (r.room === event.room && r.detached && hasMessage(r, event.id)) return { ...r, target, highlight, seq };
    const found = inLive(state, event.room, event.id);
    return { ...initial(seq), room: event.room, target, highlight, loading: found ? null : 'around' };
  },

  // The live end has it after all (it came with the join).
  jump_found(r, event) {
    return r.room === event.room && r.loading === 'around' ? { ...r, loading: null } : r;
  },

  jump_loaded(r, event, state) {
    if (r.room !== event.room || !r.target || r.target.id !== event.id) return r;
    if (!event.has_newer && liveLoaded(state, event.room)) return backToLive(r);
    return {
      ...r,
      detached: true,
      loading: null,
      messages: event.messages,
      hasMore: event.has_more,
      hasNewer: event.has_newer,
    };
  },

  reader_requested(r, event) {
    return r.room === event.room && r.detached ? { ...r, loading: event.direction } : r;
  },

  reader_page(r, event, state) {
    if (r.room !== event.room || !r.detached) return r;
    if (event.direction === 'older') {
      return { ...r, loading: null, messages: mergeMessages(event.messages, r.messages), hasMore: event.has_more };
    }
    if (!event.has_newer && liveLoaded(state, event.room)) return backToLive(r);
    return { ...r, loading: null, messages: mergeMessages(r.messages, event.messages), hasNewer: event.has_newer };
  },

  reader_failed(r, event) {
    return r.room === event.room && r.loading ? { ...r, loading: null } : r;
  },

  // Back to the newest messages (the jump button, or sending one).
  reader_closed(r) {
    const next = backToLive(r);
    return next.target || next.highlight ? { ...next, target: null, highlight: null } : next;
  },

  edited(r, event) {
    const m = event.message;
    if (r.room !== m.room || !r.detached) return r;
    const messages = replaceMessage(r.messages, m.id, () => m);
    return messages === r.messages ? r : { ...r, messages };
  },

  deleted(r, event) {
    if (r.room !== event.room || !r.detached) return r;
    const messages = replaceMessage(r.messages, event.id, asDeleted);
    return messages === r.messages ? r : { ...r, messages };
  },
};

export const EVENTS = Object.freeze(Object.keys(handlers));

export function apply(state, event) {
  const handler = handlers[event.type];
  return handler ? handler(state.reader, event, state) : state.reader;
}

// --- selectors ---------------------------------------------------------------------------

// The stretch of history shown instead of the room's live end, or null.
export function detachedOf(state, room) {
  const r = state.reader;
  return r.detached && r.room === room ? r : null;
}

// What the conversation shows of `room`: the reader's stretch or the live timeline.
export function shownMessages(state, room) {
  const detached = detachedOf(state, room);
  if (detached) return detached.messages;
  const tl = timelineOf(state, room);
  return tl ? tl.messages : [];
}

// Message `id` of `room`, wherever this page has it (the live end or the reader's stretch).
export function messageIn(state, room, id) {
  const tl = timelineOf(state, room);
  const live = tl ? findMessage(tl, id) : null;
  if (live) return live;
  return state.reader.room === room ? findMessage(state.reader, id) : null;
}
