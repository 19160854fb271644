'use strict';

// Completing "@name" in the message box: after an "@", a list of the room's members whose
// name starts with what follows. ↑/↓ move, Enter or Tab pick, Escape closes; a click picks
// too. The box stays a textarea, described as a combobox's list (aria-activedescendant).

import { h } from './dom.js';
import { mentionQuery } from '../state/members.js';

// `candidates(prefix)` lists usernames; the list is `listbox` (a <ul>) near the box.
export function createAutocomplete({ input, listbox, candidates }) {
  let options = [];
  let active = 0;
  let query = null;

  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-controls', listbox.id);
  input.setAttribute('aria-expanded', 'false');

  function close() {
    if (!options.length && listbox.hidden) return;
    options = [];
    query = null;
    listbox.hidden = true;
    listbox.replaceChildren();
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
  }

  function render() {
    listbox.replaceChildren(
      ...options.map((name, i) =>
        h(
          'li',
          {
            id: `${listbox.id}-${i}`,
            role: 'option',
            className: i === active ? 'active' : '',
            'aria-selected': String(i === active),
            on: {
              mousedown: (event) => event.preventDefault(), // the box keeps the focus
              click: () => pick(i),
            },
          },
          h('span', { className: 'at', 'aria-hidden': 'true' }, '@'),
          name,
        ),
      ),
    );
    listbox.hidden = false;
    input.setAttribute('aria-expanded', 'true');
    input.setAttribute('aria-activedescendant', `${listbox.id}-${active}`);
  }

  function update() {
    const found = mentionQuery(input.value, input.selectionStart);
    if (!found || input.selectionStart !== input.selectionEnd) return close();
    const names = candidates(found.prefix);
    if (!names.length) return close();
    const keep = query && query.start === found.start ? options[active] : null;
    query = found;
    options = names;
    active = Math.max(0, keep ? names.indexOf(keep) : 0);
    render();
  }

  function pick(i) {
    if (!query || !options[i]) return;
    const before = input.value.slice(0, query.start);
    const after = input.value.slice(input.selectionStart).replace(/^[A-Za-z0-9_.-]*/, '');
    const inserted = `@${options[i]} `;
    input.value = before + inserted + after.replace(/^ /, '');
    const caret = before.length + inserted.length;
    input.setSelectionRange(caret, caret);
    close();
    input.dispatchEvent(new Event('input', { bubbles: true })); // the box resizes, the draft is kept
    input.focus();
  }

  input.addEventListener('input', update);
  input.addEventListener('click', update);
  input.addEventListener('blur', close);
  // Registered before the box's own keys: while the list is open these keys are its.
  input.addEventListener('keydown', (event) => {
    if (!options.length || event.isComposing) return;
    const keys = {
      ArrowDown: () => (active + 1) % options.length,
      ArrowUp: () => (active - 1 + options.length) % options.length,
    };
    if (event.key in keys) {
      active = keys[event.key]();
      render();
    } else if (event.key === 'Enter' || event.key === 'Tab') {
      pick(active);
    } else if (event.key === 'Escape') {
      close();
    } else {
      return;
    }
    event.preventDefault();
    event.stopImmediatePropagation();
  });

  return { close, isOpen: () => options.length > 0 };
}
