'use strict';

// The open conversation: header, connection status, the timeline, who is typing, who is
// here, and the dialog that confirms a delete. It renders from the store (through
// timelineItems(); the messages themselves are message.js's) and never reads state back
// from the DOM; what it measures is geometry (is the list at the bottom, which messages
// are on screen, where the reader is), which it reports to the effects through main.js.
// It keeps the place: at the bottom while you are there, still while history comes in
// above, at the message opened in context, at the first unread one on opening a room.

import { h, reconcile, setText } from './dom.js';
import { createMessageNodes } from './message.js';
import { timelineItems } from './timeline-items.js';
import { currentRoom, peopleHere, roomLabel } from '../state/rooms.js';
import { timelineOf } from '../state/timeline.js';

const BOTTOM_SLACK = 48; // px from the bottom that still counts as "at the bottom"
const SEEN_RATIO = 0.6; // this much of a message on screen counts as read
const PLACE_DELAY = 300; // ms of quiet scrolling before the place is reported

function plural(n, one, many) {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}

export function statusText(state, room) {
  const connection = state.connection;
  if (connection.status === 'connecting') return { text: 'Connecting…', kind: 'info' };
  if (connection.status === 'reconnecting') {
    if (!connection.online) {
      return { text: 'You are offline. What you write is sent when the connection is back.', kind: 'warn' };
    }
    return { text: 'Connection lost. Reconnecting…', kind: 'warn' };
  }
  if (connection.status === 'unreachable') {
    return { text: 'The chat server cannot be reached right now. Trying again…', kind: 'warn' };
  }
  if (!room) return null;
  if (room.join === 'retrying')
    return { text: `Opening ${roomLabel(room)} is taking longer than usual. Trying again…`, kind: 'warn' };
  if (room.join === 'failed') {
    const why = room.joinError ? room.joinError.message : 'the server said no';
    return { text: `Could not open ${roomLabel(room)}: ${why}.`, kind: 'error', retry: true };
  }
  if (room.join === 'joining' || room.join === 'idle')
    return { text: `Opening ${roomLabel(room)}…`, kind: 'info' };
  return null;
}

function typingText(names) {
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  if (names.length > 2) return 'Several people are typing…';
  return '';
}

