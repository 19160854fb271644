// The send pump against a fake server: one at a time, client_id kept, retry_after obeyed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { createSend } from '../../static/js/effects/send.js';
import { FakeSocket, joined, opened, quietStore, settle } from './fixtures.mjs';

function fakeClock(start = 1000) {
  const clock = {
    t: start,
    timers: [],
    now: () => clock.t,
    setTimeout: (fn, ms) => {
      const timer = { fn, ms, at: clock.t + ms };
      clock.timers.push(timer);
      return timer;
    },
    clearTimeout: (timer) => {
      clock.timers = clock.timers.filter((t) => t !== timer);
    },
  };
  return clock;
}

function setup(respond, state = joined(opened())) {
  const socket = new FakeSocket(respond);
  const store = quietStore(state);
  const clock = fakeClock();
  let ids = 0;
  const rejoined = [];
  const send = createSend({
    socket,
    store,
    clock,
    rejoin: () => rejoined.push(store.getState().rooms.current),
    newId: () => `c${(ids += 1)}`,
  });
  return { socket, store, clock, send, rejoined };
}

describe('the send pump', () => {
  it('sends the open room’s messages one at a time, each with its client_id', async () => {
    let id = 500;
    const ack = () => ({ ok: true, id: (id += 1), created_at: '2026-12-01T10:00:00Z' });
    const { socket, store, send } = setup(ack);
    assert.equal(send.queue('one'), true);
    send.queue('two');
    send.pump();
    send.pump(); // the first is in flight: nothing more goes
    assert.deepEqual(socket.events('send_message'), [{ room: 'general', message: 'one', client_id: 'c1' }]);
    await settle();
    assert.deepEqual(
      store.getState().outbox.map((e) => e.client_id),
      ['c2'],
    );
    send.pump();
    assert.deepEqual(
      socket.events('send_message').map((p) => p.client_id),
      ['c1', 'c2'],
    );
    await settle();
    assert.deepEqual(store.getState().outbox, []);
    assert.deepEqual(
      store.getState().timeline.byRoom.general.messages.map((m) => [m.id, m.message]),
      [
        [501, 'one'],
        [502, 'two'],
      ],
    );
  });

  it('a rate limit waits its retry_after, then the same client_id goes again', async () => {
    const replies = [
      { ok: false, error: { code: 'rate_limited', message: 'slow down', retry_after: 2 } },
      { ok: true, id: 9, created_at: '2026-12-01T10:00:00Z' },
    ];
    const { socket, store, clock, send } = setup(() => replies.shift());
    send.queue('hello');
    send.pump();
    await settle();
    const entry = store.getState().outbox[0];
    assert.deepEqual([entry.state, entry.retryAt], ['waiting', clock.t + 2250]);
    assert.equal(entry.error.message, 'sending too fast');
    send.pump();
    assert.deepEqual(
      clock.timers.map((t) => t.ms),
      [2250],
    );
    assert.equal(socket.events('send_message').length, 1); // not before the window opens
    clock.t += 2250;
    clock.timers.shift().fn();
    assert.deepEqual(
      socket.events('send_message').map((p) => p.client_id),
      ['c1', 'c1'],
    );
    await settle();
    assert.deepEqual(store.getState().outbox, []);
  });

  it('not in the room: joins it again and tries in a second', async () => {
    const { store, clock, send, rejoined } = setup(() => ({
      ok: false,
      error: { code: 'not_in_room', message: 'join first' },
    }));
    send.queue('hello');
    send.pump();
    await settle();
    assert.deepEqual(rejoined, ['general']);
    assert.equal(store.getState().outbox[0].retryAt, clock.t + 1000);
  });

  it('a refusal sets the message aside, saying why in words', async () => {
    const { store, send } = setup(() => ({ ok: false, error: { code: 'too_long', message: 'too long' } }));
    send.queue('x'.repeat(5000));
    send.pump();
    await settle();
    const entry = store.getState().outbox[0];
    assert.deepEqual([entry.state, entry.error.message], ['failed', 'it is over 4,000 characters']);
  });

  it('nothing is queued without an open room, and nothing goes before the join', () => {
    const none = setup(() => ({ ok: true }), opened(null));
    assert.equal(none.send.queue('lost?'), false);
    assert.deepEqual(none.store.getState().outbox, []);
    const early = setup(() => ({ ok: true }), opened());
    early.send.queue('wait');
    early.send.pump();
    assert.deepEqual(early.socket.sent, []);
  });

  it('edits and deletes say why they failed', async () => {
    const { socket, send } = setup((event) =>
      event === 'edit_message'
        ? { ok: false, error: { code: 'forbidden', message: 'not yours' } }
        : { ok: false, error: { code: 'timeout', message: 'x' } },
    );
    await assert.rejects(send.edit(5, 'new'), { message: 'you may not write here' });
    await assert.rejects(send.remove(5), { message: 'no answer from the server' });
    assert.deepEqual(socket.events('edit_message'), [{ room: 'general', id: 5, message: 'new' }]);
    socket.connected = false;
    await assert.rejects(send.edit(5, 'new'), { message: 'the connection is down' });
  });
});
