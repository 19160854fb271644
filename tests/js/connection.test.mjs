// The connection slice: the socket's status, room watching, the network, leaving.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import * as connection from '../../static/js/state/connection.js';
import { apply, initialState } from '../../static/js/state/store.js';
import { entry, joined, opened, othersUnchanged, run } from './fixtures.mjs';

describe('the connection', () => {
  it('starts connecting, online as the browser says', () => {
    const state = initialState({ me: 'alice', online: false });
    assert.deepEqual(state.connection, {
      status: 'connecting',
      watch: 'unknown',
      generation: 0,
      online: false,
      leaving: false,
    });
  });

  it('every connect and disconnect is a new generation: older retries stop', () => {
    let state = initialState({ me: 'alice' });
    state = apply(state, { type: 'connected' });
    assert.deepEqual([state.connection.status, state.connection.generation], ['online', 1]);
    state = apply(state, { type: 'disconnected' });
    assert.deepEqual([state.connection.status, state.connection.generation], ['reconnecting', 2]);
    state = apply(state, { type: 'connect_failed' });
    assert.deepEqual([state.connection.status, state.connection.generation], ['unreachable', 2]);
  });

  it('a disconnect forgets who is online and puts messages in flight back in the queue', () => {
    let state = joined(opened());
    state = run(
      state,
      { type: 'announced', room: 'general', username: 'bob', joined: true },
      { type: 'queued', entry: { client_id: 'c1', room: 'general', text: 'hi', queued_at: 1 } },
      { type: 'send_started', client_id: 'c1' },
      { type: 'disconnected' },
    );
    assert.deepEqual(state.rooms.byName.general.online, []);
    assert.equal(state.outbox[0].state, 'queued');
    assert.equal(state.connection.status, 'reconnecting');
  });

  it('remembers whether the server watches rooms, and the network', () => {
    const state = opened();
    const watching = apply(state, { type: 'watch', status: 'on' });
    assert.equal(watching.connection.watch, 'on');
    othersUnchanged(assert, state, watching, 'connection');
    assert.equal(connection.apply(watching, { type: 'watch', status: 'on' }), watching.connection);
    const offline = apply(state, { type: 'network', online: false });
    assert.equal(offline.connection.online, false);
    assert.equal(connection.apply(state, { type: 'network', online: true }), state.connection);
  });

  it('once leaving, stays leaving', () => {
    const state = apply(opened(), { type: 'leaving' });
    assert.equal(state.connection.leaving, true);
    assert.equal(connection.apply(state, { type: 'leaving' }), state.connection);
    assert.equal(apply(state, { type: 'connected' }).connection.leaving, true);
  });

  it('leaves the slice as it was for events that are not its own', () => {
    const state = joined(opened());
    for (const event of [
      { type: 'queued', entry: entry('c1') },
      { type: 'opened', room: 'random' },
      { type: 'read', room: 'general', id: 1 },
    ]) {
      assert.equal(connection.apply(state, event), state.connection, event.type);
    }
  });
});
