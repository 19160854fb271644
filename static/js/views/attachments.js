'use strict';

// The files of a message as nodes: an image is its thumbnail, in a box the size of the
// payload's width and height scaled down (the attributes reserve it, so the conversation
// does not jump when it loads), a button that opens the lightbox; anything else is a
// download link with its name and size ("report.pdf · 1.2 MB").

import { h } from './dom.js';
import { icon } from './icons.js';
import { fileLabel, fitWithin, humanSize, isImage } from '../attachments.js';

export const THUMB_BOX = { width: 320, height: 240 }; // CSS px, before max-width: 100%

// onOpenImage(attachmentId, button) opens the lightbox at that image; without it (a
// message still on its way) the thumbnail is only shown.
export function attachmentNodes(attachments, { onOpenImage = null } = {}) {
  if (!Array.isArray(attachments) || !attachments.length) return [];
  const images = attachments.filter(isImage);
  const files = attachments.filter((a) => !isImage(a));
  const nodes = [];
  if (images.length) {
    const list = h('ul', { className: 'attachment-images', 'aria-label': images.length === 1 ? 'Image' : 'Images' });
    for (const a of images) {
      const box = fitWithin(a.width, a.height, THUMB_BOX.width, THUMB_BOX.height);
      const img = h('img', {
        src: a.thumb_url,
        alt: a.name,
        width: box.width,
        height: box.height,
        loading: 'lazy',
        decoding: 'async',
      });
      const label = `Open the image ${a.name} (${a.width} × ${a.height}, ${humanSize(a.size)})`;
      const item = onOpenImage
        ? h(
            'button',
            {
              type: 'button',
              className: 'attachment-image',
              'aria-label': label,
              title: a.name,
              dataset: { attachmentId: String(a.id) },
              on: { click: (event) => onOpenImage(a.id, event.currentTarget) },
            },
            img,
          )
        : h('span', { className: 'attachment-image', dataset: { attachmentId: String(a.id) } }, img);
      list.append(h('li', {}, item));
    }
    nodes.push(list);
  }
  if (files.length) {
    const list = h('ul', { className: 'attachment-files', 'aria-label': files.length === 1 ? 'File' : 'Files' });
    for (const a of files) {
      list.append(
        h(
          'li',
          {},
          h(
            'a',
            {
              className: 'attachment-file',
              href: a.url,
              download: a.name,
              'aria-label': `Download ${fileLabel(a)}`,
              dataset: { attachmentId: String(a.id) },
            },
            icon('file'),
            h('span', { className: 'attachment-name' }, a.name),
            h('span', { className: 'attachment-size' }, ` · ${humanSize(a.size)}`),
          ),
        ),
      );
    }
    nodes.push(list);
  }
  return nodes;
}
