'use strict';

// Read marks: mine go to the server (mark_seen) for what is on screen in a tab you can
// see, once per connection each; everyone's come back (messages_seen) for "Seen by".

import { request } from '../net/socket.js';
import { currentRoom } from '../state/rooms.js';
import { readMarkToSend } from '../state/reading.js';
import { timelineOf } from '../state/timeline.js';

// `visibleId()` is the newest message on screen (the conversation measures it), or null.
export function createReadMarks({ socket, store, visibleId, page = document }) {
  const { dispatch, getState } = store;

  function markSeen() {
    const state = getState();
    const room = currentRoom(state);
    if (!room || room.join !== 'joined' || page.visibilityState !== 'visible') return;
    const id = readMarkToSend(state, timelineOf(state, room.name), visibleId());
    if (id === null) return;
    dispatch({ type: 'read', room: room.name, id });
    request(socket, 'mark_seen', { room: room.name, message_id: id }).catch(() => {
      dispatch({ type: 'read_failed', room: room.name, id }); // sent again later
    });
  }

  page.addEventListener('visibilitychange', () => {
    if (page.visibilityState === 'visible') markSeen();
  });

  return {
    markSeen,
    events: {
      messages_seen: (d) =>
        dispatch({ type: 'seen_by', room: d.room, username: d.username, message_id: d.message_id }),
    },
  };
}
