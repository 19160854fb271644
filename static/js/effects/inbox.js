'use strict';

// Messages from the server: new, edited and deleted ones into the store, and for a new
// one from someone else the word beside it: read aloud in the open room, a notification
// (and the sound) where the attention view says so. A message that mentions me is told
// by the mentions effect instead (its `mentioned` comes to every connection).

import { messageLine } from '../attachments.js';
import { sameUser } from '../format.js';
import { mentionsMe } from '../state/mentions.js';
import { shouldNotify } from '../state/rooms.js';
import { hasMessage, timelineOf } from '../state/timeline.js';

// `atBottom()`: the conversation is scrolled to its newest message. `announce(text)` and
// `alert(state, message)` tell the person.
export function createInbox({ store, atBottom, announce, alert, page = document }) {
  const { dispatch, getState } = store;

  function received(m) {
    if (!m || typeof m.id !== 'number' || typeof m.room !== 'string') return;
    const before = getState();
    const known = timelineOf(before, m.room);
    const fresh = !known || !hasMessage(known, m.id);
    const visibleTab = page.visibilityState === 'visible';
    const attentive = m.room === before.rooms.current && visibleTab && atBottom();
    dispatch({ type: 'message', message: m, attentive });
    if (!fresh || sameUser(m.username, before.me) || m.deleted) return;
    const state = getState();
    if (m.room === state.rooms.current) announce(`${m.username}: ${messageLine(m)}`);
    if (mentionsMe(state, m)) return;
    if (shouldNotify(state, m, { looking: visibleTab && page.hasFocus() })) alert(state, m);
  }

  return {
    events: {
      recieve_message: received,
      message_edited: (m) => dispatch({ type: 'edited', message: m }),
      message_deleted: (d) => dispatch({ type: 'deleted', room: d.room, id: d.id }),
    },
  };
}
