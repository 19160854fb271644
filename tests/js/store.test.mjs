// The store: pure state changes for every server event and user action.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  apply,
  initialState,
  listedRooms,
  nextToSend,
  seenLine,
  shouldNotify,
  totalUnread,
} from '../../static/js/store.js';

let nextId = 100;
function msg(room, username, text, extra = {}) {
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

function summary(room, fields = {}) {
  return {
    room,
    kind: room.startsWith('dm:') ? 'direct' : 'public',
    unread: 0,
    last_message: null,
    ...fields,
  };
}

function run(state, ...events) {
  return events.reduce(apply, state);
}

function opened(room = 'general', rooms = [summary('general'), summary('random')]) {
  return run(initialState({ me: 'alice', rooms, current: room }), { type: 'connected' });
}

function joined(state, room = 'general', extra = {}) {
  return run(
    state,
    { type: 'join_started', room, lastId: extra.lastId ?? null },
    ...(extra.history
      ? [{ type: 'history', room, messages: extra.history, has_more: false, reset: false }]
      : []),
    { type: 'joined', room, online: ['alice'], seen: extra.seen || {} },
  );
}

describe('apply', () => {
  it('never changes the state it is given', () => {
    const before = joined(opened());
    const frozen = JSON.stringify(before);
    apply(before, { type: 'message', message: msg('general', 'bob', 'hi'), attentive: true });
    apply(before, { type: 'disconnected' });
    assert.equal(JSON.stringify(before), frozen);
  });

  it('counts a message from someone else in another room as unread', () => {
    let state = joined(opened());
    state = apply(state, { type: 'message', message: msg('random', 'bob', 'psst'), attentive: false });
    assert.equal(state.rooms.random.unread, 1);
    assert.equal(state.rooms.random.lastMessage.message, 'psst');
    assert.equal(totalUnread(state), 1);
  });

  it('does not count my own messages or the same message twice', () => {
    let state = joined(opened());
    const m = msg('random', 'bob', 'once');
    state = run(
      state,
      { type: 'message', message: m, attentive: false },
      { type: 'message', message: m, attentive: false },
      { type: 'message', message: msg('random', 'Alice', 'mine'), attentive: false },
    );
    assert.equal(state.rooms.random.unread, 1);
    assert.equal(state.rooms.random.messages.length, 2);
  });

  it('a message the room list already counted is not counted again', () => {
    const m = msg('random', 'bob', 'counted by the server');
    let state = joined(opened());
    state = run(
      state,
      {
        type: 'rooms_listed',
        rooms: [summary('general'), summary('random', { unread: 1, last_message: m })],
        watching: true,
      },
      { type: 'message', message: m, attentive: false },
    );
    assert.equal(state.rooms.random.unread, 1);
    state = apply(state, { type: 'message', message: msg('random', 'bob', 'newer'), attentive: false });
    assert.equal(state.rooms.random.unread, 2);
  });

  it('adds a room it did not know when its first message arrives', () => {
    let state = joined(opened());
    state = apply(state, {
      type: 'message',
      message: msg('dm:alice:carol', 'carol', 'hello'),
      attentive: false,
    });
    const room = state.rooms['dm:alice:carol'];
    assert.equal(room.kind, 'direct');
    assert.equal(room.peer, 'carol');
    assert.equal(room.member, true);
    assert.equal(room.unread, 1);
  });

  it('keeps messages in id order and replaces an edited one', () => {
    let state = joined(opened());
    const a = msg('general', 'bob', 'a');
    const b = msg('general', 'bob', 'b');
    state = run(
      state,
      { type: 'message', message: b, attentive: true },
      { type: 'message', message: a, attentive: true },
      { type: 'edited', message: { ...a, message: 'a!', edited_at: b.created_at } },
    );
    assert.deepEqual(
      state.rooms.general.messages.map((m) => m.message),
      ['a!', 'b'],
    );
  });

  it('a deleted unread message no longer counts', () => {
    let state = joined(opened());
    const m = msg('random', 'bob', 'oops');
    state = run(
      state,
      { type: 'message', message: m, attentive: false },
      { type: 'deleted', room: 'random', id: m.id },
    );
    assert.equal(state.rooms.random.unread, 0);
    assert.equal(state.rooms.random.lastMessage.deleted, true);
  });

  it('reading up to a message recounts what is still unread', () => {
    let state = joined(opened(), 'general', { seen: { alice: 0 } });
    const ms = [msg('general', 'bob', '1'), msg('general', 'bob', '2'), msg('general', 'bob', '3')];
    for (const m of ms) state = apply(state, { type: 'message', message: m, attentive: false });
    assert.equal(state.rooms.general.unread, 3);
    state = apply(state, { type: 'read', room: 'general', id: ms[1].id });
    assert.equal(state.rooms.general.unread, 1);
    // Never back.
    state = apply(state, { type: 'read', room: 'general', id: ms[0].id });
    assert.equal(state.rooms.general.readId, ms[1].id);
  });

  it('my read mark from another tab clears the count here too', () => {
    let state = joined(opened(), 'general', { seen: { alice: 0 } });
    const m = msg('general', 'bob', 'x');
    state = run(
      state,
      { type: 'message', message: m, attentive: false },
      { type: 'seen_by', room: 'general', username: 'ALICE', message_id: m.id },
    );
    assert.equal(state.rooms.general.unread, 0);
  });

  it('puts the divider at the first message newer than my read mark when a room opens', () => {
    const old = msg('general', 'bob', 'read already');
    const fresh = msg('general', 'bob', 'new');
    const state = joined(opened('general', [summary('general', { unread: 1 })]), 'general', {
      history: [old, fresh],
      seen: { alice: old.id },
    });
    assert.equal(state.rooms.general.dividerId, fresh.id);
  });

  it('a never-read room with more unread than loaded opens without a divider', () => {
    const page = [msg('general', 'bob', 'a'), msg('general', 'bob', 'b')];
    const state = joined(opened('general', [summary('general', { unread: 120 })]), 'general', {
      history: page,
    });
    assert.equal(state.rooms.general.dividerId, null);
    const few = joined(opened('general', [summary('general', { unread: 1 })]), 'general', {
      history: [msg('general', 'bob', 'c'), msg('general', 'bob', 'd')],
    });
    assert.equal(few.rooms.general.dividerId, few.rooms.general.messages[1].id);
  });

  it('older history can move the divider up to the real first unread message', () => {
    const read = msg('general', 'bob', 'read');
    const unreadOld = msg('general', 'bob', 'unread, older');
    const unreadNew = msg('general', 'bob', 'unread, newer');
    let state = opened();
    state = run(
      state,
      { type: 'join_started', room: 'general', lastId: null },
      { type: 'history', room: 'general', messages: [unreadNew], has_more: true, reset: false },
      { type: 'joined', room: 'general', online: [], seen: { alice: read.id } },
    );
    assert.equal(state.rooms.general.dividerId, unreadNew.id);
    state = apply(state, {
      type: 'history',
      room: 'general',
      messages: [read, unreadOld],
      has_more: false,
      older: true,
    });
    assert.equal(state.rooms.general.dividerId, unreadOld.id);
  });

  it('puts the divider at a message that arrives while I am not looking, and clears it when I write', () => {
    let state = joined(opened(), 'general', {
      history: [msg('general', 'bob', 'seen')],
      seen: { alice: nextId },
    });
    assert.equal(state.rooms.general.dividerId, null);
    const m = msg('general', 'bob', 'while scrolled up');
    state = apply(state, { type: 'message', message: m, attentive: false });
    assert.equal(state.rooms.general.dividerId, m.id);
    state = apply(state, { type: 'message', message: msg('general', 'bob', 'later'), attentive: false });
    assert.equal(state.rooms.general.dividerId, m.id);
    state = apply(state, {
      type: 'queued',
      entry: { client_id: 'c1', room: 'general', text: 'hi', queued_at: 1 },
    });
    assert.equal(state.rooms.general.dividerId, null);
  });

  it('switching rooms moves current and forgets the old divider', () => {
    let state = joined(opened(), 'general');
    state = apply(state, { type: 'message', message: msg('general', 'bob', 'x'), attentive: false });
    state = run(state, { type: 'left', room: 'general' }, { type: 'opened', room: 'random' });
    assert.equal(state.current, 'random');
    assert.equal(state.rooms.general.dividerId, null);
    assert.equal(state.rooms.general.join, 'idle');
  });

  it('a first history page replaces what was there but keeps a newer live message', () => {
    let state = opened();
    state = apply(state, { type: 'join_started', room: 'general', lastId: null });
    const live = msg('general', 'bob', 'overtook the history');
    const page = [msg('general', 'bob', 'p1'), msg('general', 'bob', 'p2')];
    page.forEach((m, i) => {
      m.id = live.id - 10 + i;
    });
    state = run(
      state,
      { type: 'message', message: live, attentive: true },
      { type: 'history', room: 'general', messages: page, has_more: true, reset: false },
      { type: 'joined', room: 'general', online: ['alice'], seen: {} },
    );
    assert.deepEqual(
      state.rooms.general.messages.map((m) => m.message),
      ['p1', 'p2', 'overtook the history'],
    );
    assert.equal(state.rooms.general.hasMore, true);
    assert.equal(state.rooms.general.syncedId, live.id);
  });

  it('a join without history means the room has none', () => {
    const state = joined(opened());
    assert.equal(state.rooms.general.loaded, true);
    assert.equal(state.rooms.general.hasMore, false);
  });

  it('a replay after a reconnect merges without duplicates and keeps has_more', () => {
    const a = msg('general', 'bob', 'a');
    let state = opened();
    state = run(
      state,
      { type: 'join_started', room: 'general', lastId: null },
      { type: 'history', room: 'general', messages: [a], has_more: true, reset: false },
      { type: 'joined', room: 'general', online: [], seen: {} },
      { type: 'disconnected' },
      { type: 'connected' },
    );
    assert.equal(state.rooms.general.live, false);
    const b = msg('general', 'bob', 'b');
    state = run(
      state,
      { type: 'join_started', room: 'general', lastId: a.id },
      { type: 'history', room: 'general', messages: [a, b], has_more: false, reset: false },
      { type: 'joined', room: 'general', online: [], seen: {} },
    );
    assert.deepEqual(
      state.rooms.general.messages.map((m) => m.message),
      ['a', 'b'],
    );
    assert.equal(state.rooms.general.hasMore, true);
    assert.equal(state.rooms.general.syncedId, b.id);
  });

  it('a watched room keeps syncing after it is left, an unwatched one does not', () => {
    let state = run(opened(), {
      type: 'rooms_listed',
      rooms: [summary('general'), summary('random')],
      watching: true,
    });
    state = joined(state, 'general');
    state = run(state, { type: 'left', room: 'general' }, { type: 'opened', room: 'random' });
    assert.equal(state.rooms.general.live, true);
    const m = msg('general', 'bob', 'while away');
    state = apply(state, { type: 'message', message: m, attentive: false });
    assert.equal(state.rooms.general.syncedId, m.id);
    state = apply(state, { type: 'disconnected' });
    state = apply(state, {
      type: 'message',
      message: msg('general', 'bob', 'after a gap'),
      attentive: false,
    });
    assert.equal(state.rooms.general.syncedId, m.id);
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
    assert.deepEqual(state.rooms.general.online, []);
    assert.equal(state.outbox[0].state, 'queued');
    assert.equal(state.connection, 'reconnecting');
  });

  it('join and leave show as quiet notices, and a reconnect (leave, then back) shows nothing', () => {
    let state = joined(opened(), 'general', { history: [msg('general', 'bob', 'x')] });
    state = run(
      state,
      { type: 'announced', room: 'general', username: 'carol', joined: true },
      { type: 'announced', room: 'general', username: 'carol', joined: false },
    );
    assert.deepEqual(state.rooms.general.online, ['alice']);
    assert.deepEqual(
      state.rooms.general.notices.map((n) => [n.username, n.joined]),
      [
        ['carol', true],
        ['carol', false],
      ],
    );
    state = apply(state, { type: 'message', message: msg('general', 'bob', 'y'), attentive: true });
    state = run(
      state,
      { type: 'announced', room: 'general', username: 'dave', joined: false },
      { type: 'announced', room: 'general', username: 'dave', joined: true },
    );
    assert.equal(state.rooms.general.notices.length, 2);
  });

  it('typing ends with a message from the typist', () => {
    let state = joined(opened());
    state = apply(state, { type: 'typing', room: 'general', username: 'bob', typing: true });
    assert.deepEqual(state.rooms.general.typing, ['bob']);
    state = apply(state, { type: 'message', message: msg('general', 'bob', 'done'), attentive: true });
    assert.deepEqual(state.rooms.general.typing, []);
  });

  it('room_removed takes a room off the list and closes it when open', () => {
    let state = joined(opened());
    state = apply(state, { type: 'room_removed', room: 'general' });
    assert.equal(state.rooms.general, undefined);
    assert.equal(state.current, null);
  });

  it('a fresh room list drops rooms left elsewhere but keeps the open one', () => {
    let state = joined(opened('brand-new', [summary('general'), summary('random')]), 'brand-new');
    state = apply(state, {
      type: 'rooms_listed',
      rooms: [summary('general', { unread: 4 })],
      watching: true,
    });
    assert.equal(state.rooms.random, undefined);
    assert.ok(state.rooms['brand-new']);
    assert.equal(state.rooms.general.unread, 4);
    assert.equal(state.rooms.general.watched, true);
  });

  it('presence_changed lights the dot of the direct room with that peer', () => {
    let state = opened('general', [
      summary('general'),
      summary('dm:alice:bob', { peer: 'Bob', peer_online: false }),
    ]);
    state = apply(state, { type: 'presence', username: 'BOB', online: true });
    assert.equal(state.rooms['dm:alice:bob'].peerOnline, true);
    assert.equal(state.rooms['dm:alice:bob'].peer, 'Bob');
  });
});

describe('the outbox', () => {
  const entry = (id, room = 'general', queued_at = 1) => ({
    client_id: id,
    room,
    text: `text ${id}`,
    queued_at,
  });

  it('sends one message at a time, in order, only in the joined open room', () => {
    let state = opened();
    state = run(state, { type: 'queued', entry: entry('c1') }, { type: 'queued', entry: entry('c2') });
    assert.equal(nextToSend(state, 0), null); // not joined yet
    state = joined(state);
    assert.equal(nextToSend(state, 0).entry.client_id, 'c1');
    state = apply(state, { type: 'send_started', client_id: 'c1' });
    assert.equal(nextToSend(state, 0), null); // c1 in flight
    state = apply(state, {
      type: 'send_acked',
      client_id: 'c1',
      id: 500,
      created_at: '2026-12-01T10:00:00.000Z',
    });
    assert.equal(nextToSend(state, 0).entry.client_id, 'c2');
  });

  it('an ack shows the message even when its broadcast never came', () => {
    let state = joined(opened());
    state = run(
      state,
      { type: 'queued', entry: entry('c1') },
      { type: 'send_started', client_id: 'c1' },
      { type: 'send_acked', client_id: 'c1', id: 900, created_at: '2026-12-01T10:00:00.000Z' },
    );
    assert.equal(state.outbox.length, 0);
    assert.deepEqual(
      state.rooms.general.messages.map((m) => [m.id, m.message, m.username]),
      [[900, 'text c1', 'alice']],
    );
    // The broadcast arriving late replaces it and adds nothing.
    state = apply(state, {
      type: 'message',
      message: { ...state.rooms.general.messages[0], username: 'alice' },
      attentive: true,
    });
    assert.equal(state.rooms.general.messages.length, 1);
  });

  it('a rate-limited message waits until retry_after, and holds the ones behind it', () => {
    let state = joined(opened());
    state = run(
      state,
      { type: 'queued', entry: entry('c1') },
      { type: 'queued', entry: entry('c2') },
      { type: 'send_started', client_id: 'c1' },
      {
        type: 'send_failed',
        client_id: 'c1',
        error: { code: 'rate_limited', message: 'slow down' },
        retryAt: 5000,
      },
    );
    assert.deepEqual(nextToSend(state, 1000), { wait: 4000 });
    assert.equal(nextToSend(state, 5000).entry.client_id, 'c1');
  });

  it('a refused message is set aside and does not hold up the others', () => {
    let state = joined(opened());
    state = run(
      state,
      { type: 'queued', entry: entry('c1') },
      { type: 'queued', entry: entry('c2') },
      {
        type: 'send_failed',
        client_id: 'c1',
        error: { code: 'too_long', message: 'too long' },
        retryAt: null,
      },
    );
    assert.equal(state.outbox[0].state, 'failed');
    assert.equal(nextToSend(state, 0).entry.client_id, 'c2');
    state = apply(state, { type: 'retry', client_id: 'c1' });
    assert.equal(nextToSend(state, 0).entry.client_id, 'c1');
    state = apply(state, { type: 'discarded', client_id: 'c1' });
    assert.deepEqual(
      state.outbox.map((e) => e.client_id),
      ['c2'],
    );
  });

  it('my message arriving with its client_id takes it out of the outbox', () => {
    let state = joined(opened());
    state = apply(state, { type: 'queued', entry: entry('c1') });
    state = apply(state, {
      type: 'message',
      message: msg('general', 'alice', 'text c1', { client_id: 'c1' }),
      attentive: true,
    });
    assert.equal(state.outbox.length, 0);
  });

  it('restored entries join the queue once, oldest first', () => {
    let state = opened();
    state = apply(state, { type: 'restored', entries: [entry('b', 'general', 2), entry('a', 'general', 1)] });
    state = apply(state, { type: 'restored', entries: [entry('a', 'general', 1)] });
    assert.deepEqual(
      state.outbox.map((e) => e.client_id),
      ['a', 'b'],
    );
  });
});

describe('selectors', () => {
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

  it('"seen by" names others who read my newest message, not me', () => {
    const mine = msg('general', 'alice', 'mine');
    const state = joined(opened(), 'general', {
      history: [msg('general', 'bob', 'x'), mine],
      seen: { alice: mine.id, bob: mine.id, carol: mine.id - 1 },
    });
    assert.deepEqual(seenLine(state, state.rooms.general), { id: mine.id, readers: ['bob'] });
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
