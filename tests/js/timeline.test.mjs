// The timeline slice: messages per room, unread counts, read marks, the divider, notices.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { apply } from '../../static/js/state/store.js';
import { readMarkToSend, seenLine } from '../../static/js/state/reading.js';
import * as timeline from '../../static/js/state/timeline.js';
import { entry, joined, lastId, msg, opened, othersUnchanged, run, summary } from './fixtures.mjs';

const { totalUnread } = timeline;

describe('timeline: unread counts', () => {
  it('counts a message from someone else in another room as unread', () => {
    let state = joined(opened());
    state = apply(state, { type: 'message', message: msg('random', 'bob', 'psst'), attentive: false });
    assert.equal(state.timeline.byRoom.random.unread, 1);
    assert.equal(state.timeline.byRoom.random.lastMessage.message, 'psst');
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
    assert.equal(state.timeline.byRoom.random.unread, 1);
    assert.equal(state.timeline.byRoom.random.messages.length, 2);
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
    assert.equal(state.timeline.byRoom.random.unread, 1);
    state = apply(state, { type: 'message', message: msg('random', 'bob', 'newer'), attentive: false });
    assert.equal(state.timeline.byRoom.random.unread, 2);
  });

  it('the open room keeps its own count against an older room list', () => {
    let state = joined(opened(), 'general', { seen: { alice: 0 } });
    state = apply(state, { type: 'message', message: msg('general', 'bob', 'x'), attentive: false });
    state = apply(state, {
      type: 'rooms_listed',
      rooms: [summary('general', { unread: 7 }), summary('random', { unread: 2 })],
      watching: true,
    });
    assert.equal(state.timeline.byRoom.general.unread, 1);
    assert.equal(state.timeline.byRoom.random.unread, 2);
    assert.equal(totalUnread(state), 3);
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
      state.timeline.byRoom.general.messages.map((m) => m.message),
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
    assert.equal(state.timeline.byRoom.random.unread, 0);
    assert.equal(state.timeline.byRoom.random.lastMessage.deleted, true);
  });

  it('reading up to a message recounts what is still unread', () => {
    let state = joined(opened(), 'general', { seen: { alice: 0 } });
    const ms = [msg('general', 'bob', '1'), msg('general', 'bob', '2'), msg('general', 'bob', '3')];
    for (const m of ms) state = apply(state, { type: 'message', message: m, attentive: false });
    assert.equal(state.timeline.byRoom.general.unread, 3);
    state = apply(state, { type: 'read', room: 'general', id: ms[1].id });
    assert.equal(state.timeline.byRoom.general.unread, 1);
    // Never back.
    state = apply(state, { type: 'read', room: 'general', id: ms[0].id });
    assert.equal(state.timeline.byRoom.general.readId, ms[1].id);
  });

  it('my read mark from another tab clears the count here too', () => {
    let state = joined(opened(), 'general', { seen: { alice: 0 } });
    const m = msg('general', 'bob', 'x');
    state = run(
      state,
      { type: 'message', message: m, attentive: false },
      { type: 'seen_by', room: 'general', username: 'ALICE', message_id: m.id },
    );
    assert.equal(state.timeline.byRoom.general.unread, 0);
  });
});

describe('timeline: read marks sent', () => {
  it('a mark is sent once per connection; a failure or a reconnect forgets it was sent', () => {
    let state = joined(opened(), 'general', { seen: { alice: 0 } });
    const room = () => state.timeline.byRoom.general;
    assert.equal(readMarkToSend(state, room(), null), null); // nothing on screen
    assert.equal(readMarkToSend(state, room(), 5), 5);
    state = apply(state, { type: 'read', room: 'general', id: 5 });
    assert.equal(state.timeline.readSent.general, 5);
    assert.equal(readMarkToSend(state, room(), 5), null);
    assert.equal(readMarkToSend(state, room(), 6), 6);
    state = apply(state, { type: 'read_failed', room: 'general', id: 4 }); // an older one: no matter
    assert.equal(readMarkToSend(state, room(), 5), null);
    state = apply(state, { type: 'read_failed', room: 'general', id: 5 });
    assert.equal(state.timeline.readSent.general, undefined);
    assert.equal(readMarkToSend(state, room(), 5), null); // read here already: readId says so
    state = run(state, { type: 'read', room: 'general', id: 9 }, { type: 'connected' });
    assert.deepEqual(state.timeline.readSent, {});
  });

  it('a mark from another tab does not stop this connection sending its own', () => {
    let state = joined(opened(), 'general', { seen: { alice: 0 } });
    state = run(
      state,
      { type: 'read', room: 'general', id: 3 },
      { type: 'seen_by', room: 'general', username: 'alice', message_id: 8 },
    );
    // Sent 3 from here; another tab read up to 8: 6 still goes out from this one.
    assert.equal(readMarkToSend(state, state.timeline.byRoom.general, 6), 6);
    const next = apply(state, { type: 'read', room: 'general', id: 6 });
    assert.equal(next.timeline.readSent.general, 6);
    assert.equal(next.timeline.byRoom.general.readId, 8);
  });
});

