'use strict';

// The notice that my membership of a room ended by someone else's hand (removed, banned):
// the room has left the list and the composer is gone with it; this says why, until it is
// dismissed or another room is opened. Shown above the conversation and, where a phone
// shows the room list alone, at the top of the list. Renders from the store.

import { h, setText } from './dom.js';

export function createRoomNotice(doc, { onDismiss }) {
  const boxes = [doc.getElementById('room-notice'), doc.getElementById('side-notice')].filter(Boolean);
  const texts = boxes.map((box) => {
    const text = h('span', { className: 'room-notice-text' });
    const dismiss = h('button', { type: 'button', className: 'link', on: { click: () => onDismiss() } }, 'Dismiss');
    box.append(text, dismiss);
    return text;
  });
  let shown = null;

  return {
    render(state) {
      const notice = state.owners.notice;
      if (notice === shown) return;
      shown = notice;
      boxes.forEach((box, i) => {
        box.hidden = !notice;
        box.dataset.kind = notice && notice.banned ? 'banned' : 'removed';
        setText(texts[i], notice ? notice.text : '');
      });
    },
  };
}
