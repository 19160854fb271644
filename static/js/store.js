'use strict';

// The page's state: every room the user has (the open one and the watched ones), the
// connection, and the messages waiting to be sent. `apply(state, event)` is pure: it
// returns a new state and never touches the one it was given, the DOM or the network.
// main.js turns server events and user actions into these events; the views render
// whatever state results.

import { directRoomName, isDirectRoom, peerOf, sameUser } from './format.js';

const MAX_NOTICES = 20;

export function newRoom(name, me, fields = {}) {
  const direct = isDirectRoom(name);
  return {
    name,
    kind: direct ? 'direct' : 'public',
    peer: direct ? peerOf(name, me) : null,
    peerOnline: null, // unknown until the server says
    member: false, // shown in the room list
    watched: false, // its events reach this connection without a join
    unread: 0,
    countedThrough: 0, // the server's count already includes messages up to this id
    lastMessage: null,
    messages: [], // sorted by id; complete from the first one up once `loaded`
    loaded: false,
    hasMore: null, // older history exists (null: not known yet)
    live: false, // every new message of the room reaches this connection
    syncedId: null, // everything up to this id is in `messages`: the join's last_id
    join: 'idle', // idle | joining | retrying | joined | failed
    joinError: null,
    joinLastId: null,
    online: [],
    seen: {}, // username -> last read id
    typing: [],
    readId: null, // my own last read id
    dividerPending: false,
    dividerId: null, // the first unread message when the room was opened
    notices: [], // quiet "bob joined" lines: {key, username, joined, afterId}
    loadingOlder: false,
    ...fields,
  };
}

export function initialState({ me, rooms = [], current = null, title = null }) {
  let state = {
    me,
    current: null,
    connection: 'connecting', // connecting | online | reconnecting | unreachable
    watch: 'unknown', // unknown | on | unsupported
    rooms: {},
    outbox: [],
    noticeSeq: 0,
  };
  state = apply(state, { type: 'rooms_listed', rooms, watching: false });
  if (current) state = apply(state, { type: 'opened', room: current, title });
  return state;
}

// --- small pure helpers ------------------------------------------------------------------

function withRoom(state, name, update) {
  const room = state.rooms[name];
  if (!room) return state;
  const next = update(room);
  return next === room ? state : { ...state, rooms: { ...state.rooms, [name]: next } };
}

function ensureRoom(state, name, fields) {
  if (state.rooms[name]) return state;
  return { ...state, rooms: { ...state.rooms, [name]: newRoom(name, state.me, fields) } };
}

