'use strict';

// Opening a message in context (the original of a reply, a mention, where a reload left
// the reader): found among the open room's messages, or fetched with load_history's
// around_id once the room is joined; then paged both ways (before_id up, after_id down)
// until it meets the live end.

import { request } from '../net/socket.js';
import { hasMessage } from '../state/messages.js';
import { timelineOf } from '../state/timeline.js';

const PAGE = 50;

export function createReader({ socket, store }) {
  const { dispatch, getState } = store;
  let asked = null; // the target seq whose page is on its way

  // The target's page, once the room is joined (its own history may bring the message).
  function fetchAround() {
    const state = getState();
    const r = state.reader;
    if (r.loading !== 'around' || !r.target || asked === r.target.seq) return;
    const meta = state.rooms.byName[r.room];
    if (!meta || meta.join !== 'joined' || !socket.connected) return;
    const live = timelineOf(state, r.room);
    if (live && live.loaded && hasMessage(live, r.target.id)) {
      dispatch({ type: 'jump_found', room: r.room });
      return;
    }
    const { room, target } = r;
    asked = target.seq;
    request(socket, 'load_history', { room, around_id: target.id, limit: PAGE }).then(
      (res) =>
        dispatch({
          type: 'jump_loaded',
          room,
          id: target.id,
          messages: res.messages || [],
          has_more: Boolean(res.has_more),
          has_newer: Boolean(res.has_newer),
        }),
      () => dispatch({ type: 'reader_failed', room }),
    );
  }

  function page(direction) {
    const r = getState().reader;
    if (!r.detached || r.loading || !r.messages.length) return;
    if (direction === 'older' ? !r.hasMore : !r.hasNewer) return;
    const room = r.room;
    const from = direction === 'older' ? { before_id: r.messages[0].id } : { after_id: r.messages.at(-1).id };
    dispatch({ type: 'reader_requested', room, direction });
    request(socket, 'load_history', { room, ...from, limit: PAGE }).then(
      (res) =>
        dispatch({
          type: 'reader_page',
          room,
          direction,
          messages: res.messages || [],
          has_more: Boolean(res.has_more),
          has_newer: Boolean(res.has_newer),
        }),
      () => dispatch({ type: 'reader_failed', room }),
    );
  }

  store.listen((event) => {
    if (event.type === 'joined' || event.type === 'history' || event.type === 'jump_requested') fetchAround();
  });

  return {
    // Opens message `id` of `room` (the room is open, or opening); `highlight: false`
    // only scrolls there, `offset` puts it that many px below the top.
    jump(room, id, { highlight = true, offset = null } = {}) {
      dispatch({ type: 'jump_requested', room, id, highlight, offset });
    },
    older: () => page('older'),
    newer: () => page('newer'),
    detached: () => getState().reader.detached,
    backToLive: () => dispatch({ type: 'reader_closed' }),
  };
}
