'use strict';

// The chat page, booted: the socket and the HTTP API (net/), the store (state/), the
// effects that talk to the server on the store's behalf (effects/) and the views that
// render the store (views/), wired together. Server events reach the store through the
// effects that own them; what a person does reaches the effects through the views.

import { createInbox } from './effects/inbox.js';
import { createJoins } from './effects/joins.js';
import { keepOutbox } from './effects/outbox-storage.js';
import { createPresence } from './effects/presence.js';
import { createReadMarks } from './effects/read-marks.js';
import { createSend } from './effects/send.js';
import { createSession } from './effects/session.js';
import { createApi } from './net/api.js';
import { connect, listen } from './net/socket.js';
import { createStore, initialState } from './state/store.js';
import { createAttention } from './views/attention.js';
import { createComposer } from './views/composer.js';
import { createConversation } from './views/conversation.js';
import { createFinder } from './views/finder.js';
import { createPage } from './views/page.js';
import { createSidebar } from './views/sidebar.js';

const root = document.getElementById('chat');
if (root) start(root);

function start(root) {
  const { username: me, room, title } = root.dataset; // from Jinja, |tojson for the rooms
  const rooms = JSON.parse(root.dataset.rooms || '[]');
  const storage = window.localStorage;
  const online = navigator.onLine;
  const store = createStore(initialState({ me, rooms, current: room || null, title: title || null, online }));
  keepOutbox({ store, storage });

  const socket = connect();
  const session = createSession({ socket, store });
  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  const api = createApi({ csrfToken, onUnauthorized: session.signIn });
  const joins = createJoins({ socket, api, store });
  const send = createSend({ socket, store, rejoin: joins.joinCurrent });
  const marks = createReadMarks({ socket, store, visibleId: () => conversation.newestVisibleId() });
  const inbox = createInbox({
    store,
    atBottom: () => conversation.atBottom(),
    announce: (text) => page.announce(text),
    alert: (state, message) => attention.alert(state, message),
  });
  const presence = createPresence({ store });
  listen(socket, session.events, joins.events, inbox.events, marks.events, presence.events);

  const page = createPage(document, root);
  const open = (name, options) => {
    page.closeDrawer();
    joins.openRoom(name, options);
    composer.focus();
  };
  const sidebar = createSidebar(document, {
    onOpen: open,
    onRemove: joins.removeRoom,
    onSignOut: session.signOut,
  });
  createFinder(document, {
    me,
    onJoin: (name) => joins.find({ room: name }).then((found) => open(found.room, found)),
    onDirect: (peer) => joins.find({ peer }).then((found) => open(found.room, found)),
    searchDirectory: joins.searchDirectory,
  });
  const conversation = createConversation(document, {
    onVisible: marks.markSeen,
    onLoadOlder: joins.loadOlder,
    onEdit: (id) => composer.edit(id),
    onDelete: (id) => {
      const deleting = send.remove(id);
      if (!deleting) return;
      deleting.catch((error) => composer.showError(`Could not delete the message: ${error.message}.`));
      composer.focus();
    },
    onRetry: (clientId) => store.dispatch({ type: 'retry', client_id: clientId }),
    onDiscard: (clientId) => store.dispatch({ type: 'discarded', client_id: clientId }),
    onRetryJoin: joins.joinCurrent,
  });
  const composer = createComposer(document, {
    touch: window.matchMedia('(pointer: coarse)').matches,
    onSend: (text) => send.queue(text) && conversation.stickToBottom(),
    onEdit: send.edit,
    onTyping: send.typing,
  });
  const attention = createAttention(document, { storage, onOpenRoom: open });
  window.addEventListener('popstate', () => open(joins.roomFromLocation(), { push: false }));

  // Every change: the views render, then whatever can be sent goes.
  const views = [composer, sidebar, conversation, attention, page];
  store.subscribe((state) => views.forEach((view) => view.render(state)));
  store.subscribe(send.pump);
  store.flush();
  composer.focus();
}
