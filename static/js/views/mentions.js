'use strict';

// The Mentions view: a button at the top of the room list (with the count of unread
// mentions) opens a dialog listing the messages that mention you, newest first, from
// GET /api/mentions; each opens its room at the message.

import { h, setText } from './dom.js';
import { messageLine } from '../attachments.js';
import { shortWhen } from '../format.js';
import { totalMentions } from '../state/mentions.js';
import { roomLabel } from '../state/rooms.js';

function roomName(state, name) {
  const room = state.rooms.byName[name];
  if (room) return roomLabel(room);
  return name.startsWith('dm:') ? 'a direct message' : `#${name}`;
}

// onLoad({more}) fetches a page; onOpen(room, id) opens the room at the message.
export function createMentionsView(doc, { onLoad, onOpen }) {
  const $ = (id) => doc.getElementById(id);
  const els = {
    button: $('mentions-button'),
    badge: $('mentions-badge'),
    dialog: $('mentions-dialog'),
    list: $('mentions-list'),
    status: $('mentions-status'),
    more: $('mentions-more'),
  };
  let shown = null;

  els.button.addEventListener('click', () => {
    onLoad({ more: false });
    els.dialog.showModal();
  });
  els.more.addEventListener('click', () => onLoad({ more: true }));

  function item(state, m) {
    const text = messageLine(m);
    return h(
      'li',
      {},
      h(
        'button',
        {
          type: 'button',
          className: 'mention-result',
          on: {
            click: () => {
              els.dialog.close();
              onOpen(m.room, m.id);
            },
          },
        },
        h(
          'span',
          { className: 'mention-where' },
          h('strong', {}, m.username),
          ` in ${roomName(state, m.room)} · `,
          h('time', { datetime: m.created_at }, shortWhen(m.created_at)),
        ),
        h('span', { className: 'mention-text' }, text.length > 200 ? `${text.slice(0, 200)}…` : text),
      ),
    );
  }

  return {
    render(state) {
      const total = totalMentions(state);
      setText(els.badge, total ? String(total > 99 ? '99+' : total) : '');
      els.badge.hidden = !total;
      els.button.setAttribute('aria-label', total ? `Mentions, ${total} unread` : 'Mentions');
      const list = state.mentions.list;
      if (list === shown) return;
      shown = list;
      els.list.replaceChildren(...list.messages.map((m) => item(state, m)));
      let status = '';
      if (list.status === 'loading') status = 'Loading…';
      else if (list.status === 'failed') status = `Could not load your mentions: ${list.error}.`;
      else if (list.status === 'loaded' && !list.messages.length) status = 'Nobody has mentioned you yet.';
      setText(els.status, status);
      els.more.hidden = !(list.status === 'loaded' && list.hasMore);
    },
  };
}