describe('timeline: the divider', () => {
  it('puts the divider at the first message newer than my read mark when a room opens', () => {
    const old = msg('general', 'bob', 'read already');
    const fresh = msg('general', 'bob', 'new');
    const state = joined(opened('general', [summary('general', { unread: 1 })]), 'general', {
      history: [old, fresh],
      seen: { alice: old.id },
    });
    assert.equal(state.timeline.byRoom.general.dividerId, fresh.id);
  });

  it('a never-read room with more unread than loaded opens without a divider', () => {
    const page = [msg('general', 'bob', 'a'), msg('general', 'bob', 'b')];
    const state = joined(opened('general', [summary('general', { unread: 120 })]), 'general', {
      history: page,
    });
    assert.equal(state.timeline.byRoom.general.dividerId, null);
    const few = joined(opened('general', [summary('general', { unread: 1 })]), 'general', {
      history: [msg('general', 'bob', 'c'), msg('general', 'bob', 'd')],
    });
    assert.equal(few.timeline.byRoom.general.dividerId, few.timeline.byRoom.general.messages[1].id);
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
    assert.equal(state.timeline.byRoom.general.dividerId, unreadNew.id);
    state = apply(state, {
      type: 'history',
      room: 'general',
      messages: [read, unreadOld],
      has_more: false,
      older: true,
    });
    assert.equal(state.timeline.byRoom.general.dividerId, unreadOld.id);
  });

  it('puts the divider at a message that arrives while I am not looking, and clears it when I write', () => {
    let state = joined(opened(), 'general', {
      history: [msg('general', 'bob', 'seen')],
      seen: { alice: lastId() },
    });
    assert.equal(state.timeline.byRoom.general.dividerId, null);
    const m = msg('general', 'bob', 'while scrolled up');
    state = apply(state, { type: 'message', message: m, attentive: false });
    assert.equal(state.timeline.byRoom.general.dividerId, m.id);
    state = apply(state, { type: 'message', message: msg('general', 'bob', 'later'), attentive: false });
    assert.equal(state.timeline.byRoom.general.dividerId, m.id);
    state = apply(state, {
      type: 'queued',
      entry: { client_id: 'c1', room: 'general', text: 'hi', queued_at: 1 },
    });
    assert.equal(state.timeline.byRoom.general.dividerId, null);
  });

  it('opening a room waits for its join to place the divider; closing it forgets it', () => {
    let state = joined(opened());
    state = apply(state, { type: 'message', message: msg('general', 'bob', 'x'), attentive: false });
    const slice = timeline.apply(state, { type: 'opened', room: 'random' });
    assert.equal(slice.byRoom.general.dividerId, null);
    assert.equal(slice.byRoom.random.dividerPending, true);
    assert.equal(timeline.apply(state, { type: 'opened', room: null }).byRoom.general.dividerId, null);
    assert.equal(timeline.apply(state, { type: 'opened', room: 'general' }), state.timeline); // already open
  });
});

describe('timeline: history and replays', () => {
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
      state.timeline.byRoom.general.messages.map((m) => m.message),
      ['p1', 'p2', 'overtook the history'],
    );
    assert.equal(state.timeline.byRoom.general.hasMore, true);
    assert.equal(state.timeline.byRoom.general.syncedId, live.id);
  });

  it('a join without history means the room has none', () => {
    const state = joined(opened());
    assert.equal(state.timeline.byRoom.general.loaded, true);
    assert.equal(state.timeline.byRoom.general.hasMore, false);
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
    assert.equal(state.rooms.byName.general.live, false);
    const b = msg('general', 'bob', 'b');
    state = run(
      state,
      { type: 'join_started', room: 'general', lastId: a.id },
      { type: 'history', room: 'general', messages: [a, b], has_more: false, reset: false },
      { type: 'joined', room: 'general', online: [], seen: {} },
    );
    assert.deepEqual(
      state.timeline.byRoom.general.messages.map((m) => m.message),
      ['a', 'b'],
    );
    assert.equal(state.timeline.byRoom.general.hasMore, true);
    assert.equal(state.timeline.byRoom.general.syncedId, b.id);
  });

  it('a watched room keeps syncing after it is left, an unwatched one does not', () => {
    let state = run(opened(), {
      type: 'rooms_listed',
      rooms: [summary('general'), summary('random')],
      watching: true,
    });
    state = joined(state, 'general');
    state = run(state, { type: 'left', room: 'general' }, { type: 'opened', room: 'random' });
    assert.equal(state.rooms.byName.general.live, true);
    const m = msg('general', 'bob', 'while away');
    state = apply(state, { type: 'message', message: m, attentive: false });
    assert.equal(state.timeline.byRoom.general.syncedId, m.id);
    state = apply(state, { type: 'disconnected' });
    state = apply(state, {
      type: 'message',
      message: msg('general', 'bob', 'after a gap'),
      attentive: false,
    });
    assert.equal(state.timeline.byRoom.general.syncedId, m.id);
  });

  it('loading older history is marked while under way, and when it failed', () => {
    let state = joined(opened(), 'general', { history: [msg('general', 'bob', 'x')] });
    state = apply(state, { type: 'older_requested', room: 'general' });
    assert.equal(state.timeline.byRoom.general.loadingOlder, true);
    const slice = timeline.apply(state, { type: 'older_failed', room: 'general', at: 12345 });
    assert.equal(slice.byRoom.general.loadingOlder, false);
    assert.equal(slice.olderFailedAt, 12345);
  });
});

