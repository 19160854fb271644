// The rooms slice: the room list, the open room, joins, who is here and who is typing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import * as rooms from '../../static/js/state/rooms.js';
import { apply, initialState } from '../../static/js/state/store.js';
import { entry, joined, msg, opened, othersUnchanged, run, summary } from './fixtures.mjs';

const { listedRooms, shouldNotify } = rooms;

describe('rooms: the list and the open room', () => {
  it('adds a room it did not know when its first message arrives', () => {
    let state = joined(opened());
    state = apply(state, {
      type: 'message',
      message: msg('dm:alice:carol', 'carol', 'hello'),
      attentive: false,
    });
    const room = state.rooms.byName['dm:alice:carol'];
    assert.equal(room.kind, 'direct');
    assert.equal(room.peer, 'carol');
    assert.equal(room.member, true);
    assert.equal(state.timeline.byRoom['dm:alice:carol'].unread, 1);
  });

  it('switching rooms moves current and forgets the old divider', () => {
    let state = joined(opened(), 'general');
    state = apply(state, { type: 'message', message: msg('general', 'bob', 'x'), attentive: false });
    state = run(state, { type: 'left', room: 'general' }, { type: 'opened', room: 'random' });
    assert.equal(state.rooms.current, 'random');
    assert.equal(state.timeline.byRoom.general.dividerId, null);
    assert.equal(state.rooms.byName.general.join, 'idle');
  });

  it('room_removed takes a room off the list and closes it when open', () => {
    let state = joined(opened());
    state = apply(state, { type: 'room_removed', room: 'general' });
    assert.equal(state.rooms.byName.general, undefined);
    assert.equal(state.timeline.byRoom.general, undefined);
    assert.equal(state.rooms.current, null);
  });

  it('a fresh room list drops rooms left elsewhere but keeps the open one', () => {
    let state = joined(opened('brand-new', [summary('general'), summary('random')]), 'brand-new');
    state = apply(state, {
      type: 'rooms_listed',
      rooms: [summary('general', { unread: 4 })],
      watching: true,
    });
    assert.equal(state.rooms.byName.random, undefined);
    assert.equal(state.timeline.byRoom.random, undefined);
    assert.ok(state.rooms.byName['brand-new']);
    assert.equal(state.timeline.byRoom.general.unread, 4);
    assert.equal(state.rooms.byName.general.watched, true);
  });

  it('a fresh room list keeps the open room, rooms joined or being joined, and non-members’', () => {
    const listed = ['general', 'random', 'quiet', 'elsewhere'].map((name) => summary(name));
    let state = run(
      opened('general', listed),
      { type: 'join_started', room: 'general', lastId: null },
      { type: 'joined', room: 'general', online: [], seen: {} },
      { type: 'opened', room: 'lurking' }, // the reducer alone: general stays joined
      { type: 'opened', room: 'random' }, // lurking was opened, never a member's
      { type: 'join_started', room: 'random', lastId: null },
      { type: 'opened', room: 'elsewhere' }, // random is still being joined
    );
    state = apply(state, { type: 'rooms_listed', rooms: [], watching: true });
    const kept = ['elsewhere', 'general', 'lurking', 'random'];
    assert.deepEqual(Object.keys(state.rooms.byName).sort(), kept);
    assert.deepEqual(Object.keys(state.timeline.byRoom).sort(), kept);
  });

  it('opening a direct room by a peer’s name keeps the name as it was typed', () => {
    const state = apply(opened(), { type: 'opened', room: 'dm:alice:bob', title: 'Bob' });
    assert.equal(state.rooms.current, 'dm:alice:bob');
    assert.equal(state.rooms.byName['dm:alice:bob'].peer, 'Bob');
    assert.equal(state.rooms.byName['dm:alice:bob'].member, false);
    const none = apply(state, { type: 'opened', room: null });
    assert.equal(none.rooms.current, null);
  });

  it('lists rooms of a kind, the most recently active first', () => {
    const state = opened('general', [
      summary('general', {
        last_message: msg('general', 'bob', 'old', { created_at: '2026-11-01T00:00:00Z' }),
      }),
      summary('random', {
        last_message: msg('random', 'bob', 'new', { created_at: '2026-12-01T00:00:00Z' }),
      }),
      summary('quiet'),
      summary('dm:alice:bob'),
    ]);
    assert.deepEqual(
      listedRooms(state, 'public').map((r) => r.name),
      ['random', 'general', 'quiet'],
    );
    assert.deepEqual(
      listedRooms(state, 'direct').map((r) => r.name),
      ['dm:alice:bob'],
    );
  });

  it('notifies for another room, and for a direct message only while not looking', () => {
    let state = opened('dm:alice:bob', [summary('general'), summary('dm:alice:bob')]);
    state = joined(state, 'dm:alice:bob');
    assert.equal(shouldNotify(state, msg('general', 'bob', 'x'), { looking: true }), true);
    assert.equal(shouldNotify(state, msg('dm:alice:bob', 'bob', 'x'), { looking: true }), false);
    assert.equal(shouldNotify(state, msg('dm:alice:bob', 'bob', 'x'), { looking: false }), true);
    assert.equal(shouldNotify(state, msg('general', 'alice', 'x'), { looking: false }), false);
  });
});

