'use strict';

// The connection slice: where the socket stands, whether the server watches every room of
// the user for this connection, whether the browser thinks it is online, and whether this
// tab is on its way out (signing out, or sent to sign in) and must not reconnect.
//
// `apply(state, event)` is pure: given the whole state before the event, it returns this
// slice after it (the same object when nothing changed).

export function initial({ online = true } = {}) {
  return {
    status: 'connecting', // connecting | online | reconnecting | unreachable
    watch: 'unknown', // unknown | on | unsupported
    generation: 0, // bumped by every connect and disconnect: older retries stop
    online, // what the browser says of the network (navigator.onLine)
    leaving: false, // signing out: nothing reconnects
  };
}

const handlers = {
  connected: (c) => ({ ...c, status: 'online', generation: c.generation + 1 }),
  connect_failed: (c) => (c.status === 'unreachable' ? c : { ...c, status: 'unreachable' }),
  disconnected: (c) => ({ ...c, status: 'reconnecting', generation: c.generation + 1 }),
  watch: (c, event) => (c.watch === event.status ? c : { ...c, watch: event.status }),
  network: (c, event) => (c.online === Boolean(event.online) ? c : { ...c, online: Boolean(event.online) }),
  leaving: (c) => (c.leaving ? c : { ...c, leaving: true }),
};

export const EVENTS = Object.freeze(Object.keys(handlers));

export function apply(state, event) {
  const handler = handlers[event.type];
  return handler ? handler(state.connection, event, state) : state.connection;
}
