'use strict';

// The room list beside the conversation: public rooms and direct chats, each with its
// unread count, newest message and time, a dot for a direct peer who is online, and a
// button that takes it off the list; at its foot, the sign-out form. Renders from the
// store only.

import { h, reconcile, setText } from './dom.js';
import { sameUser, shortWhen } from '../format.js';
import { outboxFor } from '../state/outbox.js';
import { listedRooms, roomLabel, roomUrl } from '../state/rooms.js';
import { timelineOf } from '../state/timeline.js';

function preview(state, room, tl) {
  const m = tl.lastMessage;
  if (!m) return 'No messages yet';
  if (m.deleted) return 'Message deleted';
  const text = m.message.length > 200 ? `${m.message.slice(0, 200)}…` : m.message;
  if (sameUser(m.username, state.me)) return `You: ${text}`;
  return room.kind === 'direct' ? text : `${m.username}: ${text}`;
}

// onOpen(name); onRemove(name) resolves false when there was no such room and rejects
// with the reason it could not be removed; onSignOut() as the sign-out form goes.
export function createSidebar(doc, { onOpen, onRemove, onSignOut }) {
  const $ = (id) => doc.getElementById(id);
  const els = {
    rooms: $('room-list'),
    roomsEmpty: $('rooms-empty'),
    dms: $('dm-list'),
    dmsEmpty: $('dms-empty'),
    status: $('sidebar-status'),
    finderToggle: $('finder-toggle'),
  };
  const caches = { public: new Map(), direct: new Map() };
  const parts = new WeakMap();
  let last = null;

  function create(item) {
    const name = h('span', { className: 'room-name' });
    const dot = h('span', { className: 'presence-dot', 'aria-hidden': 'true' });
    const dotText = h('span', { className: 'visually-hidden' });
    const when = h('time', { className: 'room-when' });
    const text = h('span', { className: 'room-preview' });
    const unsent = h('span', { className: 'room-unsent' });
    const badge = h('span', { className: 'badge' });
    const link = h(
      'a',
      {
        className: 'room-link',
        on: {
          click: (event) => {
            if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey)
              return;
            event.preventDefault();
            onOpen(item.room.name);
          },
        },
      },
      h('span', { className: 'room-line' }, dot, name, dotText, when),
      h('span', { className: 'room-line' }, text, unsent, badge),
    );
    const remove = h(
      'button',
      { type: 'button', className: 'room-remove', on: { click: () => removeRoom(item.room.name) } },
      h('span', { 'aria-hidden': 'true' }, '×'),
    );
    const li = h('li', { className: 'room-item' }, link, remove);
    parts.set(li, { link, name, dot, dotText, when, text, unsent, badge, remove });
    update(li, item, null);
    return li;
  }

  function update(li, item) {
    const { room, tl, current, state } = item;
    const p = parts.get(li);
    const label = roomLabel(room);
    p.link.href = roomUrl(room);
    if (current) p.link.setAttribute('aria-current', 'page');
    else p.link.removeAttribute('aria-current');
    li.classList.toggle('current', current);
    li.classList.toggle('has-unread', tl.unread > 0);
    setText(p.name, label);
    p.dot.hidden = room.kind !== 'direct' || room.peerOnline === null;
    p.dot.classList.toggle('online', room.peerOnline === true);
    setText(
      p.dotText,
      room.kind === 'direct' && room.peerOnline !== null
        ? room.peerOnline
          ? ' (online)'
          : ' (offline)'
        : '',
    );
    const m = tl.lastMessage;
    setText(p.when, m ? shortWhen(m.created_at) : '');
    if (m) p.when.setAttribute('datetime', m.created_at);
    setText(p.text, preview(state, room, tl));
    const unsent = item.unsent;
    setText(p.unsent, unsent ? `${unsent} unsent` : '');
    p.unsent.hidden = !unsent;
    p.badge.hidden = tl.unread === 0;
    setText(p.badge, tl.unread > 99 ? '99+' : String(tl.unread));
    p.badge.setAttribute('aria-label', `${tl.unread} unread`);
    p.remove.setAttribute('aria-label', `Remove ${label} from your list`);
    p.remove.title = 'Remove from your list';
    return li;
  }

  async function removeRoom(name) {
    const room = last && last.rooms.byName[name];
    if (!room) return;
    const label = roomLabel(room);
    try {
      if (!(await onRemove(name))) return;
    } catch (error) {
      els.status.textContent = `Could not remove ${label}: ${error.message}.`;
      return;
    }
    els.status.textContent = `${label} is no longer in your list.`;
    els.finderToggle.focus(); // the button that was focused is gone
  }

  $('sign-out').addEventListener('submit', () => onSignOut());

  function renderList(state, kind, list, empty) {
    const items = listedRooms(state, kind).map((room) => ({
      key: room.name,
      room,
      tl: timelineOf(state, room.name),
      state,
      current: room.name === state.rooms.current,
      unsent: room.name === state.rooms.current ? 0 : outboxFor(state, room.name).length,
    }));
    reconcile(list, items, caches[kind], { create, update });
    empty.hidden = items.length > 0;
  }

  return {
    render(state) {
      if (
        last &&
        last.rooms === state.rooms &&
        last.timeline === state.timeline &&
        last.outbox === state.outbox
      )
        return;
      last = state;
      renderList(state, 'public', els.rooms, els.roomsEmpty);
      renderList(state, 'direct', els.dms, els.dmsEmpty);
    },
  };
}
