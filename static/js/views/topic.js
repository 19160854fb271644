'use strict';

// The open room's topic in the conversation's header, live (room_updated), and for its
// owner and moderators editable in place: "Edit topic" turns it into a field (Enter saves,
// Escape cancels, empty clears); what the server refuses (too long, control characters,
// no longer allowed) is shown under it in the server's words. Renders from the store.

import { h, setText } from './dom.js';
import { canSetTopic, roleIn, topicOf } from '../state/owners.js';
import { currentRoom } from '../state/rooms.js';

// onSave(topic) resolves once the server took it, or rejects with an Error saying why.
export function createTopic(doc, { onSave }) {
  const box = doc.getElementById('room-topic');
  const text = h('span', { className: 'topic-text', id: 'topic-text' });
  const edit = h('button', { type: 'button', className: 'link topic-edit', id: 'topic-edit' }, 'Edit topic');
  const input = h('input', {
    id: 'topic-input',
    name: 'topic',
    autocomplete: 'off',
    'aria-label': 'Room topic',
    'aria-describedby': 'topic-error',
    placeholder: 'What is this room about?',
  });
  const save = h('button', { type: 'submit' }, 'Save');
  const cancel = h('button', { type: 'button', className: 'secondary' }, 'Cancel');
  const form = h('form', { className: 'topic-form', id: 'topic-form', hidden: true, novalidate: true }, input, save, cancel);
  const error = h('span', { className: 'topic-error', id: 'topic-error', role: 'alert' });
  box.append(text, edit, form, error);

  let editing = false;
  let shown = null; // the room shown

  function setEditing(value, current = '') {
    editing = value;
    form.hidden = !value;
    text.hidden = value || !text.dataset.topic;
    edit.hidden = value || edit.dataset.allowed !== 'true';
    box.classList.toggle('editing', value);
    if (value) {
      input.value = current;
      input.focus();
      input.select();
    }
  }

  edit.addEventListener('click', () => {
    setText(error, '');
    setEditing(true, text.dataset.topic || '');
  });
  cancel.addEventListener('click', () => {
    setText(error, '');
    setEditing(false);
    edit.focus();
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      cancel.click();
    }
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    save.disabled = true;
    setText(error, '');
    try {
      await onSave(input.value);
      setEditing(false);
      edit.focus();
    } catch (e) {
      setText(error, `Could not set the topic: ${e.message}.`);
      input.focus();
    } finally {
      save.disabled = false;
    }
  });

  return {
    render(state) {
      const room = currentRoom(state);
      const usable = room && room.kind !== 'direct';
      box.hidden = !usable;
      if (!usable) {
        shown = null;
        return;
      }
      if (room.name !== shown) {
        shown = room.name;
        setText(error, '');
        if (editing) setEditing(false);
      }
      const topic = topicOf(state, room.name) || '';
      const allowed = canSetTopic(roleIn(state, room.name));
      text.dataset.topic = topic;
      setText(text, topic);
      text.title = topic;
      text.hidden = editing || !topic;
      box.classList.toggle('empty', !topic);
      edit.dataset.allowed = String(allowed);
      setText(edit, topic ? 'Edit topic' : 'Add a topic');
      edit.setAttribute('aria-label', topic ? 'Edit the topic' : 'Add a topic');
      if (!allowed && editing) setEditing(false);
      edit.hidden = editing || !allowed;
      box.hidden = !topic && !allowed; // nothing to show: no second line in the header
    },
  };
}
