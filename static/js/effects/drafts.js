'use strict';

// What you were writing, per room, in localStorage: a reload or another visit to the room
// finds it in the box again. Sending clears the room's draft, signing out every draft.

const PREFIX = 'chat-on-flask.draft.';

export function createDrafts({ storage, me }) {
  const mine = `${PREFIX}${me.toLowerCase()}.`;
  const key = (room) => mine + room;
  let stopped = false;

  return {
    load(room) {
      try {
        return storage.getItem(key(room)) || '';
      } catch {
        return '';
      }
    },
    save(room, text) {
      if (stopped) return;
      try {
        if (text.trim()) storage.setItem(key(room), text);
        else storage.removeItem(key(room));
      } catch {
        // Storage full or disabled: the draft lives as long as the page.
      }
    },
    clear(room) {
      try {
        storage.removeItem(key(room));
      } catch {
        // nothing kept, nothing to clear
      }
    },
    // Signing out: every draft of mine goes, and nothing is written after.
    clearAll() {
      stopped = true;
      try {
        const keys = [];
        for (let i = 0; i < storage.length; i += 1) {
          const k = storage.key(i);
          if (k && k.startsWith(mine)) keys.push(k);
        }
        keys.forEach((k) => storage.removeItem(k));
      } catch {
        // nothing kept, nothing to clear
      }
    },
  };
}
