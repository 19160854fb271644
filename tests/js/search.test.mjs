// Searching messages on the page: the search slice, the effect against a fake API and a
// fake clock, the API call, and the words the box shows.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { createSearch } from '../../static/js/effects/search.js';
import { createApi } from '../../static/js/net/api.js';
import { activeResult, wantedQuery } from '../../static/js/state/search.js';
import { apply } from '../../static/js/state/store.js';
import { statusText } from '../../static/js/views/search.js';
import { msg, opened, othersUnchanged, quietStore, run, settle } from './fixtures.mjs';

const found = (room, text, id) => ({ ...msg(room, 'bob', text), id });
const query = (q, room = null, from = null) => ({ q, from, room, key: JSON.stringify([q, from, room]) });

describe('search slice', () => {
  it('opens, takes what is typed and keeps the results of the newest request only', () => {
    let state = run(opened(), { type: 'search_opened' }, { type: 'search_typed', text: 'deploy' });
    assert.equal(wantedQuery(state).q, 'deploy');
    state = run(state, { type: 'search_requested', seq: 1 }, { type: 'search_requested', seq: 2 });
    assert.equal(state.search.status, 'loading');
    const before = state;
    state = apply(state, { type: 'search_loaded', seq: 1, query: query('dep'), messages: [found('general', 'dep', 5)] });
    assert.equal(state, before); // an older answer
    state = apply(state, { type: 'search_loaded', seq: 2, query: query('deploy'), messages: [found('general', 'deploy', 9)], has_more: true });
    othersUnchanged(assert, before, state, 'search');
    assert.deepEqual([state.search.status, state.search.messages.length, state.search.hasMore], ['loaded', 1, true]);
  });

  it('pages: more results go after the ones listed, once each', () => {
    let state = run(
      opened(),
      { type: 'search_typed', text: 'x' },
      { type: 'search_requested', seq: 1 },
      { type: 'search_loaded', seq: 1, query: query('x'), messages: [found('general', 'x', 9), found('random', 'x', 8)], has_more: true },
      { type: 'search_requested', seq: 2, more: true },
    );
    assert.equal(state.search.more, true);
    state = apply(state, { type: 'search_loaded', seq: 2, more: true, query: query('x'), messages: [found('random', 'x', 8), found('general', 'x', 3)], has_more: false });
    assert.deepEqual(state.search.messages.map((m) => m.id), [9, 8, 3]);
    assert.equal(state.search.hasMore, false);
  });

  it('clears the results when nothing can be searched for any more', () => {
    let state = run(
      opened(),
      { type: 'search_typed', text: 'x' },
      { type: 'search_requested', seq: 1 },
      { type: 'search_loaded', seq: 1, query: query('x'), messages: [found('general', 'x', 9)] },
      { type: 'search_typed', text: 'x y' },
    );
    assert.equal(state.search.messages.length, 1); // kept until the next answer
    state = run(state, { type: 'search_requested', seq: 2 }, { type: 'search_typed', text: '' });
    assert.deepEqual([state.search.status, state.search.messages, state.search.query], ['idle', [], null]);
    // The answer to what was asked before the box was emptied comes too late.
    assert.equal(apply(state, { type: 'search_loaded', seq: 2, query: query('x y'), messages: [found('general', 'x y', 9)] }), state);
  });

  it('the arrow keys go from the box through the results and back', () => {
    let state = run(
      opened(),
      { type: 'search_typed', text: 'x' },
      { type: 'search_requested', seq: 1 },
      { type: 'search_loaded', seq: 1, query: query('x'), messages: [found('general', 'x', 9), found('random', 'x', 8)] },
    );
    assert.equal(activeResult(state), null);
    state = run(state, { type: 'search_moved', by: 1 }, { type: 'search_moved', by: 1 }, { type: 'search_moved', by: 1 });
    assert.equal(activeResult(state).id, 8); // stops at the last
    state = run(state, { type: 'search_moved', by: -1 }, { type: 'search_moved', by: -1 });
    assert.equal(activeResult(state), null);
    assert.equal(apply(state, { type: 'search_moved', by: -1 }), state);
  });

  it('a failure keeps its reason; a later request forgets it', () => {
    let state = run(opened(), { type: 'search_typed', text: 'x' }, { type: 'search_requested', seq: 1 });
    const error = { status: 429, code: 'rate_limited', message: 'too many', retryAfter: 3 };
    state = apply(state, { type: 'search_failed', seq: 1, query: query('x'), error });
    assert.deepEqual([state.search.status, state.search.error], ['failed', error]);
    state = apply(state, { type: 'search_requested', seq: 2 });
    assert.equal(state.search.error, null);
  });

  it('edits show in the results; deleted messages and removed rooms leave them', () => {
    let state = run(
      opened(),
      { type: 'search_typed', text: 'x' },
      { type: 'search_requested', seq: 1 },
      { type: 'search_loaded', seq: 1, query: query('x'), messages: [found('general', 'x one', 9), found('random', 'x two', 8), found('general', 'x three', 7)] },
      { type: 'search_moved', by: 3 },
    );
    state = apply(state, { type: 'edited', message: { ...found('general', 'x one, edited', 9), edited_at: 'now' } });
    assert.equal(state.search.messages[0].message, 'x one, edited');
    state = apply(state, { type: 'deleted', room: 'general', id: 7 });
    assert.deepEqual(state.search.messages.map((m) => m.id), [9, 8]);
    assert.equal(state.search.active, 1);
    state = apply(state, { type: 'room_removed', room: 'random' });
    assert.deepEqual(state.search.messages.map((m) => m.id), [9]);
    assert.equal(apply(state, { type: 'deleted', room: 'random', id: 9 }).search, state.search);
  });

  it('"only this room" asks for the open room', () => {
    let state = run(opened('general'), { type: 'search_typed', text: 'from:bob deploy' }, { type: 'search_scoped', thisRoom: true });
    assert.deepEqual(wantedQuery(state), { ...query('deploy', 'general', 'bob'), problem: null });
    state = apply(state, { type: 'search_scoped', thisRoom: false });
    assert.equal(wantedQuery(state).room, null);
  });
});

