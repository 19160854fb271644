// The session: the socket's own events into the store, and leaving for the sign-in page.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { createSession } from '../../static/js/effects/session.js';
import { FakeSocket, fakePage, opened, quietStore } from './fixtures.mjs';

function setup() {
  const socket = new FakeSocket();
  const store = quietStore(opened());
  const page = fakePage({ search: '?room=general' });
  const session = createSession({ socket, store, page });
  return { socket, store, page, session };
}

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

  it('signing out here stops this tab from going to sign in', () => {
    const { page, session } = setup();
    session.signOut();
    session.signIn();
    assert.deepEqual(page.assigned, []);
  });

  it('any other refusal is an unreachable server', () => {
    const { socket, store } = setup();
    socket.active = true; // the client library tries again itself
    socket.fire('connect_error', new Error('xhr poll error'));
    assert.equal(store.getState().connection.status, 'unreachable');
  });
});
