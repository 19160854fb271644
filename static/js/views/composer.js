'use strict';

// The message box: Enter sends on a keyboard (Shift+Enter is a newline), while on a
// touch screen Enter is a newline and the button sends; a counter near the 4,000 limit
// and a refusal beyond it (never a silent cut); typing notices; "@" completes the room's
// members; an emoji button; editing (Escape cancels, ↑ in an empty box edits your last
// message) and replying (the quote above the box, Escape cancels), both as the store says;
// a draft per room that survives a reload (drafts.js).

import { createAutocomplete } from './autocomplete.js';
import { setText } from './dom.js';
import { MAX_MESSAGE, messageLength } from '../format.js';
import { plainText } from '../markdown.js';
import { mentionCandidates } from '../state/members.js';
import { lastOwnMessage } from '../state/reading.js';
import { messageIn } from '../state/reader.js';
import { currentRoom, roomLabel } from '../state/rooms.js';
import { timelineOf } from '../state/timeline.js';

const TYPING_EVERY = 2000; // ms between typing:true refreshes while typing
const TYPING_IDLE = 3000; // ms without keys before typing:false
const COUNTER_FROM = MAX_MESSAGE - 500;
const MAX_HEIGHT = 160;

// onSend(text) (the tray's files go with it); files(room) says what the tray holds
// ({count, problem}: why nothing can be sent yet); onEdit(id, text) resolves once saved or
// rejects with the reason;
// onTyping(typing); onEditStart(id), onEditEnd(), onReplyEnd(); onEmoji(anchor, insert)
// opens the picker; drafts as effects/drafts.js makes them.
export function createComposer(doc, handlers) {
  const { onSend, onEdit, onTyping, touch, drafts } = handlers;
  const $ = (id) => doc.getElementById(id);
  const els = {
    form: $('composer'),
    input: $('message'),
    label: $('message-label'),
    counter: $('counter'),
    error: $('composer-error'),
    banner: $('edit-banner'),
    cancelEdit: $('cancel-edit'),
    reply: $('reply-banner'),
    replyText: $('reply-text'),
    cancelReply: $('cancel-reply'),
    emoji: $('emoji-button'),
  };
  let state = null; // as last rendered
  let room = null;
  let editing = null; // the id of the message in the box
  let savedDraft = ''; // what the box held before the edit
  let typingSentAt = 0;
  let idleTimer = null;
  let trayError = false; // the error shown is the tray's: it goes when the tray is ready

  els.input.setAttribute('enterkeyhint', touch ? 'enter' : 'send');
  const complete = createAutocomplete({
    input: els.input,
    listbox: $('mention-list'),
    candidates: (prefix) => (state && room ? mentionCandidates(state, room, prefix) : []),
  });

  function autosize() {
    els.input.style.height = 'auto';
    els.input.style.height = `${Math.min(els.input.scrollHeight, MAX_HEIGHT)}px`;
  }

  function showError(text) {
    trayError = false;
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

  // The store says which message is being edited; the box follows.
  function renderEditing(id) {
    if (id === editing) return;
    const message = id === null ? null : messageIn(state, room, id);
    if (id !== null && (!message || message.deleted)) {
      handlers.onEditEnd();
      return;
    }
    if (editing === null) savedDraft = els.input.value;
    editing = id;
    complete.close();
    els.form.classList.toggle('editing', id !== null);
    els.banner.hidden = id === null;
    showError('');
    if (id === null) {
      setValue(savedDraft);
      return;
    }
    stopTyping();
    setValue(message.message);
    els.input.focus();
    els.input.setSelectionRange(els.input.value.length, els.input.value.length);
  }

  function renderReply(reply) {
    els.reply.hidden = !reply;
    if (!reply) return;
    const excerpt = reply.excerpt === null ? 'a deleted message' : plainText(reply.excerpt) || 'a file'; // files alone
    setText(els.replyText, `${reply.username}: ${excerpt}`);
  }

  els.cancelEdit.addEventListener('click', () => {
    handlers.onEditEnd();
    els.input.focus();
  });
  els.cancelReply.addEventListener('click', () => {
    handlers.onReplyEnd();
    els.input.focus();
  });
  els.emoji.addEventListener('click', () => handlers.onEmoji(els.emoji, insert));

  // Puts `text` where the caret is, as if typed.
  function insert(text) {
    const { selectionStart: start, selectionEnd: end, value } = els.input;
    els.input.value = value.slice(0, start) + text + value.slice(end);
    els.input.setSelectionRange(start + text.length, start + text.length);
    els.input.dispatchEvent(new Event('input', { bubbles: true }));
    els.input.focus();
  }

  els.input.addEventListener('input', () => {
    autosize();
    renderCounter();
    if (messageLength(els.input.value) <= MAX_MESSAGE) showError('');
    if (editing !== null) return; // editing is not typing a new message
    if (room) drafts.save(room, els.input.value);
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
    } else if (event.key === 'Escape' && editing !== null) {
      event.preventDefault();
      handlers.onEditEnd();
    } else if (event.key === 'Escape' && state && state.compose.replyTo) {
      event.preventDefault();
      handlers.onReplyEnd();
    } else if (event.key === 'ArrowUp' && !els.input.value && editing === null) {
      const open = state && currentRoom(state);
      const mine = open && lastOwnMessage(state, timelineOf(state, open.name));
      if (mine) {
        handlers.onEditStart(mine.id);
        event.preventDefault();
      }
    }
  });

  els.form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = els.input.value.trim();
    // The files in the tray (handlers.files: {count, ready, problem}) go with a new message.
    const files = handlers.files && editing === null ? handlers.files(room) : { count: 0, problem: null };
    if (!room || (!text && !files.count)) return;
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
    if (editing !== null) {
      const id = editing;
      try {
        await onEdit(id, text);
        if (editing === id) handlers.onEditEnd();
      } catch (error) {
        showError(`Could not save the edit: ${error.message}.`);
      }
      els.input.focus();
      return;
    }
    if (files.problem) {
      showError(`${files.problem} Nothing was sent.`);
      trayError = true;
      els.input.focus();
      return;
    }
    stopTyping();
    complete.close();
    setValue('');
    drafts.clear(room);
    showError('');
    onSend(text);
    els.input.focus();
  });

  // Switching rooms brings back what you were writing there.
  function setRoom(name, label) {
    if (name === room) return;
    if (editing !== null) {
      editing = null;
      els.form.classList.remove('editing');
      els.banner.hidden = true;
    }
    stopTyping();
    complete.close();
    room = name;
    setValue(name ? drafts.load(name) : '');
    showError('');
    els.input.placeholder = name ? `Message ${label}` : '';
    setText(els.label, name ? `Message ${label}` : 'Message');
  }

  return {
    render(next) {
      state = next;
      const open = currentRoom(state);
      setRoom(open ? open.name : null, open ? roomLabel(open) : '');
      renderEditing(state.compose.editing);
      renderReply(state.compose.replyTo);
      if (trayError && !(room && handlers.files(room).problem)) {
        trayError = false;
        showError('');
      }
    },
    showError,
    focus() {
      els.input.focus({ preventScroll: true });
    },
  };
}
