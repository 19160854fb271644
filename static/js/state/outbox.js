'use strict';

// The outbox slice: messages written here and not yet acknowledged by the server, oldest
// first, each {client_id, room, text, queued_at, state, attempts, retryAt, error} with
// state queued | sending | waiting (until retryAt) | failed (refused; retry or discard).
//
// `apply(state, event)` is pure: given the whole state before the event, it returns this
// slice after it (the same array when nothing changed).

import { sameUser } from '../format.js';

export function initial() {
  return [];
}

function fresh(entry) {
  return { state: 'queued', attempts: 0, retryAt: 0, error: null, ...entry };
}

function updateEntry(outbox, clientId, update) {
  let changed = false;
  const next = outbox.map((e) => {
    if (e.client_id !== clientId) return e;
    const updated = update(e);
    changed = changed || updated !== e;
    return updated;
  });
  return changed ? next : outbox;
}

function dropEntries(outbox, predicate) {
  const next = outbox.filter((e) => !predicate(e));
  return next.length === outbox.length ? outbox : next;
}

const handlers = {
  // What was in flight may or may not have arrived: it goes again, with its client_id.
  disconnected(outbox) {
    if (!outbox.some((e) => e.state === 'sending')) return outbox;
    return outbox.map((e) => (e.state === 'sending' ? { ...e, state: 'queued' } : e));
  },

  // My message arriving with its client_id: the server has it.
  message(outbox, event, state) {
    const m = event.message;
    if (!m.client_id || !sameUser(m.username, state.me)) return outbox;
    return dropEntries(outbox, (e) => e.client_id === m.client_id && e.room === m.room);
  },

  queued(outbox, event) {
    return [...outbox, fresh(event.entry)];
  },

  // Entries left unsent by an earlier page (from localStorage), each once.
  restored(outbox, event) {
    const have = new Set(outbox.map((e) => e.client_id));
    const entries = event.entries.filter((e) => !have.has(e.client_id)).map(fresh);
    if (!entries.length) return outbox;
    return [...outbox, ...entries].sort((a, b) => a.queued_at - b.queued_at);
  },

  send_started(outbox, event) {
    return updateEntry(outbox, event.client_id, (e) => ({
      ...e,
      state: 'sending',
      attempts: e.attempts + 1,
      error: null,
    }));
  },

  send_acked(outbox, event) {
    return dropEntries(outbox, (e) => e.client_id === event.client_id);
  },

  send_failed(outbox, event) {
    return updateEntry(outbox, event.client_id, (e) => {
      // A late answer to an earlier attempt says nothing about the one in flight.
      if (event.attempt !== undefined && event.attempt !== e.attempts) return e;
      return {
        ...e,
        state: event.retryAt ? 'waiting' : 'failed',
        retryAt: event.retryAt || 0,
        error: event.error,
      };
    });
  },

  retry(outbox, event) {
    return updateEntry(outbox, event.client_id, (e) => ({ ...e, state: 'queued', retryAt: 0, error: null }));
  },

  discarded(outbox, event) {
    return dropEntries(outbox, (e) => e.client_id === event.client_id);
  },
};

export const EVENTS = Object.freeze(Object.keys(handlers));

export function apply(state, event) {
  const handler = handlers[event.type];
  return handler ? handler(state.outbox, event, state) : state.outbox;
}

// --- selectors ---------------------------------------------------------------------------

export function outboxFor(state, room) {
  return state.outbox.filter((e) => e.room === room);
}

// What the sender should do now: send `entry`, wait `wait` ms, or nothing. One message
// at a time per room, in the order they were written, only in the open room once joined.
export function nextToSend(state, now) {
  const name = state.rooms.current;
  const room = name ? state.rooms.byName[name] : null;
  if (!room || room.join !== 'joined' || state.connection.status !== 'online') return null;
  for (const entry of state.outbox) {
    if (entry.room !== room.name || entry.state === 'failed') continue;
    if (entry.state === 'sending') return null;
    if (entry.retryAt > now) return { wait: entry.retryAt - now };
    return { entry };
  }
  return null;
}
