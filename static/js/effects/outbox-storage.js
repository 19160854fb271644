'use strict';

// Messages not yet acknowledged by the server survive a reload: each waits in
// localStorage under its own key (so two tabs never overwrite each other's) until the
// server has stored it. A resend keeps its client_id, which the server stores once.

const PREFIX = 'chat-on-flask.outbox.';

function prefix(me) {
  return `${PREFIX}${me.toLowerCase()}.`;
}

export function newClientId(cryptoImpl = globalThis.crypto) {
  if (cryptoImpl && cryptoImpl.randomUUID) return cryptoImpl.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

// The entries this user left unsent, oldest first.
export function loadEntries(storage, me) {
  const entries = [];
  const start = prefix(me);
  for (let i = 0; i < storage.length; i += 1) {
    const key = storage.key(i);
    if (!key || !key.startsWith(start)) continue;
    try {
      const e = JSON.parse(storage.getItem(key));
      if (e && typeof e.client_id === 'string' && typeof e.room === 'string' && typeof e.text === 'string') {
        const entry = { client_id: e.client_id, room: e.room, text: e.text, queued_at: Number(e.queued_at) || 0 };
        if (e.reply && Number.isInteger(e.reply.id)) entry.reply = e.reply;
        const files = Array.isArray(e.attachments) ? e.attachments.filter((a) => a && Number.isInteger(a.id)) : [];
        if (files.length) entry.attachments = files;
        entries.push(entry);
      }
    } catch {
      storage.removeItem(key); // not ours, or from an older page: nothing to resend
    }
  }
  return entries.sort((a, b) => a.queued_at - b.queued_at);
}

// Writes what was added to the outbox between two states and removes what left it.
export function persist(storage, me, before, after) {
  if (before === after) return;
  const was = new Map(before.map((e) => [e.client_id, e]));
  const now = new Set(after.map((e) => e.client_id));
  try {
    for (const e of after) {
      if (was.has(e.client_id)) continue;
      const { client_id, room, text, queued_at, reply, attachments } = e;
      storage.setItem(prefix(me) + client_id, JSON.stringify({ client_id, room, text, queued_at, reply, attachments }));
    }
    for (const id of was.keys()) if (!now.has(id)) storage.removeItem(prefix(me) + id);
  } catch {
    // Storage full or disabled (private mode): messages still go out, only not across reloads.
  }
}

// The store's outbox, kept in `storage`: what an earlier page left unsent goes out again,
// and from here on what joins the outbox is written, what leaves it removed.
export function keepOutbox({ store, storage }) {
  const me = store.getState().me;
  store.dispatch({ type: 'restored', entries: loadEntries(storage, me) });
  let saved = store.getState().outbox;
  store.listen(() => {
    const outbox = store.getState().outbox;
    persist(storage, me, saved, outbox);
    saved = outbox;
  });
}
