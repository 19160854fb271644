'use strict';

// The open conversation: header, connection status, the timeline, who is typing, who is
// online, and the dialog that confirms a delete. It renders from the store (through
// timelineItems()) and never reads state back from the DOM; what it measures is geometry
// (is the list scrolled to the bottom, which messages are on screen), which it reports to
// the effects through main.js.

import { h, reconcile, setText } from './dom.js';
import { fullWhen, linkify, timeLabel } from '../format.js';
import { currentRoom, roomLabel } from '../state/rooms.js';
import { timelineOf } from '../state/timeline.js';
import { timelineItems } from './timeline-items.js';

const BOTTOM_SLACK = 48; // px from the bottom that still counts as "at the bottom"
const SEEN_RATIO = 0.6; // this much of a message on screen counts as read

function plural(n, one, many) {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}

function bodyNodes(text) {
  return linkify(text).map((part) =>
    part.href
      ? h('a', { href: part.href, target: '_blank', rel: 'noopener noreferrer nofollow' }, part.text)
      : document.createTextNode(part.text),
  );
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

// handlers: onVisible() (what is on screen changed), onLoadOlder(), onEdit(id),
// onDelete(id) (confirmed), onRetry(clientId), onDiscard(clientId), onRetryJoin().
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
  const parts = new WeakMap(); // message node -> its slots
  const idOf = new WeakMap(); // message node -> message id
  const visible = new Set(); // ids of messages on screen
  let shownRoom = null;
  let positioned = false;
  let stick = true; // keep the newest message in view
  let openMenu = null; // the message id whose actions are open
  let lastState = null;
  let firstKey = null; // the oldest message shown: when it changes, history came in above

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

  const olderObserver = new IntersectionObserver(
    (entries) => {
      if (entries.some((e) => e.isIntersecting)) handlers.onLoadOlder();
    },
    { root: els.list, rootMargin: '400px 0px 0px 0px' },
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

  els.list.addEventListener('scroll', () => {
    stick = atBottom();
    renderJump();
  });
  els.jump.addEventListener('click', () => {
    stick = true;
    scrollToBottom();
    renderJump();
    handlers.onVisible();
  });
  els.statusRetry.addEventListener('click', () => handlers.onRetryJoin());
  doc.addEventListener('click', (event) => {
    if (openMenu !== null && !event.target.closest('.actions')) closeMenu(false);
  });

  // --- items ---------------------------------------------------------------------------

  function create(item) {
    switch (item.type) {
      case 'start':
        return h('li', { className: 'start' }, h('strong', {}, `This is the beginning of ${item.label}.`));
      case 'older': {
        const button = h('button', {
          type: 'button',
          className: 'older-button',
          on: { click: handlers.onLoadOlder },
        });
        const li = h('li', { className: 'older' }, button);
        parts.set(li, { button });
        update(li, item, null);
        olderObserver.observe(li);
        return li;
      }
      case 'day':
        return h('li', { className: 'day' }, h('span', {}, item.label));
      case 'divider':
        return h('li', { className: 'divider' }, h('span', {}, 'New messages'));
      case 'notice':
        return h('li', { className: 'notice' }, `${item.username} ${item.joined ? 'joined' : 'left'}`);
      case 'pending':
        return pendingNode(item);
      default:
        return messageNode(item);
    }
  }

  function update(node, item, previous) {
    if (item.type === 'message') return fillMessage(node, item, previous);
    if (item.type === 'pending') return item.entry === previous.entry ? node : pendingNode(item);
    if (item.type === 'older') {
      const { button } = parts.get(node);
      button.disabled = item.loading;
      setText(button, item.loading ? 'Loading older messages…' : 'Load older messages');
      return node;
    }
    if (item.type === 'day') return item.label === previous.label ? node : create(item);
    return node;
  }

  function messageNode(item) {
    const li = h('li');
    const slots = {
      head: h('div', { className: 'head' }),
      body: h('div', { className: 'body' }),
      seen: h('div', { className: 'seen' }),
    };
    li.append(slots.head, slots.body, slots.seen);
    parts.set(li, slots);
    idOf.set(li, item.message.id);
    fillMessage(li, item, null);
    seenObserver.observe(li);
    return li;
  }

  function fillMessage(li, item, previous) {
    const m = item.message;
    const slots = parts.get(li);
    li.className = ['msg', item.mine && 'mine', item.continued && 'continued', m.deleted && 'deleted']
      .filter(Boolean)
      .join(' ');
    li.dataset.id = String(m.id);
    li.title = item.continued ? fullWhen(m.created_at) : ''; // its time, shown on hover
    const changed = !previous || previous.message !== m || previous.continued !== item.continued;
    if (changed) {
      const time = h(
        'time',
        { datetime: m.created_at, title: fullWhen(m.created_at) },
        timeLabel(m.created_at),
      );
      slots.head.replaceChildren(h('span', { className: 'author' }, m.username), ' ', time);
      if (m.deleted) {
        slots.body.replaceChildren('This message was deleted.');
      } else {
        slots.body.replaceChildren(...bodyNodes(m.message));
        if (m.edited_at)
          slots.body.append(
            ' ',
            h('span', { className: 'edited', title: `Edited ${fullWhen(m.edited_at)}` }, '(edited)'),
          );
      }
    }
    const seen = item.seenBy ? `Seen by ${item.seenBy.join(', ')}` : '';
    setText(slots.seen, seen);
    slots.seen.hidden = !seen;
    const wantActions = item.mine && !m.deleted;
    if (wantActions && !slots.actions) {
      slots.actions = actionsNode(m);
      li.append(slots.actions);
    } else if (!wantActions && slots.actions) {
      if (openMenu === m.id) openMenu = null;
      slots.actions.remove();
      slots.actions = null;
    }
    if (slots.actions && changed) {
      slots.actions
        .querySelector('.actions-toggle')
        .setAttribute('aria-label', `Actions for your message from ${timeLabel(m.created_at)}`);
    }
    return li;
  }

  function actionsNode(m) {
    const id = m.id;
    const toggle = h(
      'button',
      {
        type: 'button',
        className: 'actions-toggle',
        'aria-expanded': 'false',
        'aria-label': `Actions for your message from ${timeLabel(m.created_at)}`,
        on: { click: () => (openMenu === id ? closeMenu(true) : openMenuFor(id)) },
      },
      h('span', { 'aria-hidden': 'true' }, '⋯'),
    );
    const edit = h(
      'button',
      {
        type: 'button',
        className: 'menu-item',
        on: {
          click: () => {
            closeMenu(false);
            handlers.onEdit(id);
          },
        },
      },
      'Edit',
    );
    const remove = h(
      'button',
      {
        type: 'button',
        className: 'menu-item danger',
        on: {
          click: () => {
            closeMenu(false);
            confirmDelete(id);
          },
        },
      },
      'Delete',
    );
    const menu = h(
      'div',
      { className: 'actions-menu', role: 'group', 'aria-label': 'Message actions', hidden: true },
      edit,
      remove,
    );
    const box = h(
      'div',
      {
        className: 'actions',
        on: {
          keydown: (event) => {
            if (event.key === 'Escape' && openMenu === id) {
              event.stopPropagation();
              closeMenu(true);
            }
          },
        },
      },
      toggle,
      menu,
    );
    return box;
  }

  function menuParts(id) {
    const entry = cache.get(`m${id}`);
    const slots = entry && parts.get(entry.node);
    if (!slots || !slots.actions) return null;
    return {
      toggle: slots.actions.querySelector('.actions-toggle'),
      menu: slots.actions.querySelector('.actions-menu'),
    };
  }

  function openMenuFor(id) {
    if (openMenu !== null) closeMenu(false);
    const p = menuParts(id);
    if (!p) return;
    openMenu = id;
    p.menu.hidden = false;
    p.toggle.setAttribute('aria-expanded', 'true');
    p.menu.querySelector('button').focus();
  }

  function closeMenu(refocus) {
    const p = openMenu !== null ? menuParts(openMenu) : null;
    openMenu = null;
    if (!p) return;
    p.menu.hidden = true;
    p.toggle.setAttribute('aria-expanded', 'false');
    if (refocus) p.toggle.focus();
  }

  function confirmDelete(id) {
    const dialog = els.confirm;
    dialog.returnValue = '';
    dialog.addEventListener(
      'close',
      () => {
        if (dialog.returnValue === 'delete') handlers.onDelete(id);
      },
      { once: true },
    );
    dialog.showModal();
  }

  function pendingNode(item) {
    const e = item.entry;
    const status = {
      queued: 'Waiting for the connection…',
      sending: 'Sending…',
      waiting: 'Sending too fast: it goes out again in a moment…',
      failed: `Not sent: ${e.error ? e.error.message : 'refused'}.`,
    }[e.state];
    const head = h(
      'div',
      { className: 'head' },
      h('span', { className: 'author' }, lastState ? lastState.me : ''),
      ' ',
      h('span', { className: 'pending-status' }, status),
    );
    if (e.state === 'waiting' && e.error && e.error.code !== 'rate_limited') {
      head.lastChild.textContent = 'No answer yet: trying again…';
    }
    const li = h(
      'li',
      { className: `msg mine pending ${e.state}` },
      head,
      h('div', { className: 'body' }, ...bodyNodes(e.text)),
    );
    if (e.state === 'failed') {
      li.append(
        h(
          'div',
          { className: 'pending-actions' },
          h(
            'button',
            { type: 'button', className: 'link', on: { click: () => handlers.onRetry(e.client_id) } },
            'Try again',
          ),
          h(
            'button',
            {
              type: 'button',
              className: 'link danger',
              on: { click: () => handlers.onDiscard(e.client_id) },
            },
            'Discard',
          ),
        ),
      );
    }
    return li;
  }

  // --- the rest of the pane ------------------------------------------------------------

  function renderJump() {
    const room = lastState && currentRoom(lastState);
    const unread = room ? timelineOf(lastState, room.name).unread : 0;
    const far =
      !atBottom() &&
      els.list.scrollHeight - els.list.scrollTop - els.list.clientHeight > els.list.clientHeight / 3;
    els.jump.hidden = !room || !far;
    if (room) {
      setText(
        els.jump.querySelector('.jump-label'),
        unread > 0 ? `${plural(unread, 'new message', 'new messages')}` : 'Jump to latest',
      );
    }
  }

  function renderHeader(room) {
    setText(els.title, roomLabel(room));
    let presence = '';
    if (room.kind === 'direct') {
      if (room.peerOnline !== null) presence = room.peerOnline ? 'online' : 'offline';
    } else if (room.online.length) {
      presence = `${room.online.length} online`;
    }
    setText(els.presence, presence);
    els.presence.dataset.online =
      room.kind === 'direct' ? String(room.peerOnline === true) : String(room.online.length > 0);
    els.presence.title = room.online.join(', ');
  }

  function renderPeople(state, room) {
    const names = [...room.online].sort((a, b) => a.localeCompare(b));
    els.people.replaceChildren(
      ...names.map((name) =>
        h('li', { className: name.toLowerCase() === state.me.toLowerCase() ? 'me' : '' }, name),
      ),
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
    openMenu = null;
    shownRoom = room ? room.name : null;
    firstKey = null;
    positioned = false;
    stick = true;
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
    renderHeader(room);
    renderPeople(state, room);
    setText(els.typing, typingText(room.typing));

    const list = els.list;
    const wasAtBottom = stick;
    const firstBefore = firstKey;
    const heightBefore = list.scrollHeight;
    const topBefore = list.scrollTop;
    const items = timelineItems(state, room);
    const firstMessage = items.find((item) => item.type === 'message');
    firstKey = firstMessage ? firstMessage.key : null;
    reconcile(list, items, cache, { create, update });
    for (const id of [...visible]) if (!cache.has(`m${id}`)) visible.delete(id);

    if (!positioned && room.join === 'joined' && timelineOf(state, room.name).loaded) {
      positioned = true;
      rewatch(); // what is on screen from here on, not what was before the jump
      const divider = cache.get('divider');
      if (divider) {
        list.scrollTop = Math.max(0, divider.node.offsetTop - list.offsetTop - 16);
        stick = atBottom();
      } else {
        scrollToBottom();
        stick = true;
      }
    } else if (wasAtBottom) {
      scrollToBottom();
    } else if (firstBefore !== null && firstBefore !== firstKey) {
      list.scrollTop = topBefore + (list.scrollHeight - heightBefore); // older ones came in above
    }
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
