'use strict';

// The rooms slice: which rooms the user has (the room list), which one is open, and where
// each stands with the server: joined or not, its events reaching this connection, who is
// in it and who is typing. What was said in a room is the timeline's; this slice knows
// rooms by name only.
//
// `apply(state, event)` is pure: given the whole state before the event, it returns this
// slice after it (the same object when nothing changed).

import { isDirectRoom, peerOf, sameUser } from '../format.js';

export function initial() {
  return {
    current: null, // the open room's name
    joinSeq: 0, // bumped by every open and join: an older join's answer is stale
    byName: {},
  };
}

export function newRoom(name, me, fields = {}) {
  const direct = isDirectRoom(name);
  return {
    name,
    kind: direct ? 'direct' : 'public',
    peer: direct ? peerOf(name, me) : null,
    peerOnline: null, // unknown until the server says
    member: false, // shown in the room list
    watched: false, // its events reach this connection without a join
    live: false, // every new message of the room reaches this connection
    join: 'idle', // idle | joining | retrying | joined | failed
    joinError: null,
    joinLastId: null, // the last_id the join asked from (null: a fresh page)
    online: [],
    typing: [],
    ...fields,
  };
}

// --- small pure helpers ------------------------------------------------------------------

function withRoom(slice, name, update) {
  const room = slice.byName[name];
  if (!room) return slice;
  const next = update(room);
  return next === room ? slice : { ...slice, byName: { ...slice.byName, [name]: next } };
}

function ensureRoom(slice, name, me, fields) {
  if (slice.byName[name]) return slice;
  return { ...slice, byName: { ...slice.byName, [name]: newRoom(name, me, fields) } };
}

function withoutRooms(slice, names) {
  if (!names.length) return slice;
  const byName = { ...slice.byName };
  for (const name of names) delete byName[name];
  return { ...slice, byName };
}

function summaryFields(summary) {
  const fields = {
    kind: summary.kind || (isDirectRoom(summary.room) ? 'direct' : 'public'),
    member: true,
  };
  if (summary.peer) fields.peer = summary.peer;
  if (typeof summary.peer_online === 'boolean') fields.peerOnline = summary.peer_online;
  return fields;
}

function upsertSummary(slice, me, summary, watching) {
  const fields = summaryFields(summary);
  if (!slice.byName[summary.room]) {
    return ensureRoom(slice, summary.room, me, { ...fields, watched: watching });
  }
  return withRoom(slice, summary.room, (r) => ({
    ...r,
    ...fields,
    peer: fields.peer || r.peer,
    watched: watching || r.watched,
  }));
}

function withOnline(list, username, online) {
  const rest = list.filter((name) => !sameUser(name, username));
  return online ? [...rest, username] : rest;
}

// The rooms a fresh room list drops: members' rooms it no longer names (left in another
// tab, or removed elsewhere), except the open one and one being joined. The timeline
// drops the same rooms.
export function unlisted(state, listed) {
  const names = new Set(listed.map((s) => s.room));
  return Object.values(state.rooms.byName)
    .filter((room) => !names.has(room.name) && room.member && room.name !== state.rooms.current)
    .filter((room) => room.join !== 'joined' && room.join !== 'joining')
    .map((room) => room.name);
}

// --- apply -------------------------------------------------------------------------------