function indexOfId(messages, id) {
  let lo = 0;
  let hi = messages.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const midId = messages[mid].id;
    if (midId === id) return mid;
    if (midId < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

export function hasMessage(room, id) {
  return indexOfId(room.messages, id) !== -1;
}

// One sorted list, by id; a message already there is replaced by the incoming one.
export function mergeMessages(list, incoming) {
  if (!incoming.length) return list;
  const last = list.length ? list[list.length - 1].id : -Infinity;
  if (incoming.every((m, i) => m.id > (i ? incoming[i - 1].id : last))) {
    return list.concat(incoming); // the usual case: newer than everything we have
  }
  const byId = new Map(list.map((m) => [m.id, m]));
  for (const m of incoming) byId.set(m.id, m);
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

function newest(a, b) {
  if (!a) return b;
  if (!b) return a;
  return b.id >= a.id ? b : a;
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

function summaryFields(state, summary) {
  const fields = {
    kind: summary.kind || (isDirectRoom(summary.room) ? 'direct' : 'public'),
    unread: summary.unread || 0,
    countedThrough: summary.last_message ? summary.last_message.id : 0,
    lastMessage: summary.last_message || null,
    member: true,
  };
  if (summary.peer) fields.peer = summary.peer;
  if (typeof summary.peer_online === 'boolean') fields.peerOnline = summary.peer_online;
  return fields;
}

function upsertSummary(state, summary, watching) {
  const fields = summaryFields(state, summary);
  const room = state.rooms[summary.room];
  if (!room) {
    return ensureRoom(state, summary.room, { ...fields, watched: watching });
  }
  return withRoom(state, summary.room, (r) => {
    // The open room's count is kept here, from what is on screen; the list may be older.
    const keepCount = r.name === state.current && r.join === 'joined';
    return {
      ...r,
      ...fields,
      unread: keepCount ? r.unread : fields.unread,
      countedThrough: keepCount ? r.countedThrough : Math.max(r.countedThrough, fields.countedThrough),
      lastMessage: newest(r.lastMessage, fields.lastMessage),
      peer: fields.peer || r.peer,
      watched: watching || r.watched,
    };
  });
}

function addNotice(state, room, username, joined) {
  const afterId = room.messages.length ? room.messages[room.messages.length - 1].id : 0;
  const last = room.notices[room.notices.length - 1];
  if (last && sameUser(last.username, username) && last.afterId === afterId) {
    // Left and came straight back (a reconnect) with nothing said in between: nothing to show.
    if (!last.joined && joined) return { ...room, notices: room.notices.slice(0, -1) };
    if (last.joined === joined) return room;
  }
  const notice = { key: `n${state.noticeSeq}`, username, joined, afterId };
  return { ...room, notices: [...room.notices, notice].slice(-MAX_NOTICES) };
}

function withOnline(list, username, online) {
  const rest = list.filter((name) => !sameUser(name, username));
  return online ? [...rest, username] : rest;
}

function updateEntry(state, clientId, update) {
  let changed = false;
  const outbox = state.outbox.map((e) => {
    if (e.client_id !== clientId) return e;
    changed = true;
    return update(e);
  });
  return changed ? { ...state, outbox } : state;
}

function dropEntries(state, predicate) {
  const outbox = state.outbox.filter((e) => !predicate(e));
  return outbox.length === state.outbox.length ? state : { ...state, outbox };
}

// --- apply -------------------------------------------------------------------------------

export function apply(state, event) {
  switch (event.type) {
    // connection --------------------------------------------------------------------------
    case 'connected':
      return { ...state, connection: 'online' };

    case 'connect_failed':
      return { ...state, connection: 'unreachable' };

    case 'disconnected': {
      const rooms = {};
      for (const [name, room] of Object.entries(state.rooms)) {
        rooms[name] = {
          ...room,
          join: 'idle',
          live: false,
          watched: false,
          online: [],
          typing: [],
        };
      }
      const outbox = state.outbox.map((e) => (e.state === 'sending' ? { ...e, state: 'queued' } : e));
      return { ...state, connection: 'reconnecting', rooms, outbox };
    }

    case 'watch':
      return { ...state, watch: event.status };

    // the room list -----------------------------------------------------------------------
    case 'rooms_listed': {
      let next = state;
      const listed = new Set(event.rooms.map((s) => s.room));
      for (const summary of event.rooms) next = upsertSummary(next, summary, event.watching);
      const rooms = { ...next.rooms };
      let removed = false;
      for (const [name, room] of Object.entries(rooms)) {
        if (listed.has(name) || !room.member || name === next.current) continue;
        if (room.join === 'joined' || room.join === 'joining') continue;
        delete rooms[name]; // left in another tab, or removed elsewhere
        removed = true;
      }
      return removed ? { ...next, rooms } : next;
    }

    case 'room_added':
      return upsertSummary(state, event.summary, false);

    case 'room_removed': {
      if (!state.rooms[event.room]) return state;
      const rooms = { ...state.rooms };
      delete rooms[event.room];
      return { ...state, rooms, current: state.current === event.room ? null : state.current };
    }

    case 'presence': {
      let next = state;
      for (const room of Object.values(state.rooms)) {
        if (room.kind === 'direct' && sameUser(room.peer, event.username)) {
          next = withRoom(next, room.name, (r) => ({ ...r, peerOnline: event.online }));
        }
      }
      return next;
    }

    // opening, joining, leaving -----------------------------------------------------------
    case 'opened': {
      if (event.room === null) {
        const previous = state.current;
        const next = { ...state, current: null };
        return previous ? withRoom(next, previous, (r) => ({ ...r, dividerId: null })) : next;
      }
      let next = ensureRoom(state, event.room);
      if (event.title && next.rooms[event.room].kind === 'direct') {
        next = withRoom(next, event.room, (r) => ({ ...r, peer: event.title }));
      }
      if (state.current && state.current !== event.room) {
        next = withRoom(next, state.current, (r) => ({ ...r, dividerId: null }));
      }
      if (state.current !== event.room) {
        next = withRoom(next, event.room, (r) => ({ ...r, dividerPending: true, dividerId: null }));
      }
      return { ...next, current: event.room };
    }

    case 'join_started':
      return withRoom(state, event.room, (r) => ({
        ...r,
        join: 'joining',
        joinError: null,
        joinLastId: event.lastId ?? null,
      }));

    case 'joined':
      return withRoom(state, event.room, (r) => {
        const mine = Object.entries(event.seen || {}).find(([name]) => sameUser(name, state.me));
        let room = {
          ...r,
          join: 'joined',
          joinError: null,
          member: true,
          live: true,
          watched: r.watched || Boolean(event.watching), // a room joined while watching is watched
          online: event.online || [],
          seen: { ...r.seen, ...(event.seen || {}) },
          readId: mine ? Math.max(r.readId ?? 0, mine[1]) : r.readId,
        };
        if (!room.loaded) room = { ...room, loaded: true, hasMore: false }; // no history sent
        const lastId = room.messages.length ? room.messages[room.messages.length - 1].id : null;
        room.syncedId = lastId ?? room.joinLastId;
        room = recountUnread(state, room);
        if (room.dividerPending) {
          room = { ...room, dividerPending: false, dividerId: firstUnreadId(state, room) };
        }
        return room;
      });

    case 'join_failed':
      return withRoom(state, event.room, (r) => ({
        ...r,
        join: event.final ? 'failed' : 'retrying',
        joinError: event.error,
      }));

    case 'left':
      return withRoom(state, event.room, (r) => ({
        ...r,
        join: 'idle',
        live: r.live && r.watched, // watched rooms keep their events coming
        online: [],
        typing: [],
        dividerId: null,
        notices: [],
      }));

    // messages ----------------------------------------------------------------------------
    case 'history':
      return withRoom(state, event.room, (r) => {
        const incoming = event.messages;
        if (event.older) {
          const room = { ...addMessages(state, r, incoming), hasMore: event.has_more, loadingOlder: false };
          // The first unread message may be among the older ones.
          if (room.dividerId !== null && room.readId !== null) room.dividerId = firstUnreadId(state, room);
          return room;
        }
        if (event.reset || r.joinLastId === null) {
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

    case 'older_requested':
      return withRoom(state, event.room, (r) => ({ ...r, loadingOlder: true }));

    case 'older_failed':
      return withRoom(state, event.room, (r) => ({ ...r, loadingOlder: false }));

    case 'message': {
      const m = event.message;
      let next = ensureRoom(state, m.room, { member: true });
      const fresh = !hasMessage(next.rooms[m.room], m.id);
      next = withRoom(next, m.room, (r) => {
        let room = addMessages(next, r, [m]);
        if (room.live) room.syncedId = Math.max(room.syncedId ?? 0, m.id);
        room.typing = room.typing.filter((name) => !sameUser(name, m.username));
        const unnoticed = fresh && !isMine(next, m) && !event.attentive && r.name === next.current;
        if (unnoticed && room.dividerId === null && !room.dividerPending) {
          room.dividerId = m.id; // arrived while you were not looking
        }
        return room;
      });
      if (m.client_id && isMine(next, m)) {
        next = dropEntries(next, (e) => e.client_id === m.client_id && e.room === m.room);
      }
      return next;
    }

    case 'edited':
      return withRoom(state, event.message.room, (r) => {
        const m = event.message;
        const known = hasMessage(r, m.id);
        const lastMessage = r.lastMessage && r.lastMessage.id === m.id ? m : r.lastMessage;
        if (!known) return lastMessage === r.lastMessage ? r : { ...r, lastMessage };
        return { ...r, messages: mergeMessages(r.messages, [m]), lastMessage };
      });

    case 'deleted':
      return withRoom(state, event.room, (r) => {
        const i = indexOfId(r.messages, event.id);
        const lastMessage =
          r.lastMessage && r.lastMessage.id === event.id
            ? { ...r.lastMessage, deleted: true, message: null }
            : r.lastMessage;
        if (i === -1) return lastMessage === r.lastMessage ? r : { ...r, lastMessage };
        const old = r.messages[i];
        if (old.deleted) return r;
        const gone = { ...old, deleted: true, message: null };
        const messages = r.messages.slice();
        messages[i] = gone;
        const unread = countsUnread(state, r, old) ? Math.max(0, r.unread - 1) : r.unread;
        return { ...r, messages, unread, lastMessage };
      });

    case 'announced':
      return withRoom({ ...state, noticeSeq: state.noticeSeq + 1 }, event.room, (r) => {
        let room = { ...r, online: withOnline(r.online, event.username, event.joined) };
        if (!event.joined) room.typing = room.typing.filter((n) => !sameUser(n, event.username));
        room = addNotice(state, room, event.username, event.joined);
        return room;
      });

    case 'typing':
      return withRoom(state, event.room, (r) => {
        if (sameUser(event.username, state.me)) return r;
        const others = r.typing.filter((n) => !sameUser(n, event.username));
        if (!event.typing && others.length === r.typing.length) return r;
        return { ...r, typing: event.typing ? [...others, event.username] : others };
      });

    case 'seen_by':
      return withRoom(state, event.room, (r) => {
        const seen = { ...r.seen, [event.username]: Math.max(r.seen[event.username] ?? 0, event.message_id) };
        let room = { ...r, seen };
        if (sameUser(event.username, state.me)) {
          // Read in another tab of mine.
          room = recountUnread(state, { ...room, readId: Math.max(r.readId ?? 0, event.message_id) });
        }
        return room;
      });

    case 'read':
      return withRoom(state, event.room, (r) => {
        if (r.readId !== null && event.id <= r.readId) return r;
        return recountUnread(state, { ...r, readId: event.id });
      });

    // the outbox --------------------------------------------------------------------------
    case 'queued': {
      const entry = { state: 'queued', attempts: 0, retryAt: 0, error: null, ...event.entry };
      const next = { ...state, outbox: [...state.outbox, entry] };
      return withRoom(next, entry.room, (r) => ({ ...r, dividerId: null }));
    }

    case 'restored': {
      const have = new Set(state.outbox.map((e) => e.client_id));
      const fresh = event.entries
        .filter((e) => !have.has(e.client_id))
        .map((e) => ({ state: 'queued', attempts: 0, retryAt: 0, error: null, ...e }));
      if (!fresh.length) return state;
      const outbox = [...state.outbox, ...fresh].sort((a, b) => a.queued_at - b.queued_at);
      return { ...state, outbox };
    }

    case 'send_started':
      return updateEntry(state, event.client_id, (e) => ({
        ...e,
        state: 'sending',
        attempts: e.attempts + 1,
        error: null,
      }));

    case 'send_acked': {
      const entry = state.outbox.find((e) => e.client_id === event.client_id);
      if (!entry) return state;
      let next = dropEntries(state, (e) => e.client_id === event.client_id);
      // The ack is the record: show the message even if its broadcast was lost.
      const m = {
        id: event.id,
        room: entry.room,
        username: state.me,
        message: entry.text,
        created_at: event.created_at,
        edited_at: null,
        deleted: false,
        client_id: entry.client_id,
      };
      next = ensureRoom(next, entry.room, { member: true });
      return withRoom(next, entry.room, (r) => (hasMessage(r, m.id) ? r : addMessages(next, r, [m])));
    }

    case 'send_failed':
      return updateEntry(state, event.client_id, (e) => {
        // A late answer to an earlier attempt says nothing about the one in flight.
        if (event.attempt !== undefined && event.attempt !== e.attempts) return e;
        return {
          ...e,
          state: event.retryAt ? 'waiting' : 'failed',
          retryAt: event.retryAt || 0,
          error: event.error,
        };
      });

    case 'retry':
      return updateEntry(state, event.client_id, (e) => ({ ...e, state: 'queued', retryAt: 0, error: null }));

    case 'discarded':
      return dropEntries(state, (e) => e.client_id === event.client_id);

    default:
      throw new Error(`unknown store event ${event.type}`);
  }
}

// --- selectors ---------------------------------------------------------------------------

export function currentRoom(state) {
  return state.current ? state.rooms[state.current] || null : null;
}

export function totalUnread(state) {
  return Object.values(state.rooms).reduce((sum, r) => sum + (r.member ? r.unread : 0), 0);
}

export function roomLabel(room) {
  return room.kind === 'direct' ? `@${room.peer}` : `#${room.name}`;
}

function activity(room) {
  return room.lastMessage ? Date.parse(room.lastMessage.created_at) : 0;
}

// The room list: members' rooms of one kind, the most recently active first.
export function listedRooms(state, kind) {
  return Object.values(state.rooms)
    .filter((r) => r.member && r.kind === kind)
    .sort((a, b) => activity(b) - activity(a) || a.name.localeCompare(b.name));
}

export function outboxFor(state, room) {
  return state.outbox.filter((e) => e.room === room);
}

// What the sender should do now: send `entry`, wait `wait` ms, or nothing. One message
// at a time per room, in the order they were written.
export function nextToSend(state, now) {
  const room = currentRoom(state);
  if (!room || room.join !== 'joined' || state.connection !== 'online') return null;
  for (const entry of state.outbox) {
    if (entry.room !== room.name || entry.state === 'failed') continue;
    if (entry.state === 'sending') return null;
    if (entry.retryAt > now) return { wait: entry.retryAt - now };
    return { entry };
  }
  return null;
}

// "Seen by …" goes under my newest message, naming the others who have read that far.
export function seenLine(state, room) {
  const mine = [...room.messages].reverse().find((m) => isMine(state, m) && !m.deleted);
  if (!mine) return null;
  const readers = Object.entries(room.seen)
    .filter(([name, id]) => id >= mine.id && !sameUser(name, state.me))
    .map(([name]) => name)
    .sort((a, b) => a.localeCompare(b));
  return readers.length ? { id: mine.id, readers } : null;
}

// A desktop notification (and the sound) for someone else's message in another room,
// or for a direct message while you are not looking at the page.
export function shouldNotify(state, message, { looking }) {
  if (isMine(state, message) || message.deleted) return false;
  const room = state.rooms[message.room];
  if (message.room !== state.current) return true;
  return Boolean(room && room.kind === 'direct' && !looking);
}

export function lastOwnMessage(state, room) {
  return [...room.messages].reverse().find((m) => isMine(state, m) && !m.deleted) || null;
}

export function roomForPeer(state, peer) {
  return directRoomName(state.me, peer);
}
