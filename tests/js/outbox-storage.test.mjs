// Unsent messages survive a reload, each under its own key.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { loadEntries, newClientId, persist } from '../../static/js/effects/outbox-storage.js';

class MemoryStorage {
  constructor() {
    this.map = new Map();
  }
  get length() {
    return this.map.size;
  }
  key(i) {
    return [...this.map.keys()][i] ?? null;
  }
  getItem(k) {
    return this.map.has(k) ? this.map.get(k) : null;
  }
  setItem(k, v) {
    this.map.set(k, String(v));
  }
  removeItem(k) {
    this.map.delete(k);
  }
}

const e = (id, queued_at, extra = {}) => ({
  client_id: id,
  room: 'general',
  text: `t${id}`,
  queued_at,
  state: 'queued',
  ...extra,
});

describe('outbox storage', () => {
  it('writes new entries, removes sent ones, and reads them back oldest first', () => {
    const storage = new MemoryStorage();
    persist(storage, 'Alice', [], [e('b', 2), e('a', 1)]);
    assert.deepEqual(
      loadEntries(storage, 'alice').map((x) => x.client_id),
      ['a', 'b'],
    );
    persist(storage, 'Alice', [e('b', 2), e('a', 1)], [e('b', 2, { state: 'sending' })]);
    assert.deepEqual(
      loadEntries(storage, 'alice').map((x) => x.client_id),
      ['b'],
    );
  });

  it('keeps only what is needed to resend, and only this user’s', () => {
    const storage = new MemoryStorage();
    persist(storage, 'alice', [], [e('a', 1, { error: { code: 'rate_limited' } })]);
    persist(storage, 'bob', [], [e('z', 1)]);
    assert.deepEqual(loadEntries(storage, 'alice'), [
      { client_id: 'a', room: 'general', text: 'ta', queued_at: 1 },
    ]);
  });

  it('drops what it cannot read', () => {
    const storage = new MemoryStorage();
    storage.setItem('chat-on-flask.outbox.alice.x', '{not json');
    storage.setItem('chat-on-flask.outbox.alice.y', '{"client_id": 3}');
    assert.deepEqual(loadEntries(storage, 'alice'), []);
    assert.equal(storage.getItem('chat-on-flask.outbox.alice.x'), null);
  });

  it('a storage that refuses writes does not break sending', () => {
    const storage = new MemoryStorage();
    storage.setItem = () => {
      throw new Error('QuotaExceededError');
    };
    assert.doesNotThrow(() => persist(storage, 'alice', [], [e('a', 1)]));
  });

  it('client ids are unique and fit the protocol’s 64 characters', () => {
    const ids = new Set(Array.from({ length: 100 }, () => newClientId()));
    assert.equal(ids.size, 100);
    assert.ok([...ids].every((id) => id.length <= 64));
    assert.ok(newClientId({}).length <= 64); // without crypto.randomUUID
  });
});