// handlers: onVisible() (what is on screen changed), onLoadOlder(), onLoadNewer(),
// onBackToLive(), onPlace({room, id, offset, atBottom}), onRetryJoin(), and those of
// message.js (onDelete is called once the dialog confirms it).
export function createConversation(doc, handlers) {
  const $ = (id) => doc.getElementById(id);
  const els = {
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
    confirm: $('confirm-delete'),
    roomParts: [...doc.querySelectorAll('[data-room-part]')],
  };
  const cache = new Map(); // item key -> {node, item}
  const idOf = new WeakMap(); // message node -> message id
  const visible = new Set(); // ids of messages on screen
  let shownRoom = null;
  let positioned = false;
  let placedSeq = 0; // the reader's last target brought into view
  let stick = true; // keep the newest message in view
  let lastState = null;
  let firstKey = null; // the oldest message shown: when it changes, history came in above
  let shownEditing = null;
  let placeTimer = null;

  const messages = createMessageNodes({ ...handlers, onDelete: confirmDelete });

  const seenObserver = new IntersectionObserver(
    (entries) => {
      for (const entry of entries) {
        const id = idOf.get(entry.target);
        if (id === undefined) continue;
        const tall = entry.rootBounds && entry.intersectionRect.height >= entry.rootBounds.height * 0.5;
        if (entry.isIntersecting && (entry.intersectionRatio >= SEEN_RATIO || tall)) visible.add(id);
        else visible.delete(id);
      }
      handlers.onVisible();
    },
    { root: els.list, threshold: [0, 0.25, 0.5, SEEN_RATIO, 0.8, 1] },
  );

  const edgeObserver = new IntersectionObserver(
    (entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        if (entry.target.classList.contains('older')) handlers.onLoadOlder();
        else handlers.onLoadNewer();
      }
    },
    { root: els.list, rootMargin: '400px 0px 400px 0px' },
  );

  // Observing again makes the observer report every message afresh.
  function rewatch() {
    visible.clear();
    for (const [key, entry] of cache) {
      if (!key.startsWith('m')) continue;
      seenObserver.unobserve(entry.node);
      seenObserver.observe(entry.node);
    }
  }

  function atBottom() {
    const list = els.list;
    return list.scrollHeight - list.scrollTop - list.clientHeight < BOTTOM_SLACK;
  }

  function scrollToBottom() {
    els.list.scrollTop = els.list.scrollHeight;
  }

  // Where `node` starts in the list's scrolled content.
  function topOf(node) {
    return node.getBoundingClientRect().top - els.list.getBoundingClientRect().top + els.list.scrollTop;
  }

  function detached() {
    return Boolean(lastState && shownRoom && lastState.reader.detached && lastState.reader.room === shownRoom);
  }

  // The first message at least partly on screen, and how far down the screen it starts.
  function reportPlace() {
    if (!shownRoom || !positioned) return;
    const top = els.list.scrollTop;
    for (const node of els.list.children) {
      const id = idOf.get(node);
      if (id === undefined) continue;
      const start = topOf(node);
      if (start + node.offsetHeight > top) {
        const bottom = atBottom() && !detached();
        handlers.onPlace({ room: shownRoom, id, offset: start - top, atBottom: bottom });
        return;
      }
    }
  }

  els.list.addEventListener('scroll', () => {
    stick = atBottom() && !detached();
    renderJump();
    clearTimeout(placeTimer);
    placeTimer = setTimeout(reportPlace, PLACE_DELAY);
  });
  // The list grows shorter when a banner or the typing line appears under it: the newest
  // message stays in view.
  new ResizeObserver(() => {
    if (stick && positioned) scrollToBottom();
  }).observe(els.list);
  els.jump.addEventListener('click', () => {
    stick = true;
    if (detached()) handlers.onBackToLive();
    scrollToBottom();
    renderJump();
    handlers.onVisible();
  });
  els.statusRetry.addEventListener('click', () => handlers.onRetryJoin());

  // --- items ---------------------------------------------------------------------------

  function edge(item) {
    const older = item.type === 'older';
    const button = h('button', {
      type: 'button',
      className: 'edge-button',
      on: { click: older ? handlers.onLoadOlder : handlers.onLoadNewer },
    });
    const li = h('li', { className: `edge ${item.type}` }, button);
    updateEdge(li, item);
    edgeObserver.observe(li);
    return li;
  }

  function updateEdge(li, item) {
    const button = li.firstChild;
    const older = item.type === 'older';
    button.disabled = item.loading;
    const what = older ? 'older' : 'newer';
    setText(button, item.loading ? `Loading ${what} messages…` : `Load ${what} messages`);
    return li;
  }

  function create(item) {
    switch (item.type) {
      case 'start':
        return h('li', { className: 'start' }, h('strong', {}, `This is the beginning of ${item.label}.`));
      case 'older':
      case 'newer':
        return edge(item);
      case 'day':
        return h('li', { className: 'day' }, h('span', {}, item.label));
      case 'divider':
        return h('li', { className: 'divider' }, h('span', {}, 'New messages'));
      case 'notice':
        return h('li', { className: 'notice' }, `${item.username} ${item.joined ? 'joined' : 'left'}`);
      case 'pending':
        return messages.pending(item, lastState ? lastState.me : '');
      default: {
        const li = messages.create(item);
        idOf.set(li, item.message.id);
        seenObserver.observe(li);
        return li;
      }
    }
  }

  function update(node, item, previous) {
    if (item.type === 'message') return messages.update(node, item, previous);
    if (item.type === 'pending') return item.entry === previous.entry ? node : create(item);
    if (item.type === 'older' || item.type === 'newer') return updateEdge(node, item);
    if (item.type === 'day') return item.label === previous.label ? node : create(item);
    return node;
  }

  function confirmDelete(id) {
    const dialog = els.confirm;
    dialog.returnValue = '';
    const back = doc.activeElement;
    dialog.addEventListener(
      'close',
      () => {
        if (dialog.returnValue === 'delete') handlers.onDelete(id);
        else if (back && back.isConnected) back.focus();
      },
      { once: true },
    );
    dialog.showModal();
  }

  // --- the rest of the pane ------------------------------------------------------------

  function renderJump() {
    const room = lastState && currentRoom(lastState);
    const unread = room ? timelineOf(lastState, room.name).unread : 0;
    const far =
      !atBottom() &&
      els.list.scrollHeight - els.list.scrollTop - els.list.clientHeight > els.list.clientHeight / 3;
    els.jump.hidden = !room || !(far || detached());
    if (room) {
      setText(
        els.jump.querySelector('.jump-label'),
        unread > 0 ? `${plural(unread, 'new message', 'new messages')}` : 'Jump to latest',
      );
    }
  }

  function renderHeader(state, room) {
    setText(els.title, roomLabel(room));
    const here = peopleHere(state, room);
    let presence = '';
    if (room.kind === 'direct') presence = here.length > 1 ? 'online' : 'offline';
    else if (here.length) presence = `${here.length} online`;
    setText(els.presence, presence);
    els.presence.dataset.online = String(room.kind === 'direct' ? here.length > 1 : here.length > 0);
    els.presence.title = here.join(', ');
  }

  function renderPeople(state, room) {
    const names = peopleHere(state, room).sort((a, b) => a.localeCompare(b));
    els.people.replaceChildren(
      ...names.map((name) => h('li', { className: name.toLowerCase() === state.me.toLowerCase() ? 'me' : '' }, name)),
    );
  }

  function renderStatus(state, room) {
    const status = statusText(state, room);
    els.status.hidden = !status;
    if (!status) return;
    els.status.dataset.kind = status.kind;
    setText(els.statusText, status.text);
    els.statusRetry.hidden = !status.retry;
  }

  function switchTo(room) {
    for (const entry of cache.values()) entry.node.remove();
    cache.clear();
    visible.clear();
    shownRoom = room ? room.name : null;
    firstKey = null;
    positioned = false;
    stick = true;
  }

  // Brings the reader's target into view once it is there; true when the place is set.
  function placeTarget(state, room) {
    const reader = state.reader;
    const target = reader.room === room.name ? reader.target : null;
    if (!target || target.seq === placedSeq) return false;
    const entry = cache.get(`m${target.id}`);
    if (!entry) {
      if (reader.loading) return true; // it is on its way: keep still meanwhile
      placedSeq = target.seq; // not to be had: the room opens as usual
      return false;
    }
    placedSeq = target.seq;
    positioned = true;
    rewatch();
    const list = els.list;
    if (target.offset !== null) list.scrollTop = topOf(entry.node) - target.offset;
    else list.scrollTop = topOf(entry.node) - Math.max(0, (list.clientHeight - entry.node.offsetHeight) / 2);
    stick = atBottom() && !detached();
    return true;
  }

  function placeFirst() {
    const list = els.list;
    positioned = true;
    rewatch(); // what is on screen from here on, not what was before the jump
    const divider = cache.get('divider');
    if (divider) {
      list.scrollTop = Math.max(0, topOf(divider.node) - 16);
      stick = atBottom();
    } else {
      scrollToBottom();
      stick = true;
    }
  }

  // The message being edited stays in view above the banner.
  function revealEditing(state) {
    const editing = state.compose.editing;
    if (editing === shownEditing) return;
    shownEditing = editing;
    const entry = editing !== null && cache.get(`m${editing}`);
    if (entry) entry.node.scrollIntoView({ block: 'nearest' });
  }

  function render(state) {
    lastState = state;
    const room = currentRoom(state);
    if ((room ? room.name : null) !== shownRoom) switchTo(room);
    renderStatus(state, room);
    els.pane.classList.toggle('no-room', !room);
    els.welcome.hidden = Boolean(room);
    els.roomParts.forEach((node) => {
      node.hidden = !room;
    });
    if (!room) {
      els.jump.hidden = true;
      return;
    }
    renderHeader(state, room);
    renderPeople(state, room);
    setText(els.typing, typingText(room.typing));

    const list = els.list;
    const wasAtBottom = stick && !detached();
    const firstBefore = firstKey;
    const heightBefore = list.scrollHeight;
    const topBefore = list.scrollTop;
    const items = timelineItems(state, room);
    const firstMessage = items.find((item) => item.type === 'message');
    firstKey = firstMessage ? firstMessage.key : null;
    reconcile(list, items, cache, { create, update });
    for (const id of [...visible]) if (!cache.has(`m${id}`)) visible.delete(id);

    const ready = room.join === 'joined' && timelineOf(state, room.name).loaded;
    if (placeTarget(state, room)) {
      // placed at the message opened in context, or waiting for it
    } else if (!positioned && ready) {
      placeFirst();
    } else if (wasAtBottom) {
      scrollToBottom();
    } else if (firstBefore !== null && firstBefore !== firstKey) {
      list.scrollTop = topBefore + (list.scrollHeight - heightBefore); // older ones came in above
    }
    revealEditing(state);
    // Still near the top (a short page, or older history that did not fill the screen):
    // the observer reports no change, so ask for more here.
    const top = items[0];
    if (positioned && top && top.type === 'older' && !top.loading && list.scrollTop < 400) {
      setTimeout(handlers.onLoadOlder, 0);
    }
    renderJump();
  }

  return {
    render,
    atBottom: () => atBottom(),
    // The newest message at least SEEN_RATIO on screen: what may be marked as read.
    newestVisibleId: () => (positioned && visible.size ? Math.max(...visible) : null),
    stickToBottom() {
      stick = true;
    },
  };
}
