'use strict';

// The files waiting in a room's tray survive a reload, as its draft does: each finished
// upload waits in localStorage under its own key until a message takes it, it is removed,
// or you sign out. The server removes an upload no message took after 24 h, so one older
// than a day less an hour is not brought back.

const PREFIX = 'chat-on-flask.tray.';
export const KEEP_FOR = 23 * 3600 * 1000;

function prefix(me) {
  return `${PREFIX}${me.toLowerCase()}.`;
}

const done = (uploads) => uploads.filter((u) => u.state === 'done');

// This user's finished uploads still worth showing, oldest first.
export function loadTray(storage, me, now) {
  const found = [];
  const start = prefix(me);
  const stale = [];
  for (let i = 0; i < storage.length; i += 1) {
    const key = storage.key(i);
    if (!key || !key.startsWith(start)) continue;
    try {
      const u = JSON.parse(storage.getItem(key));
      const a = u && u.attachment;
      const fresh = u && typeof u.doneAt === 'number' && now - u.doneAt < KEEP_FOR;
      if (fresh && typeof u.key === 'string' && typeof u.room === 'string' && a && Number.isInteger(a.id)) {
        found.push({ key: u.key, room: u.room, name: String(a.name), size: Number(a.size) || 0, attachment: a, doneAt: u.doneAt });
      } else stale.push(key);
    } catch {
      stale.push(key);
    }
  }
  stale.forEach((key) => storage.removeItem(key));
  return found.sort((x, y) => x.doneAt - y.doneAt);
}

// Writes the uploads that finished between two states, removes those that left the tray.
export function persistTray(storage, me, before, after) {
  if (before === after) return;
  const was = new Set(done(before).map((u) => u.key));
  const now = new Set(done(after).map((u) => u.key));
  try {
    for (const u of done(after)) {
      if (was.has(u.key)) continue;
      const { key, room, attachment, doneAt } = u;
      storage.setItem(prefix(me) + key, JSON.stringify({ key, room, attachment, doneAt }));
    }
    for (const key of was) if (!now.has(key)) storage.removeItem(prefix(me) + key);
  } catch {
    // Storage full or disabled: the tray lives as long as the page.
  }
}

// The store's trays, kept in `storage`; clearAll() on signing out.
export function keepTray({ store, storage, clock = Date }) {
  const me = store.getState().me;
  let stopped = false;
  try {
    store.dispatch({ type: 'uploads_restored', uploads: loadTray(storage, me, clock.now()) });
  } catch {
    // Storage disabled: nothing to bring back.
  }
  let saved = store.getState().uploads;
  store.listen(() => {
    const uploads = store.getState().uploads;
    if (!stopped) persistTray(storage, me, saved, uploads);
    saved = uploads;
  });
  return {
    clearAll() {
      stopped = true;
      try {
        const keys = [];
        for (let i = 0; i < storage.length; i += 1) {
          const k = storage.key(i);
          if (k && k.startsWith(prefix(me))) keys.push(k);
        }
        keys.forEach((k) => storage.removeItem(k));
      } catch {
        // nothing kept, nothing to clear
      }
    },
  };
}
