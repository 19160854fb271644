'use strict';

// Selectors of reading: who has read my newest message, my newest message, and which read
// mark is worth sending.

import { sameUser } from '../format.js';

// "Seen by …" goes under my newest message, naming the others who have read that far.
export function seenLine(state, room) {
  const mine = lastOwnMessage(state, room);
  if (!mine) return null;
  const readers = Object.entries(room.seen)
    .filter(([name, id]) => id >= mine.id && !sameUser(name, state.me))
    .map(([name]) => name)
    .sort((a, b) => a.localeCompare(b));
  return readers.length ? { id: mine.id, readers } : null;
}

export function lastOwnMessage(state, room) {
  return [...room.messages].reverse().find((m) => sameUser(m.username, state.me) && !m.deleted) || null;
}

// The read mark to send for `id` in `room`, or null when the server has it already
// (or a later one) from this connection.
export function readMarkToSend(state, room, id) {
  const known = state.timeline.readSent[room.name] ?? room.readId ?? 0;
  return id === null || id <= known ? null : id;
}
