'use strict';

// The lightbox: an image of the conversation at full size in a modal dialog, with its
// name, its place among the conversation's images ("2 of 5"), a download link and a close
// button. ← and → (or the buttons beside it) move to the previous and next image of the
// conversation, Escape closes it, and focus returns to the thumbnail that opened it.
// Renders from the store: the images are those of the messages shown.

import { h, setText } from './dom.js';
import { icon } from './icons.js';
import { humanSize, imagesOf } from '../attachments.js';
import { shownMessages } from '../state/reader.js';

export function createLightbox(doc) {
  let state = null;
  let shownId = null; // the attachment id on screen
  let opener = null; // the thumbnail to give focus back to

  const name = h('h2', { className: 'lightbox-name', id: 'lightbox-name' });
  const meta = h('span', { className: 'lightbox-meta' });
  const download = h('a', { className: 'lightbox-download', href: '#', download: '' }, 'Download');
  const close = h(
    'button',
    { type: 'button', className: 'lightbox-close', 'aria-label': 'Close the image', title: 'Close (Esc)', on: { click: () => dialog.close() } },
    icon('close'),
  );
  const img = h('img', { className: 'lightbox-image', alt: '' });
  const prev = h(
    'button',
    { type: 'button', className: 'lightbox-step lightbox-prev', 'aria-label': 'Previous image', title: 'Previous image (←)', on: { click: () => step(-1) } },
    icon('prev'),
  );
  const next = h(
    'button',
    { type: 'button', className: 'lightbox-step lightbox-next', 'aria-label': 'Next image', title: 'Next image (→)', on: { click: () => step(1) } },
    icon('next'),
  );
  const dialog = h(
    'dialog',
    { className: 'lightbox', id: 'lightbox', 'aria-labelledby': 'lightbox-name' },
    h('div', { className: 'lightbox-bar' }, h('div', { className: 'lightbox-title' }, name, meta), download, close),
    h('div', { className: 'lightbox-stage' }, prev, img, next),
  );
  (doc.getElementById('chat') || doc.body).append(dialog);

  function images() {
    if (!state || !state.rooms.current) return [];
    return imagesOf(shownMessages(state, state.rooms.current));
  }

  function show(id) {
    const list = images();
    const at = list.findIndex((a) => a.id === id);
    if (at === -1) {
      if (dialog.open) dialog.close();
      return;
    }
    const a = list[at];
    shownId = a.id;
    if (img.getAttribute('src') !== a.url) {
      img.removeAttribute('src'); // no stale picture under the new name while it loads
      img.width = a.width;
      img.height = a.height;
      img.src = a.url;
    }
    img.alt = a.name;
    setText(name, a.name);
    setText(meta, `${at + 1} of ${list.length} · from ${a.username} · ${a.width} × ${a.height} · ${humanSize(a.size)}`);
    download.href = a.url;
    download.setAttribute('download', a.name);
    download.setAttribute('aria-label', `Download ${a.name}`);
    prev.disabled = at === 0;
    next.disabled = at === list.length - 1;
    prev.hidden = next.hidden = list.length === 1; // nowhere to go
  }

  function step(by) {
    const list = images();
    const at = list.findIndex((a) => a.id === shownId);
    const to = list[at + by];
    if (at !== -1 && to) show(to.id);
  }

  dialog.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowLeft' || event.key === 'ArrowRight') {
      event.preventDefault();
      step(event.key === 'ArrowLeft' ? -1 : 1);
    }
  });
  // A click on the backdrop (outside the picture and the bar) closes it too.
  dialog.addEventListener('click', (event) => {
    if (event.target === dialog || event.target.classList.contains('lightbox-stage')) dialog.close();
  });
  dialog.addEventListener('close', () => {
    shownId = null;
    img.removeAttribute('src');
    const [back, id] = opener || [null, null];
    opener = null;
    // The thumbnail may have been drawn again meanwhile (its message came back from the
    // server): then its new self takes the focus.
    const thumbnail =
      back && back.isConnected ? back : doc.querySelector(`#messages button.attachment-image[data-attachment-id="${id}"]`);
    if (thumbnail) thumbnail.focus({ preventScroll: true });
  });

  return {
    // Opens at attachment `id`; `from` gets the focus back.
    open(id, from = null) {
      opener = [from, id];
      if (!dialog.open) dialog.showModal();
      show(id);
      close.focus();
    },
    render(next) {
      state = next;
      if (dialog.open && shownId !== null) show(shownId); // deleted, or more images loaded
    },
  };
}
