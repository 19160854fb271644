// The session: the socket's own events into the store, and leaving for the sign-in page.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { createSession } from '../../static/js/effects/session.js';
import { FakeSocket, fakePage, opened, quietStore, settle } from './fixtures.mjs';

// Tabs of one browser: a BroadcastChannel whose messages reach the other tabs' channels.
function channels() {
  const open = [];
  return class FakeChannel {
    constructor() {
      open.push(this);
    }
    postMessage(data) {
      for (const other of open) if (other !== this && other.onmessage) other.onmessage({ data });
    }
  };
}

function setup({ Channel = null, fetch = null, onLeave } = {}) {
  const socket = new FakeSocket();
  const store = quietStore(opened());
  const page = fakePage({ search: '?room=general' });
  if (Channel) page.BroadcastChannel = Channel;
  if (fetch) page.fetch = fetch;
  page.FormData = class {};
  const session = createSession({ socket, store, page, onLeave });
  return { socket, store, page, session };
}

const form = { action: '/logout', submitted: 0, submit() { this.submitted += 1; } };

describe('the session', () => {
  it('puts the connection’s ups and downs in the store', () => {
    const { socket, store, page } = setup();
    socket.fire('disconnect', 'transport close');
    assert.equal(store.getState().connection.status, 'reconnecting');
    socket.fire('connect');
    assert.equal(store.getState().connection.status, 'online');
    page.navigator.onLine = false;
    page.dispatch('offline');
    assert.equal(store.getState().connection.online, false);
  });

  it('a connection refused as signed out sends the page to sign in, once', () => {
    const { socket, store, page, session } = setup();
    socket.fire('connect_error', new Error('unauthorized'));
    session.events.signed_out({});
    assert.deepEqual(page.assigned, ['/login?next=%2Fchat%3Froom%3Dgeneral']);
    assert.equal(socket.disconnects, 1);
    assert.equal(store.getState().connection.leaving, true);
  });

  it('signing out tells the other tabs only once the server has ended the session', async () => {
    const Channel = channels();
    let answer;
    const fetch = () => new Promise((resolve) => (answer = resolve));
    let left = 0;
    const here = setup({ Channel, fetch, onLeave: () => (left += 1) });
    const there = setup({ Channel });
    const signingOut = here.session.signOut(form);
    assert.equal(left, 1); // drafts go at once
    here.session.signIn(); // this tab is on its way out already
    await settle();
    assert.deepEqual(there.page.assigned, []); // the session may not have ended yet
    answer({ ok: true, redirected: true, url: 'http://chat.test/login' });
    await signingOut;
    assert.deepEqual(here.page.assigned, ['http://chat.test/login']);
    assert.deepEqual(there.page.assigned, ['/login?next=%2Fchat%3Froom%3Dgeneral']);
  });

  it('without fetch the sign-out form submits as it is', async () => {
    const { session } = setup({ fetch: () => Promise.reject(new TypeError('no network')) });
    const mine = { ...form, submitted: 0 };
    await session.signOut(mine);
    assert.equal(mine.submitted, 1);
  });

  it('any other refusal is an unreachable server', () => {
    const { socket, store } = setup();
    socket.active = true; // the client library tries again itself
    socket.fire('connect_error', new Error('xhr poll error'));
    assert.equal(store.getState().connection.status, 'unreachable');
  });
});
