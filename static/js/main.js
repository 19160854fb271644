'use strict';

// The chat page, booted: the socket and the HTTP API (net/), the store (state/), the
// effects that talk to the server on the store's behalf (effects/) and the views that
// render the store (views/), wired together. Server events reach the store through the
// effects that own them; what a person does reaches the effects through the views.

import { createDrafts } from './effects/drafts.js';
import { createInbox } from './effects/inbox.js';
import { createJoins } from './effects/joins.js';
import { createMentions } from './effects/mentions.js';
import { keepOutbox } from './effects/outbox-storage.js';
import { createPlace } from './effects/place.js';
import { createPresence } from './effects/presence.js';
import { createReactions } from './effects/reactions.js';
import { createReader } from './effects/reader.js';
import { createReadMarks } from './effects/read-marks.js';
import { createSend } from './effects/send.js';
import { createSession } from './effects/session.js';
import { createApi } from './net/api.js';
import { connect, listen } from './net/socket.js';
import { messageIn } from './state/reader.js';
import { createStore, initialState } from './state/store.js';
import { createAttention } from './views/attention.js';
import { createComposer } from './views/composer.js';
import { createConversation } from './views/conversation.js';
import { createFinder } from './views/finder.js';
import { createMentionsView } from './views/mentions.js';
import { createPage } from './views/page.js';
import { createEmojiPicker } from './views/picker.js';
import { createSidebar } from './views/sidebar.js';

const root = document.getElementById('chat');
if (root) start(root);

function start(root) {
  const { username: me, room, title, emojiData } = root.dataset; // from Jinja, |tojson for the rooms
  const rooms = JSON.parse(root.dataset.rooms || '[]');
  const storage = window.localStorage;
  const store = createStore(initialState({ me, rooms, current: room || null, title: title || null, online: navigator.onLine }));
  const { dispatch, getState } = store;
  keepOutbox({ store, storage });
  const drafts = createDrafts({ storage, me });
  const place = createPlace({ storage: window.sessionStorage, me });

  const socket = connect();
  const session = createSession({ socket, store, onLeave: drafts.clearAll });
  const api = createApi({ csrfToken: document.querySelector('meta[name="csrf-token"]').content, onUnauthorized: session.signIn });
  const joins = createJoins({ socket, api, store });
  const send = createSend({ socket, store, rejoin: joins.joinCurrent });
  const marks = createReadMarks({ socket, store, visibleId: () => conversation.newestVisibleId() });
  const looking = () => document.visibilityState === 'visible' && document.hasFocus();
  const alert = (state, message, options) => attention.alert(state, message, options);
  const inbox = createInbox({ store, atBottom: () => conversation.atBottom(), announce: (text) => page.announce(text), alert });
  const reactions = createReactions({ socket, store });
  const reader = createReader({ socket, store });
  const mentions = createMentions({ api, store, alert, looking });
  const presence = createPresence({ store });
  listen(socket, session.events, joins.events, inbox.events, marks.events, presence.events, reactions.events, mentions.events);

  const page = createPage(document, root);
  const picker = createEmojiPicker(document, { dataSource: emojiData });
  const showError = (what) => (error) => composer.showError(`Could not ${what}: ${error.message}.`);
  // Opens a room (at message `id`, in context, when given).
  const open = (name, id = null, options = {}) => {
    page.closeDrawer();
    joins.openRoom(name, options);
    if (id !== null) reader.jump(name, id);
    else composer.focus();
  };
  const sidebar = createSidebar(document, { onOpen: (name) => open(name), onRemove: joins.removeRoom, onSignOut: session.signOut });
  createFinder(document, {
    me,
    onJoin: (name) => joins.find({ room: name }).then((found) => open(found.room, null, found)),
    onDirect: (peer) => joins.find({ peer }).then((found) => open(found.room, null, found)),
    searchDirectory: joins.searchDirectory,
  });
  const react = (id, emoji, on) => reactions.react(id, emoji, on).catch(showError('react'));
  const conversation = createConversation(document, {
    onVisible: marks.markSeen,
    onLoadOlder: () => (reader.detached() ? reader.older() : joins.loadOlder()),
    onLoadNewer: reader.newer,
    onBackToLive: reader.backToLive,
    onPlace: place.save,
    onRetryJoin: joins.joinCurrent,
    onReact: react,
    onPick: (id, anchor) => picker.open(anchor, (emoji) => react(id, emoji, true)),
    onReply: (id) => {
      const message = messageIn(getState(), getState().rooms.current, id);
      if (message) dispatch({ type: 'reply_started', message });
      composer.focus();
    },
    onEdit: (id) => dispatch({ type: 'edit_started', id }),
    onDelete: (id) => {
      const deleting = send.remove(id);
      if (deleting) deleting.catch(showError('delete the message'));
      composer.focus();
    },
    onOpenOriginal: (id) => reader.jump(getState().rooms.current, id),
    onRetry: (clientId) => dispatch({ type: 'retry', client_id: clientId }),
    onDiscard: (clientId) => dispatch({ type: 'discarded', client_id: clientId }),
  });
  const composer = createComposer(document, {
    touch: window.matchMedia('(pointer: coarse)').matches,
    drafts,
    onSend: (text) => {
      if (!send.queue(text)) return;
      reader.backToLive();
      conversation.stickToBottom();
    },
    onEdit: send.edit,
    onTyping: send.typing,
    onEditStart: (id) => dispatch({ type: 'edit_started', id }),
    onEditEnd: () => dispatch({ type: 'edit_ended' }),
    onReplyEnd: () => dispatch({ type: 'reply_ended' }),
    onEmoji: (anchor, insert) => picker.open(anchor, insert),
  });
  const attention = createAttention(document, { storage, onOpenRoom: open });
  const mentionsView = createMentionsView(document, { onLoad: mentions.load, onOpen: open });
  window.addEventListener('popstate', () => open(joins.roomFromLocation(), null, { push: false }));

  // Every change: the views render, then whatever can be sent goes.
  const views = [composer, sidebar, conversation, attention, mentionsView, page];
  store.subscribe((state) => views.forEach((view) => view.render(state)));
  store.subscribe(send.pump);
  // A reload returns to where the reader was.
  const saved = room ? place.restore(room) : null;
  if (saved) reader.jump(room, saved.id, { highlight: false, offset: saved.offset });
  store.flush();
  composer.focus();
}
