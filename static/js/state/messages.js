'use strict';

// Lists of messages as the slices keep them: sorted by id, one entry per id. Pure helpers
// shared by the timeline (the live end of each room) and the reader (a stretch of history
// opened around one message).

export function indexOfId(messages, id) {
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

export function findMessage(room, id) {
  const i = indexOfId(room.messages, id);
  return i === -1 ? null : room.messages[i];
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

// The list with message `id` replaced by `update(message)` (the same list when absent).
export function replaceMessage(list, id, update) {
  const i = indexOfId(list, id);
  if (i === -1) return list;
  const next = list.slice();
  next[i] = update(list[i]);
  return next;
}

export function newest(a, b) {
  if (!a) return b;
  if (!b) return a;
  return b.id >= a.id ? b : a;
}

// A deleted message as the server sends it: no text, no mentions, reactions or reply.
export function asDeleted(m) {
  return { ...m, deleted: true, message: null, mentions: [], reactions: [], reply_to: null };
}
