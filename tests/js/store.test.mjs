// The store: the slices composed, and the one current state with its listeners.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { apply, createStore, initialState } from '../../static/js/state/store.js';
import { joined, msg, opened } from './fixtures.mjs';

describe('apply', () => {
  it('never changes the state it is given', () => {
    const before = joined(opened());
    const frozen = JSON.stringify(before);
    apply(before, { type: 'message', message: msg('general', 'bob', 'hi'), attentive: true });
    apply(before, { type: 'disconnected' });
    assert.equal(JSON.stringify(before), frozen);
  });

  it('refuses an event no slice knows', () => {
    assert.throws(() => apply(opened(), { type: 'mesage' }), /unknown store event mesage/);
  });

  it('the initial state lists the rooms and opens the one asked for', () => {
    const state = initialState({
      me: 'alice',
      rooms: [{ room: 'general', kind: 'public', unread: 2, last_message: null }],
      current: 'dm:alice:bob',
      title: 'Bob',
    });
    assert.deepEqual(Object.keys(state).sort(), [
      'compose',
      'connection',
      'me',
      'mentions',
      'outbox',
      'owners',
      'reactions',
      'reader',
      'rooms',
      'search',
      'timeline',
      'uploads',
    ]);
    assert.equal(state.rooms.current, 'dm:alice:bob');
    assert.equal(state.rooms.byName['dm:alice:bob'].peer, 'Bob');
    assert.equal(state.rooms.byName.general.member, true);
    assert.equal(state.timeline.byRoom.general.unread, 2);
    assert.deepEqual(Object.keys(state.timeline.byRoom).sort(), Object.keys(state.rooms.byName).sort());
  });
});

describe('createStore', () => {
  function store() {
    const queue = [];
    const s = createStore(opened(), { schedule: (fn) => queue.push(fn) });
    return { s, queue };
  }

  it('tells listeners of every event at once, and subscribers once per batch of changes', () => {
    const { s, queue } = store();
    const heard = [];
    const rendered = [];
    s.listen((event, after, before) => heard.push([event.type, after === s.getState(), before !== after]));
    s.subscribe((state) => rendered.push(state));
    s.dispatch({ type: 'watch', status: 'on' });
    s.dispatch({ type: 'watch', status: 'on' }); // no change: heard, nothing to render
    s.dispatch({ type: 'network', online: false });
    assert.deepEqual(heard, [
      ['watch', true, true],
      ['watch', true, false],
      ['network', true, true],
    ]);
    assert.equal(queue.length, 1);
    assert.equal(rendered.length, 0);
    queue.shift()();
    assert.deepEqual(rendered, [s.getState()]);
    assert.equal(s.getState().connection.online, false);
  });

  it('a flush at once makes the queued one unnecessary', () => {
    const { s, queue } = store();
    let renders = 0;
    s.subscribe(() => {
      renders += 1;
    });
    s.dispatch({ type: 'connect_failed' });
    s.flush();
    queue.shift()();
    assert.equal(renders, 1);
    s.dispatch({ type: 'connected' });
    assert.equal(queue.length, 1); // a new batch
  });

  it('a listener may dispatch in turn', () => {
    const { s } = store();
    s.listen((event) => {
      if (event.type === 'connected') s.dispatch({ type: 'watch', status: 'on' });
    });
    s.dispatch({ type: 'disconnected' });
    s.dispatch({ type: 'connected' });
    assert.deepEqual([s.getState().connection.status, s.getState().connection.watch], ['online', 'on']);
  });
});
