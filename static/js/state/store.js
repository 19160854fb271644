'use strict';

// The page's state, as slices: each slice module owns one key of the state and says, in a
// pure `apply(state, event)`, what that key becomes after an event (it reads the whole
// state before the event, never another slice's result). This module composes them and
// holds the one current state: effects and user actions dispatch events, listeners hear
// each event at once, and subscribers (the views, the send pump) are called once per
// batch of changes, in a microtask.
//
// A feature with state of its own is one more slice here.

import * as compose from './compose.js';
import * as connection from './connection.js';
import * as mentions from './mentions.js';
import * as outbox from './outbox.js';
import * as owners from './owners.js';
import * as reactions from './reactions.js';
import * as reader from './reader.js';
import * as rooms from './rooms.js';
import * as search from './search.js';
import * as timeline from './timeline.js';
import * as uploads from './uploads.js';

const SLICES = Object.freeze({
  connection,
  rooms,
  timeline,
  outbox,
  reader,
  reactions,
  mentions,
  compose,
  search,
  owners,
  uploads,
});
const EVENTS = new Set(Object.values(SLICES).flatMap((slice) => slice.EVENTS));

export function initialState({ me, rooms: listed = [], current = null, title = null, online = true }) {
  let state = {
    me, // the signed-in username, as the page was given it: the same for the page's life
    connection: connection.initial({ online }),
    rooms: rooms.initial(),
    timeline: timeline.initial(),
    outbox: outbox.initial(),
    reader: reader.initial(),
    reactions: reactions.initial(),
    mentions: mentions.initial(),
    compose: compose.initial(),
    search: search.initial(),
    owners: owners.initial(),
    uploads: uploads.initial(),
  };
  state = apply(state, { type: 'rooms_listed', rooms: listed, watching: false });
  if (current) state = apply(state, { type: 'opened', room: current, title });
  return state;
}

// A new state, or the same one when no slice changed; the given state is never touched.
export function apply(state, event) {
  if (!EVENTS.has(event.type)) throw new Error(`unknown store event ${event.type}`);
  let next = state;
  for (const [key, slice] of Object.entries(SLICES)) {
    const value = slice.apply(state, event);
    if (value === state[key]) continue;
    if (next === state) next = { ...state };
    next[key] = value;
  }
  return next;
}

export function createStore(initial, { schedule = queueMicrotask } = {}) {
  let state = initial;
  let queued = false;
  const listeners = [];
  const subscribers = [];

  function flush() {
    queued = false;
    for (const subscriber of subscribers) subscriber(state);
  }

  return {
    getState: () => state,
    // Applies the event, tells every listener (event, state after, state before), and
    // queues one call of the subscribers if anything changed. A listener may dispatch in
    // turn; it reads getState() for what is current.
    dispatch(event) {
      const before = state;
      state = apply(state, event);
      const after = state;
      for (const listener of listeners) listener(event, after, before);
      if (after !== before && !queued) {
        queued = true;
        schedule(() => queued && flush());
      }
    },
    listen(listener) {
      listeners.push(listener);
    },
    subscribe(subscriber) {
      subscribers.push(subscriber);
    },
    flush, // at once, as at boot
  };
}
