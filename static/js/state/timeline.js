'use strict';

// The timeline slice: what was said in each room and how much of it I have read. Per
// room the messages loaded so far (sorted by id), how far they are complete, the unread
// count and the newest message (for the room list too), who read what, the "new
// messages" divider and the quiet join/leave notices. Beside them, the read marks sent
// in this connection and when loading older history last failed.
//
// `apply(state, event)` is pure: given the whole state before the event, it returns this
// slice after it. It keeps one entry per room the rooms slice has, created and dropped by
// the same events.

import { sameUser } from '../format.js';
import { asDeleted, findMessage, hasMessage, indexOfId, mergeMessages, newest } from './messages.js';
import { unlisted } from './rooms.js';

export { findMessage, hasMessage, mergeMessages };

const MAX_NOTICES = 20;

export function initial() {
  return {
    byRoom: {},
    noticeSeq: 0, // keys notices uniquely
    readSent: {}, // room -> the read mark sent to the server in this connection
    olderFailedAt: 0, // ms: when loading older history last failed (it waits a little)
  };
}

export function newTimeline(name, fields = {}) {
  return {
    name,
    unread: 0,
    countedThrough: 0, // the server's count already includes messages up to this id
    lastMessage: null,
    messages: [], // sorted by id; complete from the first one up once `loaded`
    loaded: false,
    hasMore: null, // older history exists (null: not known yet)
    syncedId: null, // everything up to this id is in `messages`: the join's last_id
    seen: {}, // username -> last read id
    readId: null, // my own last read id
    dividerPending: false,
    dividerId: null, // the first unread message when the room was opened
    notices: [], // quiet "bob joined" lines: {key, username, joined, afterId}
    loadingOlder: false,
    ...fields,
  };
}

// --- small pure helpers ------------------------------------------------------------------

function withRoom(slice, name, update) {
  const room = slice.byRoom[name];
  if (!room) return slice;
  const next = update(room);
  return next === room ? slice : { ...slice, byRoom: { ...slice.byRoom, [name]: next } };
}

function ensureRoom(slice, name, fields) {
  if (slice.byRoom[name]) return slice;
  return { ...slice, byRoom: { ...slice.byRoom, [name]: newTimeline(name, fields) } };
}

function withoutRooms(slice, names) {
  const gone = names.filter((name) => slice.byRoom[name]);
  if (!gone.length) return slice;
  const byRoom = { ...slice.byRoom };
  for (const name of gone) delete byRoom[name];
  return { ...slice, byRoom };
}

function isMine(state, message) {
  return sameUser(message.username, state.me);
}

// Counts as unread on the server: someone else's, not deleted, newer than my read mark.
function countsUnread(state, room, message) {
  return !isMine(state, message) && !message.deleted && (room.readId === null || message.id > room.readId);
}

// Adds messages to a room: new ones from others raise the unread count, unless the
// server's count (from a room list) already had them.
function addMessages(state, room, incoming) {
  const fresh = incoming.filter(
    (m) => m.room === room.name && !hasMessage(room, m.id) && m.id > room.countedThrough,
  );
  const unread = room.unread + fresh.filter((m) => countsUnread(state, room, m)).length;
  const messages = mergeMessages(
    room.messages,
    incoming.filter((m) => m.room === room.name),
  );
  const lastMessage = incoming.reduce((acc, m) => newest(acc, m), room.lastMessage);
  return { ...room, messages, unread, lastMessage };
}

// Every message newer than my read mark is loaded: the count can be made exact.
function recountUnread(state, room) {
  if (room.readId === null || !room.loaded) return room;
  const covered = room.hasMore === false || (room.messages.length > 0 && room.messages[0].id <= room.readId);
  if (!covered) return room;
  const unread = room.messages.filter((m) => countsUnread(state, room, m)).length;
  return unread === room.unread ? room : { ...room, unread };
}