const handlers = {
  disconnected(slice) {
    const byName = {};
    for (const [name, room] of Object.entries(slice.byName)) {
      byName[name] = { ...room, join: 'idle', live: false, watched: false, online: [], typing: [] };
    }
    return { ...slice, byName };
  },

  rooms_listed(slice, event, state) {
    let next = slice;
    for (const summary of event.rooms) next = upsertSummary(next, state.me, summary, event.watching);
    return withoutRooms(next, unlisted(state, event.rooms));
  },

  room_added(slice, event, state) {
    return upsertSummary(slice, state.me, event.summary, false);
  },

  room_removed(slice, event) {
    if (!slice.byName[event.room]) return slice;
    const next = withoutRooms(slice, [event.room]);
    return slice.current === event.room ? { ...next, current: null } : next;
  },

  presence(slice, event) {
    let next = slice;
    for (const room of Object.values(slice.byName)) {
      if (room.kind === 'direct' && sameUser(room.peer, event.username)) {
        next = withRoom(next, room.name, (r) => ({ ...r, peerOnline: event.online }));
      }
    }
    return next;
  },

  opened(slice, event, state) {
    if (event.room === null) return { ...slice, current: null, joinSeq: slice.joinSeq + 1 };
    let next = ensureRoom(slice, event.room, state.me);
    if (event.title && next.byName[event.room].kind === 'direct') {
      next = withRoom(next, event.room, (r) => ({ ...r, peer: event.title }));
    }
    return { ...next, current: event.room, joinSeq: slice.joinSeq + 1 };
  },

  join_started(slice, event) {
    const next = withRoom(slice, event.room, (r) => ({
      ...r,
      join: 'joining',
      joinError: null,
      joinLastId: event.lastId ?? null,
    }));
    return { ...next, joinSeq: slice.joinSeq + 1 };
  },

  joined(slice, event) {
    return withRoom(slice, event.room, (r) => ({
      ...r,
      join: 'joined',
      joinError: null,
      member: true,
      live: true,
      watched: r.watched || Boolean(event.watching), // a room joined while watching is watched
      online: event.online || [],
    }));
  },

  join_failed(slice, event) {
    return withRoom(slice, event.room, (r) => ({
      ...r,
      join: event.final ? 'failed' : 'retrying',
      joinError: event.error,
    }));
  },

  left(slice, event) {
    return withRoom(slice, event.room, (r) => ({
      ...r,
      join: 'idle',
      live: r.live && r.watched, // watched rooms keep their events coming
      online: [],
      typing: [],
    }));
  },

  message(slice, event, state) {
    const m = event.message;
    const next = ensureRoom(slice, m.room, state.me, { member: true });
    return withRoom(next, m.room, (r) => {
      const typing = r.typing.filter((name) => !sameUser(name, m.username));
      return typing.length === r.typing.length ? r : { ...r, typing };
    });
  },

  announced(slice, event) {
    return withRoom(slice, event.room, (r) => {
      const room = { ...r, online: withOnline(r.online, event.username, event.joined) };
      if (!event.joined) room.typing = room.typing.filter((n) => !sameUser(n, event.username));
      return room;
    });
  },

  typing(slice, event, state) {
    return withRoom(slice, event.room, (r) => {
      if (sameUser(event.username, state.me)) return r;
      const others = r.typing.filter((n) => !sameUser(n, event.username));
      if (!event.typing && others.length === r.typing.length) return r;
      return { ...r, typing: event.typing ? [...others, event.username] : others };
    });
  },

  // The ack of my message is the record of it: its room is one of mine.
  send_acked(slice, event, state) {
    const entry = state.outbox.find((e) => e.client_id === event.client_id);
    return entry ? ensureRoom(slice, entry.room, state.me, { member: true }) : slice;
  },
};

export const EVENTS = Object.freeze(Object.keys(handlers));

export function apply(state, event) {
  const handler = handlers[event.type];
  return handler ? handler(state.rooms, event, state) : state.rooms;
}

// --- selectors ---------------------------------------------------------------------------

export function currentRoom(state) {
  return state.rooms.current ? state.rooms.byName[state.rooms.current] || null : null;
}

export function roomLabel(room) {
  return room.kind === 'direct' ? `@${room.peer}` : `#${room.name}`;
}

export function roomUrl(room) {
  return room.kind === 'direct'
    ? `/chat?with=${encodeURIComponent(room.peer)}`
    : `/chat?room=${encodeURIComponent(room.name)}`;
}

function activity(state, room) {
  const tl = state.timeline.byRoom[room.name];
  return tl && tl.lastMessage ? Date.parse(tl.lastMessage.created_at) : 0;
}

// The room list: members' rooms of one kind (private rooms listed with the public ones),
// the most recently active first.
export function listedRooms(state, kind) {
  const listed = (r) => r.kind === kind || (kind === 'public' && r.kind === 'private');
  return Object.values(state.rooms.byName)
    .filter((r) => r.member && listed(r))
    .sort((a, b) => activity(state, b) - activity(state, a) || a.name.localeCompare(b.name));
}

// Who is here, in one meaning for the header and "Here now": in a public room, who has it
// open; in a direct room, its two people, each while they are online anywhere (as the dot
// in the room list says).
export function peopleHere(state, room) {
  if (room.kind !== 'direct') return [...room.online];
  const peerOnline = room.peerOnline ?? room.online.some((name) => sameUser(name, room.peer));
  return peerOnline ? [state.me, room.peer] : [state.me];
}

// A desktop notification (and the sound) for someone else's message in another room,
// or for a direct message while you are not looking at the page.
export function shouldNotify(state, message, { looking }) {
  if (sameUser(message.username, state.me) || message.deleted) return false;
  const room = state.rooms.byName[message.room];
  if (message.room !== state.rooms.current) return true;
  return Boolean(room && room.kind === 'direct' && !looking);
}
