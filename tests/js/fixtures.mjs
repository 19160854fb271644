// What the state tests share: messages, room summaries and a room opened and joined.
import { apply, initialState } from '../../static/js/state/store.js';

let nextId = 100;

// The id the last msg() took.
export const lastId = () => nextId;

export function msg(room, username, text, extra = {}) {
  nextId += 1;
  return {
    id: nextId,
    room,
    username,
    message: text,
    created_at: new Date(Date.UTC(2026, 11, 1, 10, 0, nextId % 60)).toISOString(),
    edited_at: null,
    deleted: false,
    client_id: null,
    ...extra,
  };
}

export function summary(room, fields = {}) {
  return {
    room,
    kind: room.startsWith('dm:') ? 'direct' : 'public',
    unread: 0,
    last_message: null,
    ...fields,
  };
}

export function run(state, ...events) {
  return events.reduce(apply, state);
}

export function opened(room = 'general', rooms = [summary('general'), summary('random')]) {
  return run(initialState({ me: 'alice', rooms, current: room }), { type: 'connected' });
}

export function joined(state, room = 'general', extra = {}) {
  return run(
    state,
    { type: 'join_started', room, lastId: extra.lastId ?? null },
    ...(extra.history
      ? [{ type: 'history', room, messages: extra.history, has_more: false, reset: false }]
      : []),
    { type: 'joined', room, online: ['alice'], seen: extra.seen || {} },
  );
}

export const entry = (id, room = 'general', queued_at = 1) => ({
  client_id: id,
  room,
  text: `text ${id}`,
  queued_at,
});

// Every slice but `key` is the same object after `event`: a slice writes its own key only.
export function othersUnchanged(assert, before, after, key) {
  for (const name of ['connection', 'rooms', 'timeline', 'outbox']) {
    if (name !== key) assert.equal(after[name], before[name], `${name} changed`);
  }
}
