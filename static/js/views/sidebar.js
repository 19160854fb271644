'use strict';

// The room list beside the conversation: public rooms and direct chats, each with its
// unread count, a count of unread mentions of you, newest message (as plain text) and time, a dot for a direct peer who is online, and a
// button that takes it off the list; at its foot, the sign-out form. Renders from the
// store only.

import { h, reconcile, setText } from './dom.js';
import { filesSummary } from '../attachments.js';
import { sameUser, shortWhen } from '../format.js';
import { plainText } from '../markdown.js';
import { mentionCount } from '../state/mentions.js';
import { outboxFor } from '../state/outbox.js';
import { listedRooms, roomLabel, roomUrl } from '../state/rooms.js';
import { timelineOf } from '../state/timeline.js';

function preview(state, room, tl) {
  const m = tl.lastMessage;
  if (!m) return 'No messages yet';
  if (m.deleted) return 'Message deleted';
  const plain = plainText(m.message);
  const text = plain.length > 200 ? `${plain.slice(0, 200)}…` : plain;
  const files = plain ? '' : filesSummary(m.attachments); // "sent an image"
  if (files) return `${sameUser(m.username, state.me) ? 'You' : m.username} ${files}`;
  if (sameUser(m.username, state.me)) return `You: ${text}`;
  return room.kind === 'direct' ? text : `${m.username}: ${text}`;
}

// onOpen(name); onRemove(name) resolves false when there was no such room and rejects
// with the reason it could not be removed; onSignOut(form) signs out with the form.
export function createSidebar(doc, { onOpen, onRemove, onSignOut }) {
  const $ = (id) => doc.getElementById(id);
  const els = {
    rooms: $('room-list'),
    roomsEmpty: $('rooms-empty'),
    dms: $('dm-list'),
    dmsEmpty: $('dms-empty'),
    status: $('sidebar-status'),
    finderToggle: $('finder-toggle'),
    confirmRemove: $('confirm-remove'),
    confirmRemoveTitle: $('confirm-remove-title'),
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
    const mention = h('span', { className: 'mention-badge' });
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
      h('span', { className: 'room-line' }, text, unsent, mention, badge),
    );
    const remove = h(
      'button',
      { type: 'button', className: 'room-remove', on: { click: (event) => removeRoom(item.room.name, event.currentTarget) } },
      h('span', { 'aria-hidden': 'true' }, '×'),
    );
    const li = h('li', { className: 'room-item' }, link, remove);
    parts.set(li, { link, name, dot, dotText, when, text, unsent, badge, mention, remove });
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
    li.classList.toggle('private', room.kind === 'private');
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
    const mentions = item.mentions;
    p.mention.hidden = mentions === 0;
    setText(p.mention, `@${mentions > 99 ? '99+' : mentions}`);
    p.mention.setAttribute('aria-label', `${mentions} ${mentions === 1 ? 'mention' : 'mentions'} of you`);
    p.remove.setAttribute('aria-label', `Remove ${label} from your list`);
    p.remove.title = 'Remove from your list';
    return li;
  }

  // Asks first: the dialog names the room and says what removing it means.
  function confirmRemove(label) {
    const dialog = els.confirmRemove;
    setText(els.confirmRemoveTitle, `Remove ${label} from your list?`);
    dialog.returnValue = '';
    return new Promise((resolve) => {
      dialog.addEventListener('close', () => resolve(dialog.returnValue === 'remove'), { once: true });
      dialog.showModal();
    });
  }

  async function removeRoom(name, button) {
    const room = last && last.rooms.byName[name];
    if (!room) return;
    const label = roomLabel(room);
    if (!(await confirmRemove(label))) {
      if (button.isConnected) button.focus();
      return;
    }
    try {
      if (!(await onRemove(name))) return;
    } catch (error) {
      els.status.textContent = `Could not remove ${label}: ${error.message}.`;
      return;
    }
    els.status.textContent = `${label} is no longer in your list.`;
    els.finderToggle.focus(); // the button that was focused is gone
  }

  $('sign-out').addEventListener('submit', (event) => {
    event.preventDefault();
    onSignOut(event.currentTarget);
  });

  function renderList(state, kind, list, empty) {
    const items = listedRooms(state, kind).map((room) => ({
      key: room.name,
      room,
      tl: timelineOf(state, room.name),
      state,
      current: room.name === state.rooms.current,
      unsent: room.name === state.rooms.current ? 0 : outboxFor(state, room.name).length,
      mentions: mentionCount(state, room.name),
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
        last.outbox === state.outbox &&
        last.mentions === state.mentions
      )
        return;
      last = state;
      renderList(state, 'public', els.rooms, els.roomsEmpty);
      renderList(state, 'direct', els.dms, els.dmsEmpty);
    },
  };
}
