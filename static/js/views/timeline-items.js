'use strict';

// What the conversation shows, as a flat list of keyed items built from the store: day
// separators, the "new messages" divider, messages (grouped by author, with their
// reactions, the one opened in context marked), quiet join/leave notices, messages still
// being sent, and the ends of the history. When a message is opened in context far back,
// the items are that stretch of history, with newer pages below it. Pure, so it is tested
// without a browser; the view only turns items into nodes.

import { dayKey, dayLabel, GROUP_WINDOW_MS, sameUser } from '../format.js';
import { mentionsMe } from '../state/mentions.js';
import { outboxFor } from '../state/outbox.js';
import { canDeleteOthers } from '../state/owners.js';
import { reactionsOf } from '../state/reactions.js';
import { detachedOf } from '../state/reader.js';
import { roomLabel } from '../state/rooms.js';
import { seenLine } from '../state/reading.js';
import { timelineOf } from '../state/timeline.js';

// `meta` is the room's entry in the rooms slice; what was said in it is the timeline's.
export function timelineItems(state, meta, now = new Date()) {
  const live = timelineOf(state, meta.name);
  const items = [];
  if (!live) return items;
  const detached = detachedOf(state, meta.name);
  const room = detached
    ? { messages: detached.messages, loaded: true, hasMore: detached.hasMore, loadingOlder: detached.loading === 'older' }
    : live;
  if (room.loaded && room.hasMore === false) {
    items.push({ key: 'start', type: 'start', label: roomLabel(meta) });
  } else if (room.loaded && room.hasMore) {
    items.push({ key: 'older', type: 'older', loading: room.loadingOlder });
  }
  // A notice follows the newest message there was when it happened.
  const notices = detached ? [] : [...live.notices];
  const noticeItem = (n) => ({ key: n.key, type: 'notice', username: n.username, joined: n.joined });
  const first = room.messages.length ? room.messages[0].id : Infinity;
  while (notices.length && notices[0].afterId < first) items.push(noticeItem(notices.shift()));
  const seen = detached ? null : seenLine(state, live);
  const { highlight } = state.reader;
  const { editing } = state.compose;
  let day = null;
  let prev = null;
  room.messages.forEach((m, i) => {
    const key = dayKey(m.created_at);
    if (key !== day) {
      items.push({ key: `day-${key}`, type: 'day', label: dayLabel(m.created_at, now) });
      day = key;
      prev = null;
    }
    if (!detached && live.dividerId === m.id) {
      items.push({ key: 'divider', type: 'divider' });
      prev = null;
    }
    const continued =
      prev !== null &&
      sameUser(prev.username, m.username) &&
      Date.parse(m.created_at) - Date.parse(prev.created_at) < GROUP_WINDOW_MS;
    items.push({
      key: `m${m.id}`,
      type: 'message',
      message: m,
      mine: sameUser(m.username, state.me),
      continued,
      seenBy: seen && seen.id === m.id ? seen.readers : null,
      me: state.me,
      reactions: reactionsOf(state, m),
      mentionsMe: mentionsMe(state, m),
      highlight: highlight === m.id,
      editing: editing === m.id,
      canDelete: canDeleteOthers(state, meta.name, m), // someone else's, as a moderator
    });
    prev = m;
    const nextId = i + 1 < room.messages.length ? room.messages[i + 1].id : Infinity;
    while (notices.length && notices[0].afterId < nextId) {
      items.push(noticeItem(notices.shift()));
      prev = null;
    }
  });
  if (detached) {
    if (detached.hasNewer) items.push({ key: 'newer', type: 'newer', loading: detached.loading === 'newer' });
    return items;
  }
  for (const entry of outboxFor(state, live.name)) {
    items.push({ key: `p${entry.client_id}`, type: 'pending', entry });
  }
  return items;
}
