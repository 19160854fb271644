'use strict';

// The chat page, booted: the socket and the HTTP API (net/), the store (state/), the
// effects that talk to the server on the store's behalf (effects/) and the views that
// render the store (views/), wired together. Server events reach the store through the
// effects that own them; what a person does reaches the effects through the views.

import { createEffects } from './effects/index.js';
import { sameUser } from './format.js';
import { connect } from './net/socket.js';
import { messageIn } from './state/reader.js';
import { createStore, initialState } from './state/store.js';
import { trayStatus } from './state/uploads.js';
import { createAttention } from './views/attention.js';
import { createComposer } from './views/composer.js';
import { createConversation } from './views/conversation.js';
import { createFinder } from './views/finder.js';
import { createLightbox } from './views/lightbox.js';
import { createMentionsView } from './views/mentions.js';
import { createOwnersViews } from './views/owners.js';
import { createPage } from './views/page.js';
import { createEmojiPicker } from './views/picker.js';
import { createSearchView } from './views/search.js';
import { createSidebar } from './views/sidebar.js';
import { createUploadTray } from './views/uploads.js';

const root = document.getElementById('chat');
if (root) start(root);

function start(root) {
  const { username: me, room, title, emojiData } = root.dataset; // from Jinja, |tojson for the rooms
  const rooms = JSON.parse(root.dataset.rooms || '[]');
  const store = createStore(initialState({ me, rooms, current: room || null, title: title || null, online: navigator.onLine }));
  const { dispatch, getState } = store;
  const views = {};
  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  const maxUpload = Number(root.dataset.maxUpload) || 0; // bytes a file may have
  const effects = createEffects({ socket: connect(), store, csrfToken, views, maxUpload });
  const { drafts, place, session, joins, send, marks, mentions, reactions, reader, moderation, uploads } = effects;

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
    onJoin: (name, { private: makePrivate = false } = {}) =>
      joins.find({ room: name, private: makePrivate }).then((found) => {
        if (makePrivate) moderation.createdPrivate(found.room);
        open(found.room, null, found);
      }),
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
      const message = messageIn(getState(), getState().rooms.current, id);
      // Someone else's message: deleted as the room's owner or a moderator.
      const deleting = message && !sameUser(message.username, me) ? moderation.deleteMessage(id) : send.remove(id);
      if (deleting) deleting.catch(showError('delete the message'));
      composer.focus();
    },
    onOpenOriginal: (id) => reader.jump(getState().rooms.current, id),
    onRetry: (clientId) => dispatch({ type: 'retry', client_id: clientId }),
    onDiscard: (clientId) => dispatch({ type: 'discarded', client_id: clientId }),
    onOpenImage: (id, thumbnail) => lightbox.open(id, thumbnail),
  });
  const lightbox = createLightbox(document);
  const tray = createUploadTray(document, { onAdd: uploads.add, onRemove: uploads.remove });
  const composer = createComposer(document, {
    touch: window.matchMedia('(pointer: coarse)').matches,
    drafts,
    files: (name) => trayStatus(getState(), name),
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
  const attention = createAttention(document, { storage: window.localStorage, onOpenRoom: open });
  const mentionsView = createMentionsView(document, { onLoad: mentions.load, onOpen: open });
  const searchView = createSearchView(document, { search: effects.search, onOpen: open });
  window.addEventListener('popstate', () => open(joins.roomFromLocation(), null, { push: false }));

  Object.assign(views, { conversation, attention, page });
  // Every change: the views render, then whatever can be sent goes.
  const owners = createOwnersViews(document, root, { moderation, dispatch });
  const rendered = [composer, sidebar, conversation, attention, mentionsView, searchView, page, owners, tray, lightbox];
  store.subscribe((state) => rendered.forEach((view) => view.render(state)));
  store.subscribe(send.pump);
  // A reload returns to where the reader was.
  const saved = room ? place.restore(room) : null;
  if (saved) reader.jump(room, saved.id, { highlight: false, offset: saved.offset });
  store.flush();
  composer.focus();
}
