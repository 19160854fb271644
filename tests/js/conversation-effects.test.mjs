// The effects of conversations against a fake server: reacting, opening a message in
// context, mentions and their notifications, drafts and the reading place.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { createDrafts } from '../../static/js/effects/drafts.js';
import { createMentions } from '../../static/js/effects/mentions.js';
import { createPlace } from '../../static/js/effects/place.js';
import { createReactions } from '../../static/js/effects/reactions.js';
import { createReader } from '../../static/js/effects/reader.js';
import { reactionsOf } from '../../static/js/state/reactions.js';
import { FakeSocket, joined, msg, opened, quietStore, settle } from './fixtures.mjs';

class MemoryStorage {
  constructor() {
    this.items = new Map();
  }
  get length() {
    return this.items.size;
  }
  key(i) {
    return [...this.items.keys()][i] ?? null;
  }
  getItem(key) {
    return this.items.has(key) ? this.items.get(key) : null;
  }
  setItem(key, value) {
    this.items.set(key, String(value));
  }
  removeItem(key) {
    this.items.delete(key);
  }
}

describe('reactions effect', () => {
  it('sends the emoji in the form the server knows and takes the ack as the change', async () => {
    const m = msg('general', 'bob', 'lunch?');
    const socket = new FakeSocket((event, p) => ({ ok: true, id: p.id, emoji: p.emoji, count: 1, users: ['alice'] }));
    const store = quietStore(joined(opened(), 'general', { history: [m] }));
    await createReactions({ socket, store }).react(m.id, '\u{1F44D}\uFE0F', true);
    assert.deepEqual(socket.events('react'), [{ room: 'general', id: m.id, emoji: '\u{1F44D}', on: true }]);
    assert.deepEqual(reactionsOf(store.getState(), m), [{ emoji: '\u{1F44D}', count: 1, users: ['alice'] }]);
  });

  it('a refusal says why in words', async () => {
    const socket = new FakeSocket(() => ({ ok: false, error: { code: 'limit_reached', message: 'x' } }));
    const store = quietStore(joined(opened()));
    await assert.rejects(createReactions({ socket, store }).react(1, '🎉', true), {
      message: 'a message takes at most 20 different emoji',
    });
  });
});

describe('reader effect', () => {
  it('asks for the page around a message once the room is joined, unless the join brought it', async () => {
    const socket = new FakeSocket((event) =>
      event === 'load_history' ? { ok: true, messages: [{ ...msg('general', 'bob', 'old'), id: 5 }], has_more: false, has_newer: true } : { ok: true },
    );
    const store = quietStore(opened());
    const reader = createReader({ socket, store });
    reader.jump('general', 5, { highlight: false, offset: 12 });
    assert.deepEqual(socket.events('load_history'), []); // not joined yet
    store.dispatch({ type: 'join_started', room: 'general', lastId: null });
    store.dispatch({ type: 'joined', room: 'general', online: [], seen: {} });
    assert.deepEqual(socket.events('load_history'), [{ room: 'general', around_id: 5, limit: 50 }]);
    await settle();
    const state = store.getState();
    assert.equal(state.reader.detached, true);
    assert.deepEqual(state.reader.target, { id: 5, seq: 1, offset: 12 });
    assert.equal(state.reader.highlight, null);
    reader.newer();
    assert.deepEqual(socket.events('load_history').at(-1), { room: 'general', after_id: 5, limit: 50 });
  });
});

describe('mentions effect', () => {
  function setup({ current = 'general', looking = true } = {}) {
    const alerts = [];
    const api = { mentions: async ({ beforeId }) => ({ messages: [msg('random', 'bob', `before ${beforeId}`)], has_more: false }) };
    const store = quietStore(joined(opened(current)));
    const mentions = createMentions({ api, store, alert: (state, m, options) => alerts.push([m.id, options]), looking: () => looking });
    return { alerts, store, mentions };
  }

  it('a mention elsewhere is counted and notified once', () => {
    const { alerts, store, mentions } = setup();
    const m = { ...msg('random', 'bob', '@alice'), mentions: ['alice'] };
    mentions.events.mentioned({ room: 'random', message: m });
    mentions.events.mentioned({ room: 'random', message: m });
    assert.deepEqual(alerts, [[m.id, { mention: true }]]);
    assert.equal(store.getState().mentions.byRoom.random.ids.length, 1);
  });

  it('no notification for the room I am reading', () => {
    const { alerts, mentions } = setup();
    mentions.events.mentioned({ room: 'general', message: { ...msg('general', 'bob', '@alice'), mentions: ['alice'] } });
    assert.deepEqual(alerts, []);
  });

  it('loads the list, then older pages', async () => {
    const { store, mentions } = setup();
    await mentions.load();
    await mentions.load({ more: true });
    const list = store.getState().mentions.list;
    assert.equal(list.status, 'loaded');
    assert.equal(list.messages.length, 2);
    assert.match(list.messages[1].message, /^before \d+$/);
  });
});

describe('drafts and the reading place', () => {
  it('a draft per room and user, gone when sent, all gone on signing out', () => {
    const storage = new MemoryStorage();
    const drafts = createDrafts({ storage, me: 'Alice' });
    drafts.save('general', 'half a thought');
    drafts.save('random', 'another');
    assert.equal(createDrafts({ storage, me: 'alice' }).load('general'), 'half a thought');
    assert.equal(createDrafts({ storage, me: 'bob' }).load('general'), '');
    drafts.clear('general');
    assert.equal(drafts.load('general'), '');
    drafts.clearAll();
    drafts.save('general', 'typed while the page leaves');
    assert.equal(storage.length, 0);
  });

  it('keeps the place away from the bottom only', () => {
    const storage = new MemoryStorage();
    const place = createPlace({ storage, me: 'alice' });
    place.save({ room: 'general', id: 40, offset: 12.4, atBottom: false });
    assert.deepEqual(place.restore('general'), { id: 40, offset: 12 });
    place.save({ room: 'general', id: 90, offset: 0, atBottom: true });
    assert.equal(place.restore('general'), null);
    storage.setItem('chat-on-flask.place.alice.random', 'not json');
    assert.equal(place.restore('random'), null);
  });
});
