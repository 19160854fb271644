// Joins against a fake server: watching rooms, joining and rejoining with last_id,
// dropping answers the page no longer wants, finding rooms.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { createJoins, joinErrorText } from '../../static/js/effects/joins.js';
import { FakeSocket, fakePage, msg, opened, quietStore, settle, summary } from './fixtures.mjs';

function server(overrides = {}) {
  return (event, payload) => {
    if (event in overrides) return overrides[event](payload);
    if (event === 'watch_rooms') return { ok: true, rooms: [summary('general'), summary('random')] };
    if (event === 'joined_room') return { ok: true, room: payload.room, online: ['alice'], seen: {} };
    return { ok: true };
  };
}

function setup(respond = server(), { state = opened(), api = { rooms: async () => [] } } = {}) {
  const socket = new FakeSocket(respond);
  const store = quietStore(state);
  const page = fakePage();
  const joins = createJoins({ socket, api, store, page });
  return { socket, store, page, joins };
}

describe('joins', () => {
  it('a connection watches every room and joins the open one', async () => {
    const { socket, store } = setup();
    store.dispatch({ type: 'connected' });
    assert.deepEqual(
      socket.sent.map((s) => s.event),
      ['watch_rooms', 'joined_room'],
    );
    assert.deepEqual(socket.events('joined_room'), [{ room: 'general' }]);
    await settle();
    const state = store.getState();
    assert.equal(state.connection.watch, 'on');
    assert.equal(state.rooms.byName.general.join, 'joined');
    assert.equal(state.rooms.byName.general.watched, true);
  });

  it('after a reconnect the join asks for what came after the last message it has', async () => {
    const { socket, store } = setup();
    store.dispatch({ type: 'connected' });
    await settle();
    const m = msg('general', 'bob', 'before the gap');
    store.dispatch({ type: 'message', message: m, attentive: true });
    store.dispatch({ type: 'disconnected' });
    store.dispatch({ type: 'connected' });
    assert.deepEqual(socket.events('joined_room').at(-1), { room: 'general', last_id: m.id });
  });

  it('an answer that comes after the page moved on is dropped, and the room left', async () => {
    const { socket, store, joins, page } = setup();
    store.dispatch({ type: 'connected' });
    joins.openRoom('random');
    await settle();
    // Once as it is left while joining, once more as its late answer comes.
    assert.deepEqual(socket.events('leave_room'), [{ room: 'general' }, { room: 'general' }]);
    const state = store.getState();
    assert.equal(state.rooms.byName.general.join, 'idle');
    assert.equal(state.rooms.byName.random.join, 'joined');
    assert.deepEqual(page.pushed, ['/chat?room=random']);
  });

  it('a refused join says why, in the server\'s words for a room by name', async () => {
    const refuse = server({
      joined_room: () => ({ ok: false, error: { code: 'forbidden', message: 'you are banned from general' } }),
    });
    const { store } = setup(refuse);
    store.dispatch({ type: 'connected' });
    await settle();
    const room = store.getState().rooms.byName.general;
    assert.deepEqual([room.join, room.joinError.message], ['failed', 'you are banned from general']);
  });

  it('a direct room of two others is a plain no', () => {
    const error = { code: 'forbidden', message: 'x' };
    assert.equal(joinErrorText(error, null, 'dm:bob:carol'), 'it belongs to two other people');
    assert.equal(joinErrorText(error, 'carol'), 'it belongs to two other people');
    assert.equal(joinErrorText(error, null, 'team'), 'x');
  });

  it('an older server that cannot watch rooms: the list comes from the API', async () => {
    const old = server({
      watch_rooms: () => ({
        ok: false,
        error: { code: 'invalid_payload', message: "unknown event 'watch_rooms'" },
      }),
    });
    const listed = [summary('general'), summary('from-the-api')];
    const { store, page } = setup(old, { api: { rooms: async () => listed } });
    store.dispatch({ type: 'connected' });
    await settle();
    assert.equal(store.getState().connection.watch, 'unsupported');
    assert.ok(store.getState().rooms.byName['from-the-api']);
    assert.deepEqual(
      page.intervals.map((i) => i.ms),
      [30000],
    );
  });

  it('finds a room to open: known ones at once, others once the server has them', async () => {
    const { socket, joins } = setup(
      server({
        joined_room: (p) =>
          p.peer === 'nobody'
            ? { ok: false, error: { code: 'not_found', message: 'no' } }
            : { ok: true, room: p.room || 'dm:alice:bob' },
      }),
    );
    assert.deepEqual(await joins.find({ room: 'random' }), { room: 'random', title: null });
    assert.deepEqual(socket.sent, []);
    assert.deepEqual(await joins.find({ peer: 'Bob' }), { room: 'dm:alice:bob', title: 'Bob' });
    assert.deepEqual(socket.events('joined_room'), [{ peer: 'Bob' }]);
    await assert.rejects(joins.find({ peer: 'nobody' }), {
      message: 'Could not open a chat with nobody: there is no user named nobody.',
    });
  });

  it('removing the open room closes it; a room it does not have is left alone', async () => {
    const removed = [];
    const api = { rooms: async () => [], removeMembership: async (r) => removed.push(r) };
    const { store, joins, page } = setup(server(), { api });
    assert.equal(await joins.removeRoom('nowhere'), false);
    assert.equal(await joins.removeRoom('general'), true);
    assert.deepEqual(removed, ['general']);
    assert.equal(store.getState().rooms.current, null);
    assert.equal(store.getState().rooms.byName.general, undefined);
    assert.deepEqual(page.pushed, ['/']);
  });
});
