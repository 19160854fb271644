'use strict';

// Adding files to the next message: the attach button (a file picker), a paste of files or
// images into the message box, and a drop anywhere on the conversation (a drop target
// shows while files are dragged over it). The tray above the box shows each file of the
// open room: uploading (a progress bar and a cancel button), ready (a chip: its thumbnail
// or a file icon, name, size and a remove button) or refused (the server's reason and a
// button that dismisses it). Renders from the store; files go to `onAdd(files)`.

import { h, reconcile, setText } from './dom.js';
import { icon } from './icons.js';
import { humanSize } from '../attachments.js';
import { percent, uploadsFor } from '../state/uploads.js';

const hasFiles = (event) => Boolean(event.dataTransfer) && [...event.dataTransfer.types].includes('Files');

// onAdd(files) uploads them for the open room; onRemove(key) cancels, removes or dismisses.
export function createUploadTray(doc, { onAdd, onRemove }) {
  const $ = (id) => doc.getElementById(id);
  const els = {
    button: $('attach-button'),
    input: $('attach-input'),
    tray: $('upload-tray'),
    message: $('message'),
    conversation: $('conversation'),
    zone: $('drop-zone'),
  };
  const cache = new Map();
  let room = null;

  els.button.append(icon('attach'));
  els.button.addEventListener('click', () => els.input.click());
  els.input.addEventListener('change', () => {
    const files = [...els.input.files];
    els.input.value = ''; // the same file may be picked again
    if (files.length) onAdd(files);
    els.message.focus();
  });

  els.message.addEventListener('paste', (event) => {
    const files = event.clipboardData ? [...event.clipboardData.files] : [];
    if (!files.length) return; // text pastes as text
    event.preventDefault();
    onAdd(files);
  });

  // Files dragged over the conversation: the drop target shows until they leave or drop.
  let depth = 0;
  const showZone = (on) => {
    els.zone.hidden = !on;
    els.conversation.classList.toggle('dropping', on);
  };
  els.conversation.addEventListener('dragenter', (event) => {
    if (!hasFiles(event) || !room) return;
    event.preventDefault();
    depth += 1;
    showZone(true);
  });
  els.conversation.addEventListener('dragover', (event) => {
    if (!hasFiles(event) || !room) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
  });
  els.conversation.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (!depth) showZone(false);
  });
  els.conversation.addEventListener('drop', (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    depth = 0;
    showZone(false);
    const files = [...event.dataTransfer.files];
    if (files.length && room) onAdd(files);
    els.message.focus({ preventScroll: true });
  });
  // A file dropped next to the target must not replace the page with itself.
  doc.defaultView.addEventListener('dragover', (event) => hasFiles(event) && event.preventDefault());
  doc.defaultView.addEventListener('drop', (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    depth = 0;
    showZone(false);
  });

  function removeButton(upload, label, text) {
    return h(
      'button',
      { type: 'button', className: 'upload-remove', 'aria-label': label, title: text, on: { click: () => onRemove(upload.key) } },
      icon('close'),
    );
  }

  function fill(li, upload) {
    const size = humanSize(upload.size);
    li.className = `upload ${upload.state}`;
    li.dataset.key = upload.key;
    if (upload.state === 'uploading') {
      const p = percent(upload);
      let bar = li.querySelector('progress');
      if (!bar) {
        bar = h('progress', { max: '100', value: '0', 'aria-label': `Uploading ${upload.name}` });
        li.replaceChildren(
          icon('file'),
          h('span', { className: 'upload-name' }, upload.name),
          bar,
          h('span', { className: 'upload-percent' }),
          removeButton(upload, `Cancel the upload of ${upload.name}`, 'Cancel the upload'),
        );
      }
      bar.value = p;
      setText(li.querySelector('.upload-percent'), `${p}%`);
      return;
    }
    if (upload.state === 'done') {
      const a = upload.attachment;
      const preview = a.thumb_url
        ? h('img', { className: 'upload-thumb', src: a.thumb_url, alt: '', width: 40, height: 40 })
        : icon('file');
      li.replaceChildren(
        preview,
        h('span', { className: 'upload-name' }, a.name),
        h('span', { className: 'upload-size' }, size),
        removeButton(upload, `Remove ${a.name} from the message`, 'Remove from the message'),
      );
      return;
    }
    li.replaceChildren(
      icon('file'),
      h('span', { className: 'upload-name' }, upload.name),
      h('span', { className: 'upload-error', role: 'alert' }, `Not uploaded: ${upload.error.replace(/\.$/, '')}.`),
      removeButton(upload, `Dismiss the error about ${upload.name}`, 'Dismiss'),
    );
  }

  function create(item) {
    const li = h('li');
    fill(li, item.upload);
    return li;
  }

  function update(li, item, previous) {
    if (previous.upload.state !== item.upload.state) li.replaceChildren();
    fill(li, item.upload);
  }

  return {
    render(state) {
      room = state.rooms.current;
      const mine = room ? uploadsFor(state, room) : [];
      const items = mine.map((upload) => ({ key: upload.key, upload }));
      // Focus on a button that goes away moves to the message box, not to the page.
      const focused = els.tray.contains(doc.activeElement);
      reconcile(els.tray, items, cache, { create, update });
      els.tray.hidden = !items.length;
      if (focused && !els.tray.contains(doc.activeElement)) els.message.focus({ preventScroll: true });
      if (!room) showZone(false);
    },
  };
}