// A clock that runs only when told: `tick()` runs what is due.
function fakeTimers() {
  let now = 0;
  let next = 1;
  const due = new Map();
  return {
    setTimeout: (fn, ms) => {
      due.set(next, { fn, at: now + ms });
      return next++;
    },
    clearTimeout: (id) => due.delete(id),
    tick(ms) {
      now += ms;
      for (const [id, t] of [...due]) {
        if (t.at <= now) {
          due.delete(id);
          t.fn();
        }
      }
    },
    pending: () => due.size,
  };
}

function fakeApi(answer = () => ({ messages: [], has_more: false })) {
  const asked = [];
  return {
    asked,
    search: async (params) => {
      asked.push(params);
      const reply = await answer(params);
      if (reply instanceof Error) throw reply;
      return reply;
    },
  };
}

function setup(answer) {
  const api = fakeApi(answer);
  const timers = fakeTimers();
  const store = quietStore(opened('general'));
  const search = createSearch({ api, store, pause: 300, timers });
  search.open();
  return { api, timers, store, search };
}

describe('search effect', () => {
  it('asks once typing pauses, for the last line typed only', async () => {
    const { api, timers, store, search } = setup(({ q }) => ({ messages: [found('general', q, 9)], has_more: false }));
    search.type('d');
    timers.tick(200);
    search.type('de');
    timers.tick(200);
    search.type('dep');
    assert.equal(api.asked.length, 0);
    timers.tick(300);
    await settle();
    assert.deepEqual(api.asked, [{ q: 'dep', room: null, from: null, beforeId: null, limit: 20 }]);
    assert.equal(store.getState().search.messages[0].message, 'dep');
    search.type('dep '); // the same query
    timers.tick(300);
    await settle();
    assert.equal(api.asked.length, 1);
  });

  it('sends nothing for a line without words, and Enter sends at once', async () => {
    const { api, timers, search } = setup();
    search.type('?!');
    timers.tick(1000);
    search.submit();
    await settle();
    assert.equal(api.asked.length, 0);
    search.type('ship it');
    search.submit();
    await settle();
    assert.equal(api.asked.length, 1);
    assert.equal(timers.pending(), 0); // the pause no longer needed
  });

  it('the newest answer wins when an older one comes last', async () => {
    const replies = [];
    const { timers, store, search } = setup(() => new Promise((resolve) => replies.push(resolve)));
    search.type('first');
    timers.tick(300);
    search.type('second');
    timers.tick(300);
    replies[1]({ messages: [found('general', 'second', 2)], has_more: false });
    await settle();
    replies[0]({ messages: [found('general', 'first', 1)], has_more: false });
    await settle();
    assert.equal(store.getState().search.query.q, 'second');
    assert.deepEqual(store.getState().search.messages.map((m) => m.message), ['second']);
  });

  it('more results: the page before the last one listed', async () => {
    const { api, store, search } = setup(({ beforeId }) =>
      beforeId === null
        ? { messages: [found('general', 'x', 30), found('random', 'x', 20)], has_more: true }
        : { messages: [found('general', 'x', 10)], has_more: false },
    );
    search.type('x');
    search.submit();
    await settle();
    search.more();
    await settle();
    assert.deepEqual(api.asked.map((a) => a.beforeId), [null, 20]);
    assert.deepEqual(store.getState().search.messages.map((m) => m.id), [30, 20, 10]);
    search.more(); // nothing more to get
    await settle();
    assert.equal(api.asked.length, 2);
  });

  it('too many searches: says so, waits the time the server names and asks again', async () => {
    let refuse = true;
    const { api, timers, store, search } = setup(() => {
      if (!refuse) return { messages: [found('general', 'x', 9)], has_more: false };
      const error = new Error('too many searches');
      Object.assign(error, { status: 429, code: 'rate_limited', retryAfter: 2.5 });
      return error;
    });
    search.type('x');
    search.submit();
    await settle();
    assert.equal(store.getState().search.status, 'failed');
    assert.match(statusText(store.getState()), /^Too many searches at once: wait 3 seconds\. Searching again then…$/);
    refuse = false;
    timers.tick(2000);
    await settle();
    assert.equal(api.asked.length, 1);
    timers.tick(1000);
    await settle();
    assert.equal(api.asked.length, 2);
    assert.equal(store.getState().search.status, 'loaded');
  });

  it('"only this room" and opening the box ask at once for what is not listed', async () => {
    const { api, search, store } = setup();
    search.type('x');
    search.submit();
    await settle();
    search.scope(true);
    await settle();
    assert.deepEqual(api.asked.map((a) => a.room), [null, 'general']);
    search.close();
    search.open(); // listed already
    await settle();
    assert.equal(api.asked.length, 2);
    store.dispatch({ type: 'opened', room: 'random' });
    search.open();
    await settle();
    assert.deepEqual(api.asked.map((a) => a.room), [null, 'general', 'random']);
  });
});

