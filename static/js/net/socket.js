'use strict';

// The socket layer: one table of the events the server sends, and the events the page
// sends as promises that settle on the ack, with a timeout and a retry policy. It knows
// nothing about the page; main.js gives it a Socket.IO client (tests give it a fake).

// WebSocket first: a closed tab is a closed socket the server sees at once (a long-poll
// left behind would keep you "online" until it times out). Long-polling remains the
// fallback where WebSocket cannot get through. No host: the page's own.
export function connect(io = globalThis.io) {
  return io({ transports: ['websocket', 'polling'], tryAllTransports: true });
}

export const ACK_TIMEOUT = 8000;

// Every event the server may send, once. listen() refuses handler tables that miss one,
// name another or handle one twice, so a new server event cannot be forgotten or
// misspelled.
export const SERVER_EVENTS = Object.freeze([
  'recieve_message', // a Message, to the room (the spelling is the protocol's)
  'rejoin_room', // {room, messages, has_more, reset}, to the joiner
  'message_edited', // a Message
  'message_deleted', // {room, id}
  'messages_seen', // {room, username, message_id}
  'typing_on', // {room, username, typing}
  'join_room_announcement', // {room, username, membership}
  'leave_room_announcement', // {room, username, membership}
  'reaction_changed', // {room, id, emoji, count, users}
  'mentioned', // {room, message}: to every connection of the user it mentions
  'chat_error', // {event, code, message}: a failure of an event sent without an ack
  'room_added', // a room Summary
  'room_removed', // {room, banned?, by?}: by someone's hand when `by` is there
  'room_updated', // {room, topic}: its topic changed
  'role_changed', // {room, username, role, by}: promoted or demoted
  'presence_changed', // {username, online}
  'signed_out', // {}: this session ended; the server disconnects next
]);

// One socket.on per server event. The handlers may come in several tables (each effect
// brings those of the events it owns); together they must name every event once.
export function listen(socket, ...tables) {
  const handlers = {};
  for (const table of tables) {
    for (const [name, handler] of Object.entries(table)) {
      if (name in handlers) throw new Error(`two handlers for ${name}`);
      handlers[name] = handler;
    }
  }
  const extra = Object.keys(handlers).filter((name) => !SERVER_EVENTS.includes(name));
  if (extra.length) throw new Error(`not a server event: ${extra.join(', ')}`);
  for (const name of SERVER_EVENTS) {
    const handler = handlers[name];
    if (typeof handler !== 'function') throw new Error(`no handler for ${name}`);
    socket.on(name, (data) => handler(data && typeof data === 'object' ? data : {}));
  }
}

export class RequestError extends Error {
  constructor(code, message, retryAfter = null) {
    super(message);
    this.name = 'RequestError';
    this.code = code; // a protocol error code, or 'timeout' / 'disconnected'
    this.retryAfter = retryAfter; // seconds, from a rate_limited error
  }
}

// Emits `event` and settles with the ack: resolves {ok: true, ...}, rejects a
// RequestError. Nothing is emitted while disconnected (Socket.IO would buffer it and
// send it again after the reconnect, beside our own retry).
export function request(socket, event, payload, { timeout = ACK_TIMEOUT } = {}) {
  return new Promise((resolve, reject) => {
    if (!socket.connected) {
      reject(new RequestError('disconnected', 'not connected'));
      return;
    }
    socket.timeout(timeout).emit(event, payload, (err, res) => {
      if (err) {
        reject(new RequestError('timeout', 'no answer from the server'));
      } else if (!res || typeof res !== 'object') {
        reject(new RequestError('internal_error', 'the server sent a malformed answer'));
      } else if (!res.ok) {
        const e = res.error || {};
        const after = typeof e.retry_after === 'number' && e.retry_after >= 0 ? e.retry_after : null;
        reject(new RequestError(e.code || 'internal_error', e.message || 'refused', after));
      } else {
        resolve(res);
      }
    });
  });
}

// Worth trying again: the server may say yes later. Anything else (invalid_payload,
// too_long, forbidden, not_found, …) will be refused again.
const TRANSIENT = new Set(['timeout', 'unavailable', 'internal_error', 'rate_limited']);

export function isTransient(error) {
  return TRANSIENT.has(error.code);
}

// How long to wait before attempt number `attempt` (0 = the first retry), or null
// when retrying is pointless. A rate limit says how long itself.
export function retryDelay(error, attempt, { base = 1000, max = 30000, random = Math.random } = {}) {
  if (!isTransient(error)) return null;
  if (error.code === 'rate_limited' && error.retryAfter !== null) {
    return Math.round(error.retryAfter * 1000) + 250; // a little after the window opens
  }
  const ceiling = Math.min(max, base * 2 ** attempt);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

// An older server answers an event it does not know with invalid_payload.
export function isUnknownEvent(error) {
  return error.code === 'invalid_payload' && /unknown event/i.test(error.message);
}

const defaultSleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// request() again after each transient failure, with backoff, while `active()` holds
// (a room switched away, a disconnect: the caller's own flow takes over). `onRetry`
// hears each failure and the wait before the next try.
export async function requestWithRetry(
  socket,
  event,
  payload,
  {
    retries = 6,
    timeout,
    active = () => true,
    onRetry = () => {},
    sleep = defaultSleep,
    delay = retryDelay,
  } = {},
) {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await request(socket, event, payload, { timeout });
    } catch (error) {
      const wait = attempt < retries && error.code !== 'disconnected' ? delay(error, attempt) : null;
      if (wait === null || !active()) throw error;
      onRetry(error, wait, attempt);
      await sleep(wait);
      if (!active()) throw error;
    }
  }
}
