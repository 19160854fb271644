// The conversation's items: day separators, divider, grouping, notices, pending sends.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { apply, initialState } from '../../static/js/state/store.js';
import { timelineItems } from '../../static/js/views/timeline-items.js';

const at = (day, hour, minute) => new Date(2026, 11, day, hour, minute).toISOString();
let id = 0;
const msg = (username, created_at, extra = {}) => {
  id += 1;
  return {
    id,
    room: 'general',
    username,
    message: `m${id}`,
    created_at,
    edited_at: null,
    deleted: false,
    client_id: null,
    ...extra,
  };
};

function roomWith(messages, { hasMore = false, seen = {}, events = [] } = {}) {
  let state = initialState({
    me: 'alice',
    rooms: [{ room: 'general', kind: 'public', unread: 0, last_message: null }],
    current: 'general',
  });
  state = [
    { type: 'connected' },
    { type: 'join_started', room: 'general', lastId: null },
    { type: 'history', room: 'general', messages, has_more: hasMore, reset: false },
    { type: 'joined', room: 'general', online: [], seen },
    ...events,
  ].reduce(apply, state);
  return state;
}

const kinds = (items) =>
  items.map((i) => (i.type === 'message' ? `${i.message.username}${i.continued ? '+' : ''}` : i.type));

describe('timelineItems', () => {
  it('separates days and groups one author within a few minutes', () => {
    const state = roomWith([
      msg('bob', at(1, 9, 0)),
      msg('bob', at(1, 9, 2)),
      msg('bob', at(1, 9, 30)), // too long after: a new group
      msg('carol', at(1, 9, 31)),
      msg('carol', at(2, 8, 0)), // a new day: a new group
    ]);
    assert.deepEqual(kinds(timelineItems(state, state.rooms.byName.general, new Date(2026, 11, 2, 12))), [
      'start',
      'day',
      'bob',
      'bob+',
      'bob',
      'carol',
      'day',
      'carol',
    ]);
  });

  it('offers older history while there is more, and marks the beginning when there is not', () => {
    let state = roomWith([msg('bob', at(1, 9, 0))], { hasMore: true });
    assert.equal(timelineItems(state, state.rooms.byName.general)[0].type, 'older');
    state = roomWith([msg('bob', at(1, 9, 0))]);
    const first = timelineItems(state, state.rooms.byName.general)[0];
    assert.deepEqual([first.type, first.label], ['start', '#general']);
  });

  it('puts the divider before the first unread message, breaking the group', () => {
    const a = msg('bob', at(1, 9, 0));
    const b = msg('bob', at(1, 9, 1));
    const state = roomWith([a, b], { seen: { alice: a.id } });
    assert.deepEqual(kinds(timelineItems(state, state.rooms.byName.general)), [
      'start',
      'day',
      'bob',
      'divider',
      'bob',
    ]);
  });

  it('shows notices after the message they followed and pending sends last', () => {
    const a = msg('bob', at(1, 9, 0));
    const state = roomWith([a], {
      events: [
        { type: 'announced', room: 'general', username: 'carol', joined: true, membership: true },
        { type: 'queued', entry: { client_id: 'c1', room: 'general', text: 'hi', queued_at: 1 } },
      ],
    });
    const items = timelineItems(state, state.rooms.byName.general);
    assert.deepEqual(kinds(items), ['start', 'day', 'bob', 'notice', 'pending']);
    assert.equal(items[3].username, 'carol');
    assert.equal(items[4].entry.text, 'hi');
  });

  it('a notice from before the first loaded message comes first', () => {
    let state = roomWith([]);
    state = apply(state, { type: 'announced', room: 'general', username: 'carol', joined: true, membership: true });
    state = apply(state, { type: 'message', message: msg('bob', at(1, 9, 0)), attentive: true });
    assert.deepEqual(kinds(timelineItems(state, state.rooms.byName.general)), [
      'start',
      'notice',
      'day',
      'bob',
    ]);
  });

  it('keys stay the same between renders, so nodes can be kept', () => {
    const state = roomWith([msg('bob', at(1, 9, 0)), msg('bob', at(1, 9, 1))]);
    const keys = timelineItems(state, state.rooms.byName.general).map((i) => i.key);
    assert.deepEqual(
      keys,
      timelineItems(state, state.rooms.byName.general).map((i) => i.key),
    );
    assert.equal(new Set(keys).size, keys.length);
  });

  it('"seen by" rides on my newest message', () => {
    const mine = msg('alice', at(1, 9, 0));
    const state = roomWith([mine], { seen: { bob: mine.id } });
    const item = timelineItems(state, state.rooms.byName.general).find((i) => i.type === 'message');
    assert.deepEqual(item.seenBy, ['bob']);
    assert.equal(item.mine, true);
  });
});
