'use strict';

// The page around the panes: its layout without an open room, its one h1, the room list
// as a drawer on phones, and the live region that reads new messages aloud.

import { currentRoom } from '../state/rooms.js';

export function createPage(doc, root) {
  const $ = (id) => doc.getElementById(id);
  const drawerButton = $('open-drawer');
  const sideTitle = doc.querySelector('.side-title');
  const announcer = $('announcer');

  function openDrawer() {
    root.classList.add('drawer-open');
    drawerButton.setAttribute('aria-expanded', 'true');
    const target = doc.querySelector('#sidebar [aria-current="page"]') || $('finder-toggle');
    target.focus();
  }

  function closeDrawer() {
    if (!root.classList.contains('drawer-open')) return;
    root.classList.remove('drawer-open');
    drawerButton.setAttribute('aria-expanded', 'false');
  }

  drawerButton.addEventListener('click', openDrawer);
  $('close-drawer').addEventListener('click', () => {
    closeDrawer();
    drawerButton.focus();
  });
  $('backdrop').addEventListener('click', closeDrawer);
  doc.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && root.classList.contains('drawer-open')) {
      closeDrawer();
      drawerButton.focus();
    }
  });

  return {
    render(state) {
      const room = currentRoom(state);
      root.classList.toggle('no-room', !room);
      // One h1: the room's name, or (with no room open, as on /) the site's.
      if (sideTitle) {
        if (room) sideTitle.setAttribute('role', 'none');
        else sideTitle.removeAttribute('role');
      }
    },
    closeDrawer,
    announce(text) {
      const line = doc.createElement('p');
      line.textContent = text.length > 300 ? `${text.slice(0, 300)}…` : text;
      announcer.append(line);
      while (announcer.childElementCount > 3) announcer.firstElementChild.remove();
    },
  };
}
