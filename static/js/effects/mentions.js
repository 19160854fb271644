'use strict';

// Mentions of me: `mentioned` (on every connection, whether or not the room is open or
// watched) into the store and, unless I am reading that room, a notification; and the list
// of my mentions across rooms (GET /api/mentions) for the Mentions view, page by page.

import { sameUser } from '../format.js';

const PAGE = 30;
const REMEMBERED = 200; // message ids already notified, so that a message tells once

// `alert(state, message, {mention: true})` notifies; `looking()` says whether the person
// is looking at the page (visible and focused).
export function createMentions({ api, store, alert, looking }) {
  const { dispatch, getState } = store;
  const told = [];

  function notify(m) {
    const key = `${m.room}\n${m.id}`;
    if (told.includes(key)) return;
    told.push(key);
    if (told.length > REMEMBERED) told.shift();
    const state = getState();
    if (m.room === state.rooms.current && looking()) return;
    alert(state, m, { mention: true });
  }

  function mentioned(d) {
    const m = d.message;
    if (!m || typeof m.id !== 'number' || typeof m.room !== 'string' || sameUser(m.username, getState().me)) return;
    dispatch({ type: 'mentioned', room: m.room, message: m });
    if (!m.deleted) notify(m);
  }

  async function load({ more = false } = {}) {
    const list = getState().mentions.list;
    if (list.status === 'loading') return;
    const last = more && list.messages.length ? list.messages[list.messages.length - 1].id : null;
    dispatch({ type: 'mentions_requested', more });
    try {
      const page = await api.mentions({ beforeId: last, limit: PAGE });
      dispatch({ type: 'mentions_loaded', more, messages: page.messages, has_more: page.has_more });
    } catch (error) {
      dispatch({ type: 'mentions_failed', error: error.message });
    }
  }

  return { load, notify, events: { mentioned } };
}