describe('timeline: notices and receipts', () => {
  it('join and leave show as quiet notices, and a reconnect (leave, then back) shows nothing', () => {
    let state = joined(opened(), 'general', { history: [msg('general', 'bob', 'x')] });
    state = run(
      state,
      { type: 'announced', room: 'general', username: 'carol', joined: true, membership: true },
      { type: 'announced', room: 'general', username: 'carol', joined: false, membership: true },
    );
    assert.deepEqual(state.rooms.byName.general.online, ['alice']);
    assert.deepEqual(
      state.timeline.byRoom.general.notices.map((n) => [n.username, n.joined]),
      [
        ['carol', true],
        ['carol', false],
      ],
    );
    state = apply(state, { type: 'message', message: msg('general', 'bob', 'y'), attentive: true });
    state = run(
      state,
      { type: 'announced', room: 'general', username: 'dave', joined: false, membership: true },
      { type: 'announced', room: 'general', username: 'dave', joined: true, membership: true },
    );
    assert.equal(state.timeline.byRoom.general.notices.length, 2);
  });

  it('opening or closing the room is no notice, nor is anything in a direct room', () => {
    let state = joined(opened());
    state = run(
      state,
      { type: 'announced', room: 'general', username: 'carol', joined: true },
      { type: 'announced', room: 'general', username: 'carol', joined: false, membership: false },
    );
    assert.deepEqual(state.timeline.byRoom.general.notices, []);
    state = joined(opened('dm:alice:bob', [summary('dm:alice:bob')]), 'dm:alice:bob');
    state = apply(state, { type: 'announced', room: 'dm:alice:bob', username: 'bob', joined: true, membership: true });
    assert.deepEqual(state.timeline.byRoom['dm:alice:bob'].notices, []);
  });

  it('notices have keys of their own, and leaving the room forgets them', () => {
    let state = joined(opened());
    state = run(
      state,
      { type: 'announced', room: 'general', username: 'carol', joined: true, membership: true },
      { type: 'announced', room: 'nowhere', username: 'carol', joined: true, membership: true },
      { type: 'announced', room: 'general', username: 'dave', joined: true, membership: true },
    );
    const keys = state.timeline.byRoom.general.notices.map((n) => n.key);
    assert.equal(new Set(keys).size, 2);
    assert.equal(state.timeline.noticeSeq, 3);
    assert.deepEqual(timeline.apply(state, { type: 'left', room: 'general' }).byRoom.general.notices, []);
  });

  it('"seen by" names others who read my newest message, not me', () => {
    const mine = msg('general', 'alice', 'mine');
    const state = joined(opened(), 'general', {
      history: [msg('general', 'bob', 'x'), mine],
      seen: { alice: mine.id, bob: mine.id, carol: mine.id - 1 },
    });
    assert.deepEqual(seenLine(state, state.timeline.byRoom.general), { id: mine.id, readers: ['bob'] });
  });

  it('leaves the slice as it was for events that are not its own', () => {
    const state = joined(opened());
    for (const event of [
      { type: 'watch', status: 'on' },
      { type: 'typing', room: 'general', username: 'bob', typing: true },
      { type: 'presence', username: 'bob', online: true },
      { type: 'send_started', client_id: 'c1' },
      { type: 'connected' }, // no marks sent yet
    ]) {
      assert.equal(timeline.apply(state, event), state.timeline, event.type);
    }
    const after = apply(state, { type: 'read', room: 'general', id: 1 });
    othersUnchanged(assert, state, after, 'timeline');
    const queued = apply(state, { type: 'queued', entry: entry('c1') });
    assert.equal(queued.timeline, state.timeline); // no divider to clear
  });
});