function firstUnreadId(state, room) {
  const others = room.messages.filter((m) => !isMine(state, m) && !m.deleted);
  if (room.readId !== null) {
    const first = others.find((m) => m.id > room.readId);
    return first ? first.id : null;
  }
  // Never read: the divider goes where the count says, if that message is loaded;
  // otherwise (a room with long history) the room opens at its newest messages.
  if (!room.unread || room.unread > others.length) return null;
  return others[others.length - room.unread].id;
}

function upsertSummary(slice, state, summary) {
  const fields = {
    unread: summary.unread || 0,
    countedThrough: summary.last_message ? summary.last_message.id : 0,
    lastMessage: summary.last_message || null,
  };
  if (!slice.byRoom[summary.room]) return ensureRoom(slice, summary.room, fields);
  const meta = state.rooms.byName[summary.room];
  // The open room's count is kept here, from what is on screen; the list may be older.
  const keepCount = summary.room === state.rooms.current && Boolean(meta) && meta.join === 'joined';
  return withRoom(slice, summary.room, (r) => ({
    ...r,
    unread: keepCount ? r.unread : fields.unread,
    countedThrough: keepCount ? r.countedThrough : Math.max(r.countedThrough, fields.countedThrough),
    lastMessage: newest(r.lastMessage, fields.lastMessage),
  }));
}

// Older history that reaches the live end: complete from its first message up.
function mergeIntoLive(slice, state, name, messages, hasMore) {
  return withRoom(slice, name, (r) => {
    const liveOldest = r.messages.length ? r.messages[0].id : Infinity;
    const room = addMessages(state, r, messages);
    if (messages.length && messages[0].id < liveOldest) room.hasMore = hasMore;
    return room;
  });
}

function addNotice(key, room, username, joined) {
  const afterId = room.messages.length ? room.messages[room.messages.length - 1].id : 0;
  const last = room.notices[room.notices.length - 1];
  if (last && sameUser(last.username, username) && last.afterId === afterId) {
    // Left and came straight back (a reconnect) with nothing said in between: nothing to show.
    if (!last.joined && joined) return { ...room, notices: room.notices.slice(0, -1) };
    if (last.joined === joined) return room;
  }
  const notice = { key, username, joined, afterId };
  return { ...room, notices: [...room.notices, notice].slice(-MAX_NOTICES) };
}

function joinLastId(state, name) {
  const meta = state.rooms.byName[name];
  return meta ? meta.joinLastId : null;
}

// --- apply -------------------------------------------------------------------------------

