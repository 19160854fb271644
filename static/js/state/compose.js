'use strict';

// The compose slice: what the message box is doing beside holding text: editing one of my
// messages, or writing a reply to a message (its quote shows above the box and goes out
// with the message as reply_to). Both belong to the open room and end when it changes.
//
// `apply(state, event)` is pure: given the whole state before the event, it returns this
// slice after it (the same object when nothing changed).

export function initial() {
  return {
    editing: null, // the id of my message being edited
    replyTo: null, // {id, username, excerpt, deleted}: the message a reply answers
  };
}

const EMPTY = initial();

const handlers = {
  opened: (c, event, state) => (event.room === state.rooms.current ? c : EMPTY),
  room_removed: (c, event, state) => (event.room === state.rooms.current ? EMPTY : c),
  edit_started: (c, event) => ({ ...c, editing: event.id }),
  edit_ended: (c) => (c.editing === null ? c : { ...c, editing: null }),
  reply_started: (c, event) => ({
    ...c,
    replyTo: {
      id: event.message.id,
      username: event.message.username,
      excerpt: event.message.message === null ? null : [...event.message.message].slice(0, 120).join(''),
      deleted: Boolean(event.message.deleted),
    },
  }),
  reply_ended: (c) => (c.replyTo === null ? c : { ...c, replyTo: null }),
  // The reply went into the outbox with its quote.
  queued: (c) => (c.replyTo === null ? c : { ...c, replyTo: null }),
  // What it pointed at is gone.
  deleted(c, event, state) {
    if (event.room !== state.rooms.current) return c;
    let next = c;
    if (c.editing === event.id) next = { ...next, editing: null };
    if (c.replyTo && c.replyTo.id === event.id) next = { ...next, replyTo: null };
    return next;
  },
};

export const EVENTS = Object.freeze(Object.keys(handlers));

export function apply(state, event) {
  const handler = handlers[event.type];
  return handler ? handler(state.compose, event, state) : state.compose;
}