describe('search API and words', () => {
  it('asks GET /api/search with the query and carries retry_after on a refusal', async () => {
    const urls = [];
    const reply = (status, body) => ({ status, ok: status < 300, json: async () => body });
    const api = createApi({
      csrfToken: 't',
      onUnauthorized: () => {},
      fetchImpl: async (url) => {
        urls.push(url);
        return urls.length === 1
          ? reply(200, { messages: [], has_more: false })
          : reply(429, { error: { code: 'rate_limited', message: 'slow down', retry_after: 4 } });
      },
    });
    await api.search({ q: 'café "a b"', room: 'dm:a:b', from: 'bob', beforeId: 12 });
    assert.equal(urls[0], '/api/search?q=caf%C3%A9+%22a+b%22&limit=20&room=dm%3Aa%3Ab&from=bob&before_id=12');
    await assert.rejects(api.search({ q: 'x' }), { status: 429, code: 'rate_limited', retryAfter: 4 });
  });

  it('says what is wrong in words', () => {
    const state = (text, extra = {}) => run(opened(), { type: 'search_typed', text }, ...(extra.events || []));
    assert.match(statusText(state('')), /^Words find the words they start/);
    assert.match(statusText(state('???')), /^Nothing to search for/);
    assert.match(statusText(state('x'.repeat(201))), /at most 200 characters; this one has 201/);
    assert.equal(statusText(state('from: x')), 'from: takes a username, as in from:alice.');
    const refused = state('x', {
      events: [
        { type: 'search_requested', seq: 1 },
        { type: 'search_failed', seq: 1, query: query('x'), error: { status: 400, code: 'invalid_payload', message: 'q: must be 1-200 characters', retryAfter: null } },
      ],
    });
    assert.equal(statusText(refused), 'This search cannot be made: q: must be 1-200 characters.');
    const none = state('zebra', {
      events: [{ type: 'search_requested', seq: 1 }, { type: 'search_loaded', seq: 1, query: query('zebra', 'general', 'bob'), messages: [] }],
    });
    assert.equal(statusText(none), 'No messages match “zebra” in #general from bob.');
  });
});
