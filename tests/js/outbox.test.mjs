// The outbox slice: messages waiting for the server's ack, one at a time per room.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import * as outbox from '../../static/js/state/outbox.js';
import { apply } from '../../static/js/state/store.js';
import { entry, joined, msg, opened, othersUnchanged, run } from './fixtures.mjs';

const { nextToSend, outboxFor } = outbox;

describe('the outbox', () => {
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
      state.timeline.byRoom.general.messages.map((m) => [m.id, m.message, m.username]),
      [[900, 'text c1', 'alice']],
    );
    // The broadcast arriving late replaces it and adds nothing.
    state = apply(state, {
      type: 'message',
      message: { ...state.timeline.byRoom.general.messages[0], username: 'alice' },
      attentive: true,
    });
    assert.equal(state.timeline.byRoom.general.messages.length, 1);
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

describe('the outbox slice', () => {
  it('a queued entry starts queued, with no attempt and no error', () => {
    const state = opened();
    const slice = outbox.apply(state, { type: 'queued', entry: entry('c1') });
    assert.deepEqual(slice, [
      { ...entry('c1'), state: 'queued', attempts: 0, retryAt: 0, error: null },
    ]);
    othersUnchanged(assert, state, apply(state, { type: 'retry', client_id: 'c1' }), 'outbox');
  });

  it('counts attempts, and a late answer to an earlier attempt changes nothing', () => {
    let state = joined(opened());
    state = run(
      state,
      { type: 'queued', entry: entry('c1') },
      { type: 'send_started', client_id: 'c1' },
      { type: 'send_failed', client_id: 'c1', attempt: 1, error: { code: 'timeout' }, retryAt: 10 },
      { type: 'send_started', client_id: 'c1' },
    );
    assert.deepEqual([state.outbox[0].state, state.outbox[0].attempts], ['sending', 2]);
    const late = outbox.apply(state, {
      type: 'send_failed',
      client_id: 'c1',
      attempt: 1,
      error: { code: 'timeout' },
      retryAt: 20,
    });
    assert.equal(late, state.outbox);
  });

  it('a disconnect puts what was in flight back in the queue', () => {
    const state = run(
      joined(opened()),
      { type: 'queued', entry: entry('c1') },
      { type: 'queued', entry: entry('c2') },
      { type: 'send_started', client_id: 'c1' },
    );
    const slice = outbox.apply(state, { type: 'disconnected' });
    assert.deepEqual(
      slice.map((e) => e.state),
      ['queued', 'queued'],
    );
  });

  it('someone else’s message with the same client_id leaves mine alone', () => {
    const state = apply(joined(opened()), { type: 'queued', entry: entry('c1') });
    const slice = outbox.apply(state, {
      type: 'message',
      message: msg('general', 'bob', 'x', { client_id: 'c1' }),
      attentive: true,
    });
    assert.equal(slice, state.outbox);
  });

  it('waits for the connection, and sends only in the open room', () => {
    let state = run(joined(opened()), { type: 'queued', entry: entry('c1', 'random') });
    assert.equal(nextToSend(state, 0), null); // random is not open
    assert.equal(outboxFor(state, 'random').length, 1);
    state = run(state, { type: 'queued', entry: entry('c2') }, { type: 'connect_failed' });
    assert.equal(nextToSend(state, 0), null); // general is, but the connection is down
    state = apply(state, { type: 'connected' });
    assert.equal(nextToSend(state, 0).entry.client_id, 'c2');
  });
});
