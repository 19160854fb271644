'use strict';

// Joining or creating a room by name, starting a direct chat by username, and the
// directory of public rooms by prefix. A disclosure at the top of the room list.

import { h, setText } from './dom.js';
import { isRoomName, isUsername, sameUser, shortWhen } from '../format.js';

const SEARCH_DELAY = 250;

// onJoin(name, {private}) and onDirect(peer) open the room (a new one made private when
// asked) or reject with a sentence saying why not; searchDirectory(q) resolves {rooms} or
// {error}.
export function createFinder(doc, { me, onJoin, onDirect, searchDirectory }) {
  const $ = (id) => doc.getElementById(id);
  const els = {
    toggle: $('finder-toggle'),
    panel: $('finder-panel'),
    joinForm: $('join-form'),
    joinInput: $('join-room'),
    joinError: $('join-error'),
    joinPrivate: $('join-private'),
    dmForm: $('dm-form'),
    dmInput: $('dm-peer'),
    dmError: $('dm-error'),
    query: $('directory-q'),
    results: { status: $('directory-status'), list: $('directory-results') },
  };
  let searchTimer = null;
  let searchSeq = 0;

  let searched = false;

  function setOpen(open) {
    els.panel.hidden = !open;
    els.toggle.setAttribute('aria-expanded', String(open));
  }

  // The directory is fetched when you turn to it, not whenever the panel opens.
  els.query.addEventListener('focus', () => {
    if (!searched) search(els.query.value.trim());
  });

  els.toggle.addEventListener('click', () => {
    const open = els.panel.hidden;
    setOpen(open);
    if (open) els.joinInput.focus();
  });

  function fail(input, output, text) {
    setText(output, text);
    input.setAttribute('aria-invalid', text ? 'true' : 'false');
  }

  async function submit(event, input, output, validate, go) {
    event.preventDefault();
    const value = input.value.trim();
    const problem = validate(value);
    fail(input, output, problem || '');
    if (problem) {
      input.focus();
      return;
    }
    const button = event.target.querySelector('button');
    button.disabled = true;
    try {
      await go(value);
      input.value = '';
      setOpen(false);
    } catch (error) {
      fail(input, output, error.message);
      input.focus();
    } finally {
      button.disabled = false;
    }
  }

  els.joinForm.addEventListener('submit', (event) =>
    submit(
      event,
      els.joinInput,
      els.joinError,
      (name) => {
        const bare = name.replace(/^#/, '');
        if (!bare) return 'Type the name of a room.';
        return isRoomName(bare) ? null : 'A room name is 1–64 letters, digits, “-”, “_” or “.”.';
      },
      async (name) => {
        await onJoin(name.replace(/^#/, ''), { private: Boolean(els.joinPrivate && els.joinPrivate.checked) });
        if (els.joinPrivate) els.joinPrivate.checked = false;
      },
    ),
  );

  els.dmForm.addEventListener('submit', (event) =>
    submit(
      event,
      els.dmInput,
      els.dmError,
      (name) => {
        const bare = name.replace(/^@/, '');
        if (!bare) return 'Type a username.';
        if (!isUsername(bare)) return 'A username is 3–32 letters, digits, “_”, “.” or “-”.';
        return sameUser(bare, me) ? 'That is you: pick someone else.' : null;
      },
      (name) => onDirect(name.replace(/^@/, '')),
    ),
  );

  els.query.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => search(els.query.value.trim()), SEARCH_DELAY);
  });

  async function search(q) {
    searched = true;
    const seq = ++searchSeq;
    setText(els.results.status, 'Looking…');
    const answer = await searchDirectory(q);
    if (seq !== searchSeq) return; // a newer search is under way
    if (answer.error) {
      setText(els.results.status, answer.error);
      els.results.list.replaceChildren();
      return;
    }
    const rooms = answer.rooms;
    setText(
      els.results.status,
      rooms.length ? '' : q ? `No public room starts with “${q}”.` : 'No public rooms yet.',
    );
    els.results.list.replaceChildren(
      ...rooms.map((r) => {
        const members = `${r.members} ${r.members === 1 ? 'member' : 'members'}`;
        const when = r.last_message_at ? ` · active ${shortWhen(r.last_message_at)}` : '';
        return h(
          'li',
          {},
          h(
            'button',
            {
              type: 'button',
              className: 'directory-room',
              on: {
                click: async () => {
                  try {
                    await onJoin(r.room);
                    setOpen(false);
                  } catch (error) {
                    setText(els.results.status, error.message);
                  }
                },
              },
            },
            h('span', { className: 'room-name' }, `#${r.room}`),
            h('span', { className: 'directory-meta' }, members + when),
            r.topic ? h('span', { className: 'directory-topic' }, r.topic) : null,
          ),
        );
      }),
    );
  }

  return { setOpen };
}