const handlers = {
  // A new connection has been told nothing yet.
  connected(slice) {
    return Object.keys(slice.readSent).length ? { ...slice, readSent: {} } : slice;
  },

  rooms_listed(slice, event, state) {
    let next = slice;
    for (const summary of event.rooms) next = upsertSummary(next, state, summary);
    return withoutRooms(next, unlisted(state, event.rooms));
  },

  room_added(slice, event, state) {
    return upsertSummary(slice, state, event.summary);
  },

  room_removed(slice, event) {
    return withoutRooms(slice, [event.room]);
  },

  opened(slice, event, state) {
    const previous = state.rooms.current;
    if (event.room === null) {
      return previous ? withRoom(slice, previous, (r) => ({ ...r, dividerId: null })) : slice;
    }
    let next = ensureRoom(slice, event.room);
    if (previous && previous !== event.room) {
      next = withRoom(next, previous, (r) => ({ ...r, dividerId: null }));
    }
    if (previous !== event.room) {
      next = withRoom(next, event.room, (r) => ({ ...r, dividerPending: true, dividerId: null }));
    }
    return next;
  },

  joined(slice, event, state) {
    return withRoom(slice, event.room, (r) => {
      const mine = Object.entries(event.seen || {}).find(([name]) => sameUser(name, state.me));
      let room = {
        ...r,
        seen: { ...r.seen, ...(event.seen || {}) },
        readId: mine ? Math.max(r.readId ?? 0, mine[1]) : r.readId,
      };
      if (!room.loaded) room = { ...room, loaded: true, hasMore: false }; // no history sent
      const lastId = room.messages.length ? room.messages[room.messages.length - 1].id : null;
      room.syncedId = lastId ?? joinLastId(state, event.room);
      room = recountUnread(state, room);
      if (room.dividerPending) {
        room = { ...room, dividerPending: false, dividerId: firstUnreadId(state, room) };
      }
      return room;
    });
  },

  left(slice, event) {
    return withRoom(slice, event.room, (r) => ({ ...r, dividerId: null, notices: [] }));
  },

  history(slice, event, state) {
    return withRoom(slice, event.room, (r) => {
      const incoming = event.messages;
      if (event.older) {
        const room = { ...addMessages(state, r, incoming), hasMore: event.has_more, loadingOlder: false };
        // The first unread message may be among the older ones.
        if (room.dividerId !== null && room.readId !== null) room.dividerId = firstUnreadId(state, room);
        return room;
      }
      if (event.reset || joinLastId(state, event.room) === null) {
        // A fresh page: what we had is dropped, except live messages newer than it
        // (a broadcast can overtake the history it follows).
        const top = incoming.length ? incoming[incoming.length - 1].id : -Infinity;
        const newer = r.messages.filter((m) => m.id > top);
        const lastMessage = newest(r.lastMessage, incoming[incoming.length - 1] || null);
        return {
          ...r,
          messages: mergeMessages(incoming, newer),
          loaded: true,
          hasMore: event.has_more,
          lastMessage,
        };
      }
      return addMessages(state, r, incoming);
    });
  },

  older_requested(slice, event) {
    return withRoom(slice, event.room, (r) => ({ ...r, loadingOlder: true }));
  },

  // A stretch of history opened around a message reached the newest one: it joins the
  // live end (the reader slice goes back to it on the same events).
  jump_loaded(slice, event, state) {
    if (event.has_newer || !liveLoaded(state, event.room)) return slice;
    return mergeIntoLive(slice, state, event.room, event.messages, event.has_more);
  },

  reader_page(slice, event, state) {
    const reader = state.reader;
    if (event.direction !== 'newer' || event.has_newer || reader.room !== event.room) return slice;
    if (!reader.detached || !liveLoaded(state, event.room)) return slice;
    return mergeIntoLive(slice, state, event.room, mergeMessages(reader.messages, event.messages), reader.hasMore);
  },

  older_failed(slice, event) {
    const next = withRoom(slice, event.room, (r) => ({ ...r, loadingOlder: false }));
    return { ...next, olderFailedAt: event.at ?? slice.olderFailedAt };
  },

  message(slice, event, state) {
    const m = event.message;
    let next = ensureRoom(slice, m.room);
    const fresh = !hasMessage(next.byRoom[m.room], m.id);
    const meta = state.rooms.byName[m.room];
    next = withRoom(next, m.room, (r) => {
      const room = addMessages(state, r, [m]);
      if (meta && meta.live) room.syncedId = Math.max(room.syncedId ?? 0, m.id);
      const unnoticed = fresh && !isMine(state, m) && !event.attentive && m.room === state.rooms.current;
      if (unnoticed && room.dividerId === null && !room.dividerPending) {
        room.dividerId = m.id; // arrived while you were not looking
      }
      return room;
    });
    return next;
  },

  edited(slice, event) {
    const m = event.message;
    return withRoom(slice, m.room, (r) => {
      const lastMessage = r.lastMessage && r.lastMessage.id === m.id ? m : r.lastMessage;
      if (!hasMessage(r, m.id)) return lastMessage === r.lastMessage ? r : { ...r, lastMessage };
      return { ...r, messages: mergeMessages(r.messages, [m]), lastMessage };
    });
  },

  deleted(slice, event, state) {
    return withRoom(slice, event.room, (r) => {
      const i = indexOfId(r.messages, event.id);
      const lastMessage =
        r.lastMessage && r.lastMessage.id === event.id
          ? asDeleted(r.lastMessage)
          : r.lastMessage;
      if (i === -1) return lastMessage === r.lastMessage ? r : { ...r, lastMessage };
      const old = r.messages[i];
      if (old.deleted) return r;
      const messages = r.messages.slice();
      messages[i] = asDeleted(old);
      const unread = countsUnread(state, r, old) ? Math.max(0, r.unread - 1) : r.unread;
      return { ...r, messages, unread, lastMessage };
    });
  },

  // "bob joined" / "bob left": memberships only (the server says so), not someone opening
  // or closing the room, and not in a direct room, whose two members never change.
  announced(slice, event, state) {
    const meta = state.rooms.byName[event.room];
    if (!event.membership || sameUser(event.username, state.me) || (meta && meta.kind === 'direct')) return slice;
    const key = `n${slice.noticeSeq}`;
    const next = { ...slice, noticeSeq: slice.noticeSeq + 1 };
    return withRoom(next, event.room, (r) => addNotice(key, r, event.username, event.joined));
  },

  seen_by(slice, event, state) {
    return withRoom(slice, event.room, (r) => {
      const seen = { ...r.seen, [event.username]: Math.max(r.seen[event.username] ?? 0, event.message_id) };
      let room = { ...r, seen };
      if (sameUser(event.username, state.me)) {
        // Read in another tab of mine.
        room = recountUnread(state, { ...room, readId: Math.max(r.readId ?? 0, event.message_id) });
      }
      return room;
    });
  },

  // I read up to `id`, and the mark is on its way to the server.
  read(slice, event, state) {
    const next = withRoom(slice, event.room, (r) => {
      if (r.readId !== null && event.id <= r.readId) return r;
      return recountUnread(state, { ...r, readId: event.id });
    });
    if (next.readSent[event.room] === event.id) return next;
    return { ...next, readSent: { ...next.readSent, [event.room]: event.id } };
  },

  // The mark did not arrive: it may be sent again.
  read_failed(slice, event) {
    if (slice.readSent[event.room] !== event.id) return slice;
    const readSent = { ...slice.readSent };
    delete readSent[event.room];
    return { ...slice, readSent };
  },

  // Writing in a room means having seen it: the divider goes.
  queued(slice, event) {
    return withRoom(slice, event.entry.room, (r) => (r.dividerId === null ? r : { ...r, dividerId: null }));
  },

  // The ack is the record: the message shows even if its broadcast was lost.
  send_acked(slice, event, state) {
    const entry = state.outbox.find((e) => e.client_id === event.client_id);
    if (!entry) return slice;
    const m = {
      id: event.id,
      room: entry.room,
      username: state.me,
      message: entry.text,
      created_at: event.created_at,
      edited_at: null,
      deleted: false,
      client_id: entry.client_id,
      mentions: [], // the server's broadcast says whom it mentions
      reactions: [],
      reply_to: entry.reply || null,
      attachments: entry.attachments || [],
    };
    const next = ensureRoom(slice, entry.room);
    return withRoom(next, entry.room, (r) => (hasMessage(r, m.id) ? r : addMessages(state, r, [m])));
  },
};

export const EVENTS = Object.freeze(Object.keys(handlers));

export function apply(state, event) {
  const handler = handlers[event.type];
  return handler ? handler(state.timeline, event, state) : state.timeline;
}

// --- selectors ---------------------------------------------------------------------------

export function timelineOf(state, name) {
  return state.timeline.byRoom[name] || null;
}

// The room's live end is loaded: a stretch of history that reaches it can join it.
export function liveLoaded(state, name) {
  const room = state.timeline.byRoom[name];
  return Boolean(room && room.loaded);
}

export function totalUnread(state) {
  return Object.values(state.rooms.byName).reduce((sum, r) => {
    const tl = state.timeline.byRoom[r.name];
    return sum + (r.member && tl ? tl.unread : 0);
  }, 0);
}
