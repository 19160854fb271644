// The socket layer against a fake Socket.IO client: acks, timeouts, retries, the table.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  isUnknownEvent,
  listen,
  request,
  RequestError,
  requestWithRetry,
  retryDelay,
  SERVER_EVENTS,
} from '../../static/js/net/socket.js';

// Answers each emit with the next scripted reply: an ack object, or 'timeout'.
class FakeSocket {
  constructor(replies = []) {
    this.connected = true;
    this.replies = replies;
    this.sent = [];
    this.handlers = new Map();
  }
  on(name, handler) {
    if (this.handlers.has(name)) throw new Error(`second handler for ${name}`);
    this.handlers.set(name, handler);
  }
  timeout(ms) {
    return {
      emit: (event, payload, callback) => {
        this.sent.push({ event, payload, ms });
        const reply = this.replies.shift();
        queueMicrotask(() =>
          reply === 'timeout' ? callback(new Error('operation has timed out')) : callback(null, reply),
        );
      },
    };
  }
  serverSends(name, data) {
    this.handlers.get(name)(data);
  }
}

const noSleep = async () => {};

describe('request', () => {
  it('resolves with an ok ack', async () => {
    const socket = new FakeSocket([{ ok: true, id: 7 }]);
    assert.deepEqual(await request(socket, 'send_message', { room: 'r' }, { timeout: 1234 }), {
      ok: true,
      id: 7,
    });
    assert.deepEqual(socket.sent, [{ event: 'send_message', payload: { room: 'r' }, ms: 1234 }]);
  });

  it('rejects with the error code, message and retry_after of a refusal', async () => {
    const socket = new FakeSocket([
      { ok: false, error: { code: 'rate_limited', message: 'slow down', retry_after: 2.5 } },
    ]);
    await assert.rejects(request(socket, 'send_message', {}), (err) => {
      assert.ok(err instanceof RequestError);
      assert.equal(err.code, 'rate_limited');
      assert.equal(err.message, 'slow down');
      assert.equal(err.retryAfter, 2.5);
      return true;
    });
  });

  it('rejects a missing answer as a timeout', async () => {
    await assert.rejects(request(new FakeSocket(['timeout']), 'joined_room', {}), { code: 'timeout' });
  });

  it('sends nothing while disconnected', async () => {
    const socket = new FakeSocket();
    socket.connected = false;
    await assert.rejects(request(socket, 'send_message', {}), { code: 'disconnected' });
    assert.equal(socket.sent.length, 0);
  });
});

describe('retries', () => {
  it('waits retry_after for a rate limit and backs off for other transient failures', () => {
    assert.equal(retryDelay(new RequestError('rate_limited', '', 3), 0), 3250);
    const d0 = retryDelay(new RequestError('timeout', ''), 0, { random: () => 1 });
    const d3 = retryDelay(new RequestError('unavailable', ''), 3, { random: () => 1 });
    assert.equal(d0, 1000);
    assert.equal(d3, 8000);
    assert.equal(retryDelay(new RequestError('internal_error', ''), 20, { random: () => 1 }), 30000);
    assert.ok(retryDelay(new RequestError('rate_limited', ''), 0) > 0); // no retry_after: backoff
  });

  it('does not retry what would be refused again', () => {
    for (const code of [
      'invalid_payload',
      'too_long',
      'forbidden',
      'not_found',
      'not_in_room',
      'unauthorized',
    ]) {
      assert.equal(retryDelay(new RequestError(code, ''), 0), null, code);
    }
  });

  it('repeats the same payload until the server says yes', async () => {
    const socket = new FakeSocket([
      'timeout',
      { ok: false, error: { code: 'unavailable', message: 'db' } },
      { ok: true, room: 'r' },
    ]);
    const heard = [];
    const res = await requestWithRetry(
      socket,
      'joined_room',
      { room: 'r', last_id: 5 },
      {
        sleep: noSleep,
        onRetry: (err) => heard.push(err.code),
      },
    );
    assert.deepEqual(res, { ok: true, room: 'r' });
    assert.deepEqual(heard, ['timeout', 'unavailable']);
    assert.deepEqual(
      socket.sent.map((s) => s.payload),
      Array(3).fill({ room: 'r', last_id: 5 }),
    );
  });

  it('gives up on a final refusal, after the retries, or when no longer wanted', async () => {
    await assert.rejects(
      requestWithRetry(
        new FakeSocket([{ ok: false, error: { code: 'not_found', message: 'no' } }]),
        'e',
        {},
        { sleep: noSleep },
      ),
      { code: 'not_found' },
    );
    await assert.rejects(
      requestWithRetry(
        new FakeSocket(['timeout', 'timeout', 'timeout']),
        'e',
        {},
        { sleep: noSleep, retries: 2 },
      ),
      { code: 'timeout' },
    );
    let wanted = true;
    const socket = new FakeSocket(['timeout', { ok: true }]);
    await assert.rejects(
      requestWithRetry(
        socket,
        'e',
        {},
        {
          sleep: async () => {
            wanted = false;
          },
          active: () => wanted,
        },
      ),
      { code: 'timeout' },
    );
    assert.equal(socket.sent.length, 1);
  });

  it('recognises an older server that does not know an event', () => {
    assert.equal(isUnknownEvent(new RequestError('invalid_payload', "unknown event 'watch_rooms'")), true);
    assert.equal(isUnknownEvent(new RequestError('invalid_payload', 'room must be a room name')), false);
  });
});

describe('the table of server events', () => {
  const all = () => Object.fromEntries(SERVER_EVENTS.map((name) => [name, () => {}]));

  it('registers one handler per server event and hands over the payload', () => {
    const socket = new FakeSocket();
    const got = [];
    listen(socket, { ...all(), recieve_message: (m) => got.push(m) });
    assert.deepEqual([...socket.handlers.keys()].sort(), [...SERVER_EVENTS].sort());
    socket.serverSends('recieve_message', { id: 1 });
    socket.serverSends('recieve_message', null); // a malformed event becomes an empty object
    assert.deepEqual(got, [{ id: 1 }, {}]);
  });

  it('refuses a table that forgets an event or names one the server never sends', () => {
    const missing = all();
    delete missing.signed_out;
    assert.throws(() => listen(new FakeSocket(), missing), /no handler for signed_out/);
    assert.throws(
      () => listen(new FakeSocket(), { ...all(), receive_message: () => {} }),
      /not a server event/,
    );
  });

  it('takes the table in parts, one per effect, but never two handlers for one event', () => {
    const socket = new FakeSocket();
    const [first, ...rest] = SERVER_EVENTS;
    const got = [];
    listen(
      socket,
      { [first]: (d) => got.push(d) },
      Object.fromEntries(rest.map((name) => [name, () => {}])),
    );
    assert.deepEqual([...socket.handlers.keys()].sort(), [...SERVER_EVENTS].sort());
    socket.serverSends(first, { x: 1 });
    assert.deepEqual(got, [{ x: 1 }]);
    assert.throws(() => listen(new FakeSocket(), all(), { [first]: () => {} }), /two handlers for/);
  });
});
