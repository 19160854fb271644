'use strict';

// The chat page, wired: server events and user actions go into the store as events,
// the views render what results, and the few effects (joins, sends, marks) happen here.

import { createApi } from './net/api.js';
import { loadEntries, newClientId, persist } from './effects/outbox-storage.js';
import { directRoomName, sameUser } from './format.js';
import { isUnknownEvent, listen, request, requestWithRetry, retryDelay } from './net/socket.js';
import { nextToSend } from './state/outbox.js';
import { currentRoom, roomLabel, roomUrl, shouldNotify } from './state/rooms.js';
import { apply, initialState } from './state/store.js';
import { findMessage, hasMessage, lastOwnMessage, timelineOf } from './state/timeline.js';
import { createAttention } from './views/attention.js';
import { createComposer } from './views/composer.js';
import { createConversation } from './views/conversation.js';
import { createFinder } from './views/finder.js';
import { createSidebar } from './views/sidebar.js';

const TYPING_EXPIRE = 5000; // ms before someone else's indicator fades without a refresh
const ROOM_LIST_POLL = 30000; // only when the server cannot watch rooms
const $ = (id) => document.getElementById(id);

const root = $('chat');
if (root) start(root);

function start(root) {
  const ME = root.dataset.username;
  const storage = window.localStorage;
  const touch = window.matchMedia('(pointer: coarse)').matches;

  let state = initialState({
    me: ME,
    rooms: JSON.parse(root.dataset.rooms || '[]'),
    current: root.dataset.room || null,
    title: root.dataset.title || null,
    online: navigator.onLine,
  });
  state = apply(state, { type: 'restored', entries: loadEntries(storage, ME) });

  let renderQueued = false;
  function dispatch(event) {
    const before = state;
    state = apply(state, event);
    if (state === before) return;
    persist(storage, ME, before.outbox, state.outbox);
    if (!renderQueued) {
      renderQueued = true;
      queueMicrotask(flush);
    }
  }

  // --- views ---------------------------------------------------------------------------

  // WebSocket first: a closed tab is a closed socket the server sees at once (a
  // long-poll left behind would keep you "online" until it times out). Long-polling
  // remains the fallback where WebSocket cannot get through.
  const socket = window.io({ transports: ['websocket', 'polling'], tryAllTransports: true });
  const api = createApi({
    csrfToken: document.querySelector('meta[name="csrf-token"]').content,
    onUnauthorized: goToSignIn,
  });

  const sidebar = createSidebar(
    { rooms: $('room-list'), roomsEmpty: $('rooms-empty'), dms: $('dm-list'), dmsEmpty: $('dms-empty') },
    { onOpen: ({ room }) => openRoom(room), onRemove: removeRoom },
  );
  const finder = createFinder(
    {
      toggle: $('finder-toggle'),
      panel: $('finder-panel'),
      joinForm: $('join-form'),
      joinInput: $('join-room'),
      joinError: $('join-error'),
      dmForm: $('dm-form'),
      dmInput: $('dm-peer'),
      dmError: $('dm-error'),
      query: $('directory-q'),
      results: { status: $('directory-status'), list: $('directory-results') },
    },
    {
      me: ME,
      onJoin: (name) => openByForm({ room: name }),
      onDirect: (peer) => openByForm({ peer }),
      searchDirectory,
    },
  );
  const conversation = createConversation(
    {
      pane: $('conversation'),
      title: $('room-title'),
      presence: $('online-count'),
      status: $('status'),
      statusText: $('status-text'),
      statusRetry: $('status-retry'),
      list: $('messages'),
      jump: $('jump'),
      typing: $('typing'),
      people: $('online'),
      welcome: $('welcome'),
      roomParts: [...document.querySelectorAll('[data-room-part]')],
    },
    {
      onVisible: markSeen,
      onLoadOlder: () => loadOlder(),
      onEdit: (id) => {
        const room = currentRoom(state);
        const m = room && findMessage(timelineOf(state, room.name), id);
        if (m && !m.deleted) composer.startEdit(m);
      },
      onDelete: confirmDelete,
      onRetry: (clientId) => dispatch({ type: 'retry', client_id: clientId }),
      onDiscard: (clientId) => dispatch({ type: 'discarded', client_id: clientId }),
    },
  );
  const composer = createComposer(
    {
      form: $('composer'),
      input: $('message'),
      label: $('message-label'),
      counter: $('counter'),
      error: $('composer-error'),
      banner: $('edit-banner'),
      cancelEdit: $('cancel-edit'),
    },
    {
      touch,
      onSend: queueMessage,
      onEdit: editMessage,
      onTyping: (typing) => {
        const room = currentRoom(state);
        if (room && room.join === 'joined')
          request(socket, 'typing_status', { room: room.name, typing }).catch(() => {});
      },
      onEditLast: () => {
        const room = currentRoom(state);
        const m = room && lastOwnMessage(state, timelineOf(state, room.name));
        if (m) composer.startEdit(m);
        return Boolean(m);
      },
    },
  );
  const attention = createAttention(
    {
      favicon: $('favicon'),
      notify: $('notify-toggle'),
      sound: $('sound-toggle'),
      drawerBadge: $('drawer-badge'),
    },
    { storage, onOpenRoom: (name) => openRoom(name) },
  );

  const sideTitle = document.querySelector('.side-title');

  function flush() {
    renderQueued = false;
    const room = currentRoom(state);
    composer.setRoom(room ? room.name : null, room ? roomLabel(room) : '');
    sidebar.render(state);
    conversation.render(state);
    attention.render(state);
    root.classList.toggle('no-room', !room);
    // One h1: the room's name, or (with no room open, as on /) the site's.
    if (sideTitle) {
      if (room) sideTitle.setAttribute('role', 'none');
      else sideTitle.removeAttribute('role');
    }
    pump();
  }

  // --- the connection ------------------------------------------------------------------

  let generation = 0; // bumped by every connect and disconnect: older retries stop
  let joinSeq = 0; // bumped by every join: an older join's answer is stale
  const reported = new Map(); // room -> the read mark sent in this connection

  listen(socket, {
    recieve_message: onMessage,
    rejoin_room: (d) =>
      dispatch({
        type: 'history',
        room: d.room,
        messages: d.messages || [],
        has_more: d.has_more,
        reset: d.reset,
      }),
    message_edited: (m) => dispatch({ type: 'edited', message: m }),
    message_deleted: (d) => {
      if (composer.editingId() === d.id) composer.stopEdit();
      dispatch({ type: 'deleted', room: d.room, id: d.id });
    },
    messages_seen: (d) =>
      dispatch({ type: 'seen_by', room: d.room, username: d.username, message_id: d.message_id }),
    typing_on: onTyping,
    join_room_announcement: (d) =>
      dispatch({ type: 'announced', room: d.room, username: d.username, joined: true }),
    leave_room_announcement: (d) => {
      clearTimeout(typingTimers.get(typingKey(d)));
      dispatch({ type: 'announced', room: d.room, username: d.username, joined: false });
    },
    chat_error: (d) => console.warn('chat_error', d.event, d.code, d.message),
    room_added: (summary) => {
      dispatch({ type: 'room_added', summary });
      if (state.connection.watch === 'on') watchRooms(); // so its messages reach this page too
    },
    room_removed: (d) => {
      const wasOpen = state.rooms.current === d.room;
      dispatch({ type: 'room_removed', room: d.room });
      if (wasOpen) history.pushState({ room: null }, '', '/');
    },
    presence_changed: (d) => dispatch({ type: 'presence', username: d.username, online: Boolean(d.online) }),
    signed_out: goToSignIn,
  });

  socket.on('connect', () => {
    generation += 1;
    reported.clear();
    dispatch({ type: 'connected' });
    watchRooms();
    if (state.rooms.current) joinCurrent();
  });

  socket.on('disconnect', (reason) => {
    generation += 1;
    dispatch({ type: 'disconnected' });
    for (const timer of typingTimers.values()) clearTimeout(timer);
    // The server let go of us on purpose (it restarts, or our session ended): try
    // again; a refusal then comes back as connect_error "unauthorized".
    if (reason === 'io server disconnect' && !leaving) setTimeout(() => socket.connect(), 1000);
  });

  socket.on('connect_error', (err) => {
    if (err && err.message === 'unauthorized') {
      goToSignIn();
      return;
    }
    dispatch({ type: 'connect_failed' });
    if (!socket.active && !leaving) setTimeout(() => socket.connect(), 3000);
  });

  window.addEventListener('online', () => dispatch({ type: 'network', online: navigator.onLine }));
  window.addEventListener('offline', () => dispatch({ type: 'network', online: navigator.onLine }));

  // Every room of the user, live: their messages reach this page without joining them.
  function watchRooms() {
    if (state.connection.watch === 'unsupported') {
      refreshRooms();
      return;
    }
    const gen = generation;
    requestWithRetry(socket, 'watch_rooms', {}, { active: () => gen === generation })
      .then((res) => {
        if (gen !== generation) return;
        dispatch({ type: 'watch', status: 'on' });
        dispatch({ type: 'rooms_listed', rooms: res.rooms || [], watching: true });
      })
      .catch((err) => {
        if (!isUnknownEvent(err)) return;
        // An older server: the list comes from GET /api/rooms, refreshed now and then.
        dispatch({ type: 'watch', status: 'unsupported' });
        refreshRooms();
      });
  }

  function refreshRooms() {
    api.rooms().then(
      (rooms) => dispatch({ type: 'rooms_listed', rooms, watching: false }),
      () => {},
    );
  }

  setInterval(() => {
    if (state.connection.watch === 'unsupported' && document.visibilityState === 'visible') refreshRooms();
  }, ROOM_LIST_POLL);

  function joinCurrent() {
    const room = currentRoom(state);
    if (!room || !socket.connected) return;
    const seq = ++joinSeq;
    const gen = generation;
    const tl = timelineOf(state, room.name);
    const lastId = tl.loaded && tl.syncedId !== null ? tl.syncedId : null;
    const payload = { room: room.name };
    if (lastId !== null) payload.last_id = lastId;
    const stillWanted = () => seq === joinSeq && gen === generation && state.rooms.current === room.name;
    dispatch({ type: 'join_started', room: room.name, lastId });
    requestWithRetry(socket, 'joined_room', payload, {
      active: stillWanted,
      onRetry: (error) => dispatch({ type: 'join_failed', room: room.name, error, final: false }),
    })
      .then((res) => {
        if (!stillWanted()) {
          if (gen === generation) request(socket, 'leave_room', { room: room.name }).catch(() => {});
          return;
        }
        // Read marks follow once the view has placed the room and sees what is on screen.
        dispatch({
          type: 'joined',
          room: room.name,
          online: res.online,
          seen: res.seen,
          watching: state.connection.watch === 'on',
        });
      })
      .catch((error) => {
        if (!stillWanted() || error.code === 'disconnected') return;
        dispatch({
          type: 'join_failed',
          room: room.name,
          error: { code: error.code, message: joinErrorText(error) },
          final: true,
        });
      });
  }

  $('status-retry').addEventListener('click', joinCurrent);

  function joinErrorText(error, peer = null) {
    if (error.code === 'not_found' && peer) return `there is no user named ${peer}`;
    if (error.code === 'not_found') return 'it does not exist';
    if (error.code === 'forbidden') return 'it belongs to two other people';
    if (error.code === 'timeout') return 'the server did not answer';
    if (error.code === 'disconnected') return 'the connection is down';
    return error.message;
  }

  // --- switching rooms -----------------------------------------------------------------

  function leave(name) {
    const room = state.rooms.byName[name];
    if (!room) return;
    if (room.join !== 'idle' && socket.connected)
      request(socket, 'leave_room', { room: name }).catch(() => {});
    dispatch({ type: 'left', room: name });
  }

  function openRoom(name, { push = true, title = null } = {}) {
    closeDrawer();
    if (name === state.rooms.current) {
      composer.focus();
      return;
    }
    if (state.rooms.current) leave(state.rooms.current);
    dispatch({ type: 'opened', room: name, title: name && !state.rooms.byName[name] ? title : null });
    if (push) history.pushState({ room: name }, '', name ? roomUrl(state.rooms.byName[name]) : '/');
    joinSeq += 1; // whatever was joining before is no longer wanted
    if (name) joinCurrent();
    if (state.connection.watch !== 'on') refreshRooms();
    composer.focus();
  }

  // From the finder: the room must exist (or be creatable) before the page switches.
  async function openByForm(target) {
    const name = target.room || directRoomName(ME, target.peer);
    const known = state.rooms.byName[name];
    if (name === state.rooms.current || (known && known.member)) {
      openRoom(name);
      return;
    }
    let res;
    try {
      res = await request(socket, 'joined_room', target.room ? { room: name } : { peer: target.peer });
    } catch (error) {
      throw new Error(
        `Could not open ${target.room ? `#${name}` : `a chat with ${target.peer}`}: ${joinErrorText(error, target.peer)}.`,
      );
    }
    openRoom(res.room, { title: target.peer || null });
  }

  window.addEventListener('popstate', () => openRoom(roomFromLocation(), { push: false }));

  function roomFromLocation() {
    const query = new URLSearchParams(window.location.search);
    if (query.get('room')) return query.get('room');
    if (query.get('with')) return directRoomName(ME, query.get('with'));
    return null;
  }

  async function removeRoom(name) {
    const room = state.rooms.byName[name];
    if (!room) return;
    const label = roomLabel(room);
    const status = $('sidebar-status');
    try {
      await api.removeMembership(name);
    } catch (error) {
      status.textContent = `Could not remove ${label}: ${error.message}.`;
      return;
    }
    if (state.rooms.current === name) {
      leave(name);
      history.pushState({ room: null }, '', '/');
    }
    dispatch({ type: 'room_removed', room: name });
    status.textContent = `${label} is no longer in your list.`;
    $('finder-toggle').focus(); // the button that was focused is gone
  }

  async function searchDirectory(q) {
    try {
      return { rooms: await api.directory(q) };
    } catch (error) {
      if (error.status === 404) return { error: 'Browsing rooms is not available on this server yet.' };
      return { error: `Could not load the directory: ${error.message}.` };
    }
  }

  // --- messages --------------------------------------------------------------------------

  function onMessage(m) {
    if (!m || typeof m.id !== 'number' || typeof m.room !== 'string') return;
    const before = timelineOf(state, m.room);
    const fresh = !before || !hasMessage(before, m.id);
    const visibleTab = document.visibilityState === 'visible';
    const attentive = m.room === state.rooms.current && visibleTab && conversation.atBottom();
    dispatch({ type: 'message', message: m, attentive });
    if (!fresh || sameUser(m.username, ME) || m.deleted) return;
    if (m.room === state.rooms.current) announce(`${m.username}: ${m.message}`);
    if (shouldNotify(state, m, { looking: visibleTab && document.hasFocus() })) attention.alert(state, m);
  }

  const typingTimers = new Map();
  const typingKey = (d) => `${d.room}\n${String(d.username).toLowerCase()}`;

  function onTyping(d) {
    const key = typingKey(d);
    clearTimeout(typingTimers.get(key));
    dispatch({ type: 'typing', room: d.room, username: d.username, typing: Boolean(d.typing) });
    if (d.typing) {
      const stop = () => dispatch({ type: 'typing', room: d.room, username: d.username, typing: false });
      typingTimers.set(key, setTimeout(stop, TYPING_EXPIRE));
    }
  }

  function announce(text) {
    const live = $('announcer');
    const line = document.createElement('p');
    line.textContent = text.length > 300 ? `${text.slice(0, 300)}…` : text;
    live.append(line);
    while (live.childElementCount > 3) live.firstElementChild.remove();
  }

  // Read receipts only for what is on screen in a tab you can see.
  function markSeen() {
    const room = currentRoom(state);
    if (!room || room.join !== 'joined' || document.visibilityState !== 'visible') return;
    const id = conversation.newestVisibleId();
    if (id === null || id <= (reported.get(room.name) ?? timelineOf(state, room.name).readId ?? 0)) return;
    reported.set(room.name, id);
    dispatch({ type: 'read', room: room.name, id });
    request(socket, 'mark_seen', { room: room.name, message_id: id }).catch(() => {
      if (reported.get(room.name) === id) reported.delete(room.name); // try again later
    });
  }

  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState !== 'visible') return;
    markSeen();
    if (state.connection.watch === 'unsupported') refreshRooms();
  });

  let olderFailedAt = 0;
  function loadOlder() {
    const meta = currentRoom(state);
    const room = meta && timelineOf(state, meta.name);
    if (!room || !room.loaded || !room.hasMore || room.loadingOlder || !room.messages.length) return;
    if (Date.now() - olderFailedAt < 5000) return;
    dispatch({ type: 'older_requested', room: room.name });
    request(socket, 'load_history', { room: room.name, before_id: room.messages[0].id, limit: 50 }).then(
      (res) =>
        dispatch({
          type: 'history',
          room: room.name,
          messages: res.messages,
          has_more: res.has_more,
          older: true,
        }),
      () => {
        olderFailedAt = Date.now();
        dispatch({ type: 'older_failed', room: room.name });
      },
    );
  }

  // --- sending ---------------------------------------------------------------------------

  function queueMessage(text) {
    const room = currentRoom(state);
    if (!room) return;
    conversation.stickToBottom();
    dispatch({
      type: 'queued',
      entry: { client_id: newClientId(), room: room.name, text, queued_at: Date.now() },
    });
  }

  // One message at a time per room, each until the server has it; a resend keeps its
  // client_id, so the server stores and broadcasts it once however often it goes out.
  let pumpTimer = null;
  function pump() {
    clearTimeout(pumpTimer);
    pumpTimer = null;
    const next = nextToSend(state, Date.now());
    if (!next) return;
    if (next.wait !== undefined) {
      pumpTimer = setTimeout(pump, next.wait);
      return;
    }
    const entry = next.entry;
    const attempt = entry.attempts + 1;
    dispatch({ type: 'send_started', client_id: entry.client_id });
    request(socket, 'send_message', {
      room: entry.room,
      message: entry.text,
      client_id: entry.client_id,
    }).then(
      (res) =>
        dispatch({ type: 'send_acked', client_id: entry.client_id, id: res.id, created_at: res.created_at }),
      (error) => {
        let wait = retryDelay(error, attempt - 1);
        if (error.code === 'disconnected') wait = 1000; // and the reconnect sends it anyway
        if (error.code === 'not_in_room') {
          wait = 1000;
          joinCurrent();
        }
        dispatch({
          type: 'send_failed',
          client_id: entry.client_id,
          attempt,
          error: { code: error.code, message: sendErrorText(error) },
          retryAt: wait === null ? null : Date.now() + wait,
        });
      },
    );
  }

  function sendErrorText(error) {
    if (error.code === 'too_long') return 'it is over 4,000 characters';
    if (error.code === 'forbidden') return 'you may not write here';
    if (error.code === 'rate_limited') return 'sending too fast';
    if (error.code === 'timeout') return 'no answer from the server';
    return error.message;
  }

  async function editMessage(id, text) {
    const room = currentRoom(state);
    if (!room) throw new Error('no room is open');
    try {
      await request(socket, 'edit_message', { room: room.name, id, message: text });
    } catch (error) {
      throw new Error(error.code === 'disconnected' ? 'the connection is down' : sendErrorText(error));
    }
  }

  function confirmDelete(id) {
    const dialog = $('confirm-delete');
    dialog.returnValue = '';
    dialog.addEventListener(
      'close',
      () => {
        if (dialog.returnValue !== 'delete') return;
        const room = currentRoom(state);
        if (!room) return;
        request(socket, 'delete_message', { room: room.name, id }).catch((error) =>
          composer.showError(`Could not delete the message: ${sendErrorText(error)}.`),
        );
        composer.focus();
      },
      { once: true },
    );
    dialog.showModal();
  }

  // --- the drawer (phones) and signing out ---------------------------------------------

  const drawerButton = $('open-drawer');
  function openDrawer() {
    root.classList.add('drawer-open');
    drawerButton.setAttribute('aria-expanded', 'true');
    const target = document.querySelector('#sidebar [aria-current="page"]') || $('finder-toggle');
    target.focus();
  }
  function closeDrawer() {
    if (!root.classList.contains('drawer-open')) return;
    root.classList.remove('drawer-open');
    drawerButton.setAttribute('aria-expanded', 'false');
  }
  drawerButton.addEventListener('click', openDrawer);
  $('close-drawer').addEventListener('click', () => {
    closeDrawer();
    drawerButton.focus();
  });
  $('backdrop').addEventListener('click', closeDrawer);
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && root.classList.contains('drawer-open')) {
      closeDrawer();
      drawerButton.focus();
    }
  });

  // Signing out in one tab reaches the others at once (the server's signed_out event
  // covers other browsers and "sign out everywhere").
  let leaving = false;
  const tabs = 'BroadcastChannel' in window ? new BroadcastChannel('chat-on-flask.session') : null;
  if (tabs) {
    tabs.onmessage = (event) => {
      if (event.data && event.data.type === 'signed_out' && sameUser(event.data.username, ME)) goToSignIn();
    };
  }
  $('sign-out').addEventListener('submit', () => {
    leaving = true;
    if (tabs) tabs.postMessage({ type: 'signed_out', username: ME });
  });

  function goToSignIn() {
    if (leaving) return; // this tab is signing out already (or on its way to sign in)
    leaving = true;
    socket.disconnect();
    const next = window.location.pathname + window.location.search;
    window.location.assign(`/login?next=${encodeURIComponent(next)}`);
  }

  history.replaceState({ room: state.rooms.current }, '', window.location.href);
  flush();
  composer.focus();
}
