// What the state and effect tests share: messages, room summaries, a room opened and
// joined, a fake socket, a quiet store and a fake page.
import { apply, createStore, initialState } from '../../static/js/state/store.js';

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
  const slices = ['connection', 'rooms', 'timeline', 'outbox', 'reader', 'reactions', 'mentions', 'compose', 'search', 'owners', 'uploads'];
  for (const name of slices) {
    if (name !== key) assert.equal(after[name], before[name], `${name} changed`);
  }
}

// A Socket.IO client whose server answers each emit with `respond(event, payload)`: an
// ack object, or 'timeout' for none. `fire(name, data)` is the server (or the client
// library) emitting `name`.
export class FakeSocket {
  constructor(respond = () => ({ ok: true })) {
    this.connected = true;
    this.active = true;
    this.respond = respond;
    this.sent = [];
    this.handlers = new Map();
    this.disconnects = 0;
  }
  on(name, handler) {
    if (this.handlers.has(name)) throw new Error(`second handler for ${name}`);
    this.handlers.set(name, handler);
  }
  timeout() {
    return {
      emit: (event, payload, callback) => {
        this.sent.push({ event, payload });
        const reply = this.respond(event, payload);
        queueMicrotask(() =>
          reply === 'timeout' ? callback(new Error('operation has timed out')) : callback(null, reply),
        );
      },
    };
  }
  disconnect() {
    this.disconnects += 1;
    this.connected = false;
  }
  fire(name, data) {
    this.handlers.get(name)(data);
  }
  events(name) {
    return this.sent.filter((s) => s.event === name).map((s) => s.payload);
  }
}

// Lets every pending promise callback run.
export const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

// A store that renders nothing unless asked: effects under test see every event.
export function quietStore(state) {
  return createStore(state, { schedule: () => {} });
}

// What effects use of window and document, with nothing real behind it.
export function fakePage({ visible = true, search = '' } = {}) {
  const listeners = new Map();
  const page = {
    visibilityState: visible ? 'visible' : 'hidden',
    focused: true,
    pushed: [],
    assigned: [],
    intervals: [],
    location: {
      pathname: '/chat',
      search,
      href: `http://chat.test/chat${search}`,
      assign: (url) => page.assigned.push(url),
    },
    navigator: { onLine: true },
    history: {
      pushState: (data, title, url) => page.pushed.push(url),
      replaceState: () => {},
    },
    addEventListener: (name, fn) => listeners.set(name, [...(listeners.get(name) || []), fn]),
    dispatch: (name) => (listeners.get(name) || []).forEach((fn) => fn()),
    hasFocus: () => page.focused,
    setInterval: (fn, ms) => page.intervals.push({ fn, ms }),
  };
  page.document = page;
  return page;
}
