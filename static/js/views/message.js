'use strict';

// One message of the conversation as nodes: its author and time, the message it answers
// (a quote that opens it in context), its text as rich text (long ones folded behind
// "Show more"), its reactions as chips, "Seen by" under my newest one, and a toolbar
// (react, reply; edit and delete for my own) shown on hover, focus or a tap, which stays
// inside the timeline. Also the messages still on their way out. The conversation view
// places these nodes; this module only makes and patches them.

import { attachmentNodes } from './attachments.js';
import { h, setText } from './dom.js';
import { icon } from './icons.js';
import { richText } from './rich-text.js';
import { fullWhen, isLong, sameUser, timeLabel } from '../format.js';
import { plainText } from '../markdown.js';

function reactionLabel(r, me) {
  const mine = r.users.some((u) => sameUser(u, me));
  const others = r.users.filter((u) => !sameUser(u, me));
  const names = [...(mine ? ['you'] : []), ...others];
  const more = r.count - r.users.length;
  const who = more > 0 ? `${names.join(', ')} and ${more} more` : names.join(', ');
  return { mine, text: `${r.emoji} ${r.count}: ${who}` };
}

// handlers: onReact(id, emoji, on), onPick(id, anchor) (a reaction from the picker),
// onReply(id), onEdit(id), onDelete(id) (asks first), onOpenOriginal(id),
// onRetry(clientId), onDiscard(clientId), onOpenImage(attachmentId, thumbnail).
export function createMessageNodes(handlers) {
  const parts = new WeakMap(); // message node -> its slots
  const unfolded = new Set(); // ids of long messages shown whole

  function toolbarButton(name, label, onClick, className = '') {
    return h(
      'button',
      { type: 'button', className: `tool ${className}`.trim(), 'aria-label': label, title: label, tabindex: '-1', on: { click: onClick } },
      icon(name),
    );
  }

  function toolbar(li, item) {
    const id = item.message.id;
    const when = timeLabel(item.message.created_at);
    const whose = item.mine ? 'your message' : `${item.message.username}’s message`;
    const buttons = [
      toolbarButton('react', `React to ${whose} from ${when}`, (event) => handlers.onPick(id, event.currentTarget)),
      toolbarButton('reply', `Reply to ${whose} from ${when}`, () => handlers.onReply(id)),
    ];
    if (item.mine) {
      buttons.push(
        toolbarButton('edit', `Edit your message from ${when}`, () => handlers.onEdit(id)),
        toolbarButton('delete', `Delete your message from ${when}`, () => handlers.onDelete(id), 'tool-danger'),
      );
    } else if (item.canDelete) {
      // Someone else's: the room's owner or a moderator deletes it.
      buttons.push(toolbarButton('delete', `Delete ${whose} from ${when}`, () => handlers.onDelete(id), 'tool-danger'));
    }
    buttons[0].tabIndex = 0; // one stop per message; the arrows move along the toolbar
    const bar = h('div', { className: 'toolbar', role: 'toolbar', 'aria-label': `Actions for ${whose} from ${when}` }, buttons);
    bar.addEventListener('keydown', (event) => {
      const at = buttons.indexOf(document.activeElement);
      if (at === -1) return;
      let next = null;
      if (event.key === 'ArrowRight') next = (at + 1) % buttons.length;
      else if (event.key === 'ArrowLeft') next = (at - 1 + buttons.length) % buttons.length;
      else if (event.key === 'Home') next = 0;
      else if (event.key === 'End') next = buttons.length - 1;
      else if (event.key === 'Escape') {
        li.classList.remove('active');
        buttons[at].blur();
        return;
      }
      if (next === null) return;
      event.preventDefault();
      buttons[at].tabIndex = -1;
      buttons[next].tabIndex = 0;
      buttons[next].focus();
    });
    return bar;
  }

  // The toolbar sits above the message, unless that would leave the timeline: then below.
  function place(li) {
    const slots = parts.get(li);
    const list = li.closest('.messages');
    if (!slots || !slots.toolbar || !list) return;
    li.classList.remove('toolbar-below');
    const room = list.getBoundingClientRect();
    const bar = slots.toolbar.getBoundingClientRect();
    if (bar.top < room.top) li.classList.add('toolbar-below');
  }

  function quote(reply) {
    const excerpt =
      reply.deleted || reply.excerpt === null ? 'The original message was deleted.' : plainText(reply.excerpt) || 'a file'; // files alone
    const button = h(
      'button',
      {
        type: 'button',
        className: 'quote',
        'aria-label': `Replying to ${reply.username}: ${excerpt}. Show the original`,
        on: { click: () => handlers.onOpenOriginal(reply.id) },
      },
      h('span', { className: 'quote-author' }, reply.username),
      ' ',
      h('span', { className: 'quote-text' }, excerpt),
    );
    button.disabled = Boolean(reply.deleted);
    return button;
  }

  function chips(item) {
    const m = item.message;
    const list = h('ul', { className: 'reactions', 'aria-label': 'Reactions' });
    for (const r of item.reactions) {
      const { mine, text } = reactionLabel(r, item.me);
      list.append(
        h(
          'li',
          {},
          h(
            'button',
            {
              type: 'button',
              className: 'chip',
              'aria-pressed': String(mine),
              'aria-label': text,
              title: text,
              on: { click: () => handlers.onReact(m.id, r.emoji, !mine) },
            },
            h('span', { className: 'chip-emoji' }, r.emoji),
            h('span', { className: 'chip-count' }, String(r.count)),
          ),
        ),
      );
    }
    if (item.reactions.length) {
      list.append(
        h(
          'li',
          {},
          h(
            'button',
            {
              type: 'button',
              className: 'chip chip-add',
              'aria-label': 'Add a reaction',
              title: 'Add a reaction',
              on: { click: (event) => handlers.onPick(m.id, event.currentTarget) },
            },
            icon('react'),
          ),
        ),
      );
    }
    return list;
  }

  function fillBody(slots, item) {
    const m = item.message;
    if (m.deleted) {
      slots.body.replaceChildren('This message was deleted.');
      slots.fold.hidden = true;
      return;
    }
    slots.body.replaceChildren(richText(m.message, { mentions: m.mentions || [], me: item.me }));
    if (m.edited_at) {
      const edited = h('span', { className: 'edited', title: `Edited ${fullWhen(m.edited_at)}` }, '(edited)');
      const last = slots.body.lastElementChild;
      (last && last.tagName === 'P' ? last : slots.body).append(' ', edited);
    }
    const long = isLong(m.message);
    slots.fold.hidden = !long;
    renderFold(slots, m.id, long);
  }

  function renderFold(slots, id, long) {
    const open = unfolded.has(id);
    slots.body.classList.toggle('folded', long && !open);
    setText(slots.fold, open ? 'Show less' : 'Show more');
    slots.fold.setAttribute('aria-expanded', String(open));
  }

  function create(item) {
    const li = h('li');
    const id = item.message.id;
    const slots = {
      head: h('div', { className: 'head' }),
      quote: h('div', { className: 'quote-slot' }),
      body: h('div', { className: 'body', id: `body-${id}` }),
      fold: h('button', { type: 'button', className: 'link fold', 'aria-controls': `body-${id}`, hidden: true }),
      files: h('div', { className: 'attachments' }),
      reactions: h('div', { className: 'reactions-slot' }),
      seen: h('div', { className: 'seen' }),
      toolbar: null,
    };
    slots.fold.addEventListener('click', () => {
      if (unfolded.has(id)) unfolded.delete(id);
      else unfolded.add(id);
      renderFold(slots, id, true);
    });
    li.append(slots.head, slots.quote, slots.body, slots.fold, slots.files, slots.reactions, slots.seen);
    li.addEventListener('pointerenter', () => place(li));
    li.addEventListener('focusin', () => place(li));
    // A tap (no hover on a touch screen) shows the toolbar; a tap elsewhere hides it.
    li.addEventListener('click', (event) => {
      if (event.target.closest('a, button, .toolbar')) return;
      const open = !li.classList.contains('active');
      for (const other of li.parentNode.querySelectorAll('.msg.active')) other.classList.remove('active');
      li.classList.toggle('active', open);
      if (open) place(li);
    });
    parts.set(li, slots);
    update(li, item, null);
    return li;
  }

  function update(li, item, previous) {
    const m = item.message;
    const slots = parts.get(li);
    li.className = [
      'msg',
      item.mine && 'mine',
      item.continued && 'continued',
      m.deleted && 'deleted',
      item.mentionsMe && 'mentions-me',
      item.highlight && 'highlight',
      item.editing && 'editing',
      li.classList.contains('active') && 'active',
    ]
      .filter(Boolean)
      .join(' ');
    li.dataset.id = String(m.id);
    li.title = item.continued ? fullWhen(m.created_at) : ''; // its time, shown on hover
    const changed = !previous || previous.message !== m;
    if (changed || previous.continued !== item.continued) {
      const time = h('time', { datetime: m.created_at, title: fullWhen(m.created_at) }, timeLabel(m.created_at));
      slots.head.replaceChildren(h('span', { className: 'author' }, m.username), ' ', time);
    }
    if (changed) {
      slots.quote.replaceChildren(...(m.reply_to && !m.deleted ? [quote(m.reply_to)] : []));
      fillBody(slots, item);
    }
    if (changed && (!previous || previous.message.attachments !== m.attachments || previous.message.deleted !== m.deleted)) {
      const files = m.deleted ? [] : attachmentNodes(m.attachments, { onOpenImage: handlers.onOpenImage });
      slots.files.replaceChildren(...files);
      slots.files.hidden = !files.length;
    }
    if (!previous || previous.reactions !== item.reactions) {
      slots.reactions.replaceChildren(...(item.reactions.length ? [chips(item)] : []));
    }
    const seen = item.seenBy ? `Seen by ${item.seenBy.join(', ')}` : '';
    setText(slots.seen, seen);
    slots.seen.hidden = !seen;
    const wantBar = !m.deleted;
    if (wantBar && (!slots.toolbar || changed || previous.canDelete !== item.canDelete)) {
      const bar = toolbar(li, item);
      if (slots.toolbar) slots.toolbar.replaceWith(bar);
      else li.append(bar);
      slots.toolbar = bar;
    } else if (!wantBar && slots.toolbar) {
      slots.toolbar.remove();
      slots.toolbar = null;
    }
    return li;
  }

  function pending(item, me) {
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
      h('span', { className: 'author' }, me),
      ' ',
      h('span', { className: 'pending-status' }, status),
    );
    if (e.state === 'waiting' && e.error && e.error.code !== 'rate_limited') {
      head.lastChild.textContent = 'No answer yet: trying again…';
    }
    const li = h('li', { className: `msg mine pending ${e.state}` }, head);
    if (e.reply) li.append(h('div', { className: 'quote-slot' }, quote(e.reply)));
    if (e.text) li.append(h('div', { className: 'body' }, richText(e.text, { me })));
    const files = attachmentNodes(e.attachments);
    if (files.length) li.append(h('div', { className: 'attachments' }, files));
    if (e.state === 'failed') {
      li.append(
        h(
          'div',
          { className: 'pending-actions' },
          h('button', { type: 'button', className: 'link', on: { click: () => handlers.onRetry(e.client_id) } }, 'Try again'),
          h(
            'button',
            { type: 'button', className: 'link danger', on: { click: () => handlers.onDiscard(e.client_id) } },
            'Discard',
          ),
        ),
      );
    }
    return li;
  }

  return {
    create,
    update,
    pending,
    // The toolbar of message node `li`, for focus to return to.
    toolbarOf: (li) => (parts.get(li) || {}).toolbar || null,
  };
}
