'use strict';

// The message box: Enter sends on a keyboard (Shift+Enter is a newline), while on a
// touch screen Enter is a newline and the button sends; a counter near the 4,000 limit
// and a refusal beyond it (never a silent cut); typing notices; editing with Escape to
// cancel and ↑ in an empty box to edit your last message; a draft per room. It renders
// the open room from the store: the box writes to it, and an edit whose message was
// deleted meanwhile ends.

import { MAX_MESSAGE, messageLength } from '../format.js';
import { currentRoom, roomLabel } from '../state/rooms.js';
import { findMessage, lastOwnMessage, timelineOf } from '../state/timeline.js';
import { setText } from './dom.js';

const TYPING_EVERY = 2000; // ms between typing:true refreshes while typing
const TYPING_IDLE = 3000; // ms without keys before typing:false
const COUNTER_FROM = MAX_MESSAGE - 500;
const MAX_HEIGHT = 160;

// onSend(text); onEdit(id, text) resolves once saved or rejects with the reason;
// onTyping(typing).
export function createComposer(doc, { onSend, onEdit, onTyping, touch }) {
  const $ = (id) => doc.getElementById(id);
  const els = {
    form: $('composer'),
    input: $('message'),
    label: $('message-label'),
    counter: $('counter'),
    error: $('composer-error'),
    banner: $('edit-banner'),
    cancelEdit: $('cancel-edit'),
  };
  const drafts = new Map();
  let state = null; // as last rendered
  let room = null;
  let editing = null; // {id, draft}: the message being edited and the draft it replaced
  let typingSentAt = 0;
  let idleTimer = null;

  els.input.setAttribute('enterkeyhint', touch ? 'enter' : 'send');

  function autosize() {
    els.input.style.height = 'auto';
    els.input.style.height = `${Math.min(els.input.scrollHeight, MAX_HEIGHT)}px`;
  }

  function showError(text) {
    setText(els.error, text || '');
    els.input.setAttribute('aria-invalid', text ? 'true' : 'false');
  }

  function renderCounter() {
    const length = messageLength(els.input.value);
    const over = length - MAX_MESSAGE;
    els.counter.hidden = length < COUNTER_FROM;
    els.counter.classList.toggle('over', over > 0);
    setText(
      els.counter,
      over > 0
        ? `${length.toLocaleString()} / ${MAX_MESSAGE.toLocaleString()}: ${over.toLocaleString()} too many`
        : `${length.toLocaleString()} / ${MAX_MESSAGE.toLocaleString()}`,
    );
  }

  function setValue(text) {
    els.input.value = text;
    autosize();
    renderCounter();
  }

  function stopTyping() {
    clearTimeout(idleTimer);
    if (typingSentAt) onTyping(false);
    typingSentAt = 0;
  }

  function startEdit(message) {
    if (!editing) editing = { id: message.id, draft: els.input.value };
    else editing.id = message.id;
    stopTyping();
    els.form.classList.add('editing');
    els.banner.hidden = false;
    setValue(message.message);
    showError('');
    els.input.focus();
    els.input.setSelectionRange(els.input.value.length, els.input.value.length);
  }

  function stopEdit() {
    if (!editing) return;
    const draft = editing.draft;
    editing = null;
    els.form.classList.remove('editing');
    els.banner.hidden = true;
    setValue(draft);
    showError('');
  }

  els.cancelEdit.addEventListener('click', () => {
    stopEdit();
    els.input.focus();
  });

  els.input.addEventListener('input', () => {
    autosize();
    renderCounter();
    if (messageLength(els.input.value) <= MAX_MESSAGE) showError('');
    if (editing) return; // editing is not typing a new message
    const now = Date.now();
    if (els.input.value.trim() && now - typingSentAt > TYPING_EVERY) {
      typingSentAt = now;
      onTyping(true);
    }
    clearTimeout(idleTimer);
    idleTimer = setTimeout(stopTyping, TYPING_IDLE);
  });

  els.input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && !touch) {
      event.preventDefault();
      els.form.requestSubmit();
    } else if (event.key === 'Escape' && editing) {
      event.preventDefault();
      stopEdit();
    } else if (event.key === 'ArrowUp' && !els.input.value && !editing) {
      const open = state && currentRoom(state);
      const mine = open && lastOwnMessage(state, timelineOf(state, open.name));
      if (mine) {
        startEdit(mine);
        event.preventDefault();
      }
    }
  });

  els.form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = els.input.value.trim();
    if (!text || !room) return;
    const length = messageLength(text);
    if (length > MAX_MESSAGE) {
      const over = length - MAX_MESSAGE;
      showError(
        `This message is ${length.toLocaleString()} characters; the limit is ${MAX_MESSAGE.toLocaleString()}. ` +
          `Shorten it by ${over.toLocaleString()} or send it in parts. Nothing was sent.`,
      );
      els.input.focus();
      return;
    }
    if (editing) {
      const id = editing.id;
      try {
        await onEdit(id, text);
        if (editing && editing.id === id) stopEdit();
      } catch (error) {
        showError(`Could not save the edit: ${error.message}.`);
      }
      els.input.focus();
      return;
    }
    stopTyping();
    setValue('');
    showError('');
    onSend(text);
    els.input.focus();
  });

  // Switching rooms keeps what you were writing for each room.
  function setRoom(name, label) {
    if (name === room) return;
    if (editing) stopEdit();
    stopTyping();
    if (room) drafts.set(room, els.input.value);
    room = name;
    setValue(name ? drafts.get(name) || '' : '');
    showError('');
    els.input.placeholder = name ? `Message ${label}` : '';
    setText(els.label, name ? `Message ${label}` : 'Message');
  }

  return {
    render(next) {
      state = next;
      const open = currentRoom(state);
      setRoom(open ? open.name : null, open ? roomLabel(open) : '');
      const edited = editing && open && findMessage(timelineOf(state, open.name), editing.id);
      if (edited && edited.deleted) stopEdit();
    },
    // Edits message `id` of the open room, if it is there and not deleted.
    edit(id) {
      const open = state && currentRoom(state);
      const m = open && findMessage(timelineOf(state, open.name), id);
      if (m && !m.deleted) startEdit(m);
    },
    showError,
    focus() {
      els.input.focus({ preventScroll: true });
    },
  };
}
