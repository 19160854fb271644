'use strict';

// The connection and the session: the socket's own events into the store (connected,
// disconnected, refused), connecting again when the server let go of us, the network as
// the browser sees it, and signing out: from this tab (the form), another tab (a
// BroadcastChannel, told once the server has ended the session) or the server (signed_out,
// a refused connection, a 401 from the API).

import { sameUser } from '../format.js';

const CHANNEL = 'chat-on-flask.session';

// `onLeave()` runs as this tab signs out (drafts are forgotten).
export function createSession({ socket, store, onLeave = () => {}, page = window }) {
  const { dispatch, getState } = store;
  const leaving = () => getState().connection.leaving;
  const me = getState().me;

  socket.on('connect', () => dispatch({ type: 'connected' }));

  socket.on('disconnect', (reason) => {
    dispatch({ type: 'disconnected' });
    // The server let go of us on purpose (it restarts, or our session ended): try
    // again; a refusal then comes back as connect_error "unauthorized".
    if (reason === 'io server disconnect' && !leaving()) setTimeout(() => socket.connect(), 1000);
  });

  socket.on('connect_error', (err) => {
    if (err && err.message === 'unauthorized') {
      signIn();
      return;
    }
    dispatch({ type: 'connect_failed' });
    if (!socket.active && !leaving()) setTimeout(() => socket.connect(), 3000);
  });

  const network = () => dispatch({ type: 'network', online: page.navigator.onLine });
  page.addEventListener('online', network);
  page.addEventListener('offline', network);

  // Signing out in one tab reaches the others at once (the server's signed_out event
  // covers other browsers and "sign out everywhere").
  const tabs = 'BroadcastChannel' in page ? new page.BroadcastChannel(CHANNEL) : null;
  if (tabs) {
    tabs.onmessage = (event) => {
      if (event.data && event.data.type === 'signed_out' && sameUser(event.data.username, me)) signIn();
    };
  }

  // Signs out with the form's request: nothing reconnects meanwhile, and once the server
  // has ended the session the other tabs follow (a page they load then is signed out, so
  // it names nobody), and this tab goes where the server sent it. Without fetch the form
  // simply submits.
  async function signOut(form) {
    dispatch({ type: 'leaving' });
    onLeave();
    let res;
    try {
      res = await page.fetch(form.action, { method: 'POST', body: new page.FormData(form), credentials: 'same-origin' });
    } catch {
      form.submit();
      return;
    }
    if (tabs) tabs.postMessage({ type: 'signed_out', username: me });
    page.location.assign(res.ok && res.redirected ? res.url : '/');
  }

  function signIn() {
    if (leaving()) return; // this tab is signing out already (or on its way to sign in)
    dispatch({ type: 'leaving' });
    socket.disconnect();
    const next = page.location.pathname + page.location.search;
    page.location.assign(`/login?next=${encodeURIComponent(next)}`);
  }

  return {
    signOut,
    signIn,
    events: {
      signed_out: signIn,
      chat_error: (d) => console.warn('chat_error', d.event, d.code, d.message),
    },
  };
}
