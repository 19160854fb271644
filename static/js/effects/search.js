'use strict';

// Searching messages (GET /api/search) on the search box's behalf: what is typed goes
// out once typing pauses (at once on Enter, or when the box opens on a query the list
// does not answer), only the newest request's answer is listed, "more results" asks for
// the page before the last result, and a refusal for searching too often (429) waits the
// time the server names, then asks again.

import { wantedQuery } from '../state/search.js';

export const PAUSE = 300; // ms of quiet typing before a query goes out
const PAGE = 20;
const LONGEST_WAIT = 60; // s: a retry_after beyond this is waited out by the person

export function createSearch({ api, store, pause = PAUSE, timers = globalThis }) {
  const { dispatch, getState } = store;
  let seq = 0;
  let timer = null;
  let asking = null; // {key, id}: the query on its way

  function cancel() {
    if (timer === null) return;
    timers.clearTimeout(timer);
    timer = null;
  }

  function later(fn, ms) {
    cancel();
    timer = timers.setTimeout(() => {
      timer = null;
      fn();
    }, ms);
  }

  // Sends what the box asks for, unless it is already listed or on its way (`again`:
  // send it even so); `more`: the page after the listed results.
  async function go({ more = false, again = false } = {}) {
    cancel();
    const state = getState();
    const s = state.search;
    let query;
    let beforeId = null;
    if (more) {
      if (s.status !== 'loaded' || !s.hasMore || s.more || !s.messages.length) return;
      query = s.query;
      beforeId = s.messages[s.messages.length - 1].id;
    } else {
      const wanted = wantedQuery(state);
      if (wanted.problem) return;
      const listed = s.query && s.query.key === wanted.key && s.status === 'loaded';
      if (!again && (listed || (asking && asking.key === wanted.key))) return;
      const { q, from, room, key } = wanted;
      query = { q, from, room, key };
    }
    const id = ++seq;
    if (!more) asking = { key: query.key, id };
    dispatch({ type: 'search_requested', seq: id, more });
    try {
      const page = await api.search({ q: query.q, room: query.room, from: query.from, beforeId, limit: PAGE });
      dispatch({ type: 'search_loaded', seq: id, query, more, messages: page.messages, has_more: page.has_more });
    } catch (failure) {
      const error = {
        status: failure.status ?? 0,
        code: failure.code ?? null,
        message: failure.message,
        retryAfter: failure.retryAfter ?? null,
      };
      dispatch({ type: 'search_failed', seq: id, query, more, error });
      const wait = error.retryAfter;
      if (error.status === 429 && wait !== null && wait <= LONGEST_WAIT && id === seq) {
        later(() => getState().search.open && go({ more, again: true }), Math.ceil(wait * 1000));
      }
    } finally {
      if (asking && asking.id === id) asking = null;
    }
  }

  return {
    // A new line in the box: asked for once typing pauses.
    type(text) {
      dispatch({ type: 'search_typed', text });
      cancel();
      if (!wantedQuery(getState()).problem) later(go, pause);
    },
    // Enter on the box: now, even when the list already answers it (it may be stale).
    submit: () => go({ again: true }),
    more: () => go({ more: true }),
    // Only the open room, or all of mine: asked for at once.
    scope(thisRoom) {
      dispatch({ type: 'search_scoped', thisRoom });
      go();
    },
    // Opening the box brings the list up to date (the open room may have changed).
    open() {
      dispatch({ type: 'search_opened' });
      go();
    },
    close() {
      cancel();
      dispatch({ type: 'search_closed' });
    },
    move: (by) => dispatch({ type: 'search_moved', by }),
    point: (index) => dispatch({ type: 'search_pointed', index }),
  };
}