describe('rooms: joining and leaving', () => {
  it('every open and every join makes an older join’s answer stale', () => {
    const state = opened();
    const seq = state.rooms.joinSeq;
    const started = rooms.apply(state, { type: 'join_started', room: 'general', lastId: 7 });
    assert.equal(started.joinSeq, seq + 1);
    assert.equal(started.byName.general.join, 'joining');
    assert.equal(started.byName.general.joinLastId, 7);
    assert.equal(rooms.apply(state, { type: 'opened', room: 'random' }).joinSeq, seq + 1);
    assert.equal(rooms.apply(state, { type: 'opened', room: null }).joinSeq, seq + 1);
  });

  it('a join makes the room a member’s, live, watched when joined while watching', () => {
    const state = run(opened('brand-new'), { type: 'join_started', room: 'brand-new', lastId: null });
    const slice = rooms.apply(state, {
      type: 'joined',
      room: 'brand-new',
      online: ['alice', 'bob'],
      seen: {},
      watching: true,
    });
    assert.deepEqual(
      [slice.byName['brand-new'].join, slice.byName['brand-new'].member, slice.byName['brand-new'].live],
      ['joined', true, true],
    );
    assert.equal(slice.byName['brand-new'].watched, true);
    assert.deepEqual(slice.byName['brand-new'].online, ['alice', 'bob']);
  });

  it('a failed join is retried or final, with its error', () => {
    const state = run(opened(), { type: 'join_started', room: 'general', lastId: null });
    const error = { code: 'timeout', message: 'the server did not answer' };
    const retrying = rooms.apply(state, { type: 'join_failed', room: 'general', error, final: false });
    assert.deepEqual([retrying.byName.general.join, retrying.byName.general.joinError], ['retrying', error]);
    const failed = rooms.apply(state, { type: 'join_failed', room: 'general', error, final: true });
    assert.equal(failed.byName.general.join, 'failed');
  });

  it('a disconnect leaves every room: not joined, not live, not watched, nobody here', () => {
    let state = run(opened(), {
      type: 'rooms_listed',
      rooms: [summary('general'), summary('random')],
      watching: true,
    });
    state = joined(state);
    const slice = rooms.apply(state, { type: 'disconnected' });
    for (const room of Object.values(slice.byName)) {
      assert.deepEqual(
        [room.join, room.live, room.watched, room.online, room.typing],
        ['idle', false, false, [], []],
        room.name,
      );
    }
  });

  it('typing ends with a message from the typist', () => {
    let state = joined(opened());
    state = apply(state, { type: 'typing', room: 'general', username: 'bob', typing: true });
    assert.deepEqual(state.rooms.byName.general.typing, ['bob']);
    state = apply(state, { type: 'message', message: msg('general', 'bob', 'done'), attentive: true });
    assert.deepEqual(state.rooms.byName.general.typing, []);
  });

  it('my own typing (from another tab) is never shown', () => {
    const state = joined(opened());
    const slice = rooms.apply(state, { type: 'typing', room: 'general', username: 'ALICE', typing: true });
    assert.equal(slice, state.rooms);
  });

  it('presence_changed lights the dot of the direct room with that peer', () => {
    let state = opened('general', [
      summary('general'),
      summary('dm:alice:bob', { peer: 'Bob', peer_online: false }),
    ]);
    state = apply(state, { type: 'presence', username: 'BOB', online: true });
    assert.equal(state.rooms.byName['dm:alice:bob'].peerOnline, true);
    assert.equal(state.rooms.byName['dm:alice:bob'].peer, 'Bob');
  });

  it('the ack of my message in a room I did not have puts it on my list', () => {
    let state = opened();
    state = apply(state, { type: 'queued', entry: entry('c1', 'elsewhere') });
    const slice = rooms.apply(state, {
      type: 'send_acked',
      client_id: 'c1',
      id: 5,
      created_at: '2026-12-01T10:00:00.000Z',
    });
    assert.equal(slice.byName.elsewhere.member, true);
    assert.equal(rooms.apply(state, { type: 'send_acked', client_id: 'nope', id: 6 }), state.rooms);
  });

  it('leaves the slice as it was for events that are not its own', () => {
    const state = joined(opened());
    for (const event of [
      { type: 'read', room: 'general', id: 3 },
      { type: 'watch', status: 'on' },
      { type: 'queued', entry: entry('c9') },
      { type: 'seen_by', room: 'general', username: 'bob', message_id: 3 },
    ]) {
      assert.equal(rooms.apply(state, event), state.rooms, event.type);
    }
    const after = apply(state, { type: 'presence', username: 'nobody', online: true });
    assert.equal(after, state); // nothing changed anywhere: the same state
    const typing = apply(state, { type: 'typing', room: 'general', username: 'bob', typing: true });
    othersUnchanged(assert, state, typing, 'rooms');
    assert.equal(initialState({ me: 'alice' }).rooms.current, null);
  });
});
