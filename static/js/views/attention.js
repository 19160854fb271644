'use strict';

// What reaches you outside the open conversation: the unread total (and the mentions) in
// the tab title and the favicon, desktop notifications (asked for from a button, never on
// load; for mentions too) and an optional sound made with WebAudio.

import { setText } from './dom.js';
import { messageLine } from '../attachments.js';
import { totalMentions } from '../state/mentions.js';
import { currentRoom, roomLabel } from '../state/rooms.js';
import { totalUnread } from '../state/timeline.js';

const ICON_PATH = 'M8 9h16a2 2 0 0 1 2 2v9a2 2 0 0 1-2 2h-9l-5 4v-4H8a2 2 0 0 1-2-2v-9a2 2 0 0 1 2-2z';

export function faviconFor(count) {
  let badge = '';
  if (count > 0) {
    const text = count > 99 ? '99+' : String(count);
    const size = text.length === 1 ? 15 : text.length === 2 ? 12 : 9;
    badge =
      '<circle cx="22" cy="10" r="10" fill="#c8102e"/>' +
      `<text x="22" y="${10 + size * 0.36}" font-size="${size}" font-family="Arial,Helvetica,sans-serif" ` +
      `font-weight="700" text-anchor="middle" fill="#fff">${text}</text>`;
  }
  const svg =
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">' +
    `<rect width="32" height="32" rx="7" fill="#2456c4"/><path d="${ICON_PATH}" fill="#fff"/>${badge}</svg>`;
  return `data:image/svg+xml,${encodeURIComponent(svg)}`;
}

const PREFS_KEY = 'chat-on-flask.prefs';

function loadPrefs(storage) {
  try {
    const prefs = JSON.parse(storage.getItem(PREFS_KEY) || '{}');
    return { notify: prefs.notify === true, sound: prefs.sound === true };
  } catch {
    return { notify: false, sound: false };
  }
}

export function createAttention(doc, { storage, onOpenRoom }) {
  const $ = (id) => doc.getElementById(id);
  const els = {
    favicon: $('favicon'),
    notify: $('notify-toggle'),
    sound: $('sound-toggle'),
    drawerBadge: $('drawer-badge'),
  };
  const prefs = loadPrefs(storage);
  let audio = null;
  let shownTitle = null;
  let shownCount = -1;

  function savePrefs() {
    try {
      storage.setItem(PREFS_KEY, JSON.stringify(prefs));
    } catch {
      // Not kept across reloads, still on for this page.
    }
  }

  const supported = typeof window.Notification === 'function';

  // The notifications toggle is a toggle button (aria-pressed) while it can be pressed.
  function renderButtons() {
    els.notify.removeAttribute('aria-pressed');
    if (!supported) {
      els.notify.disabled = true;
      setText(els.notify, 'Desktop notifications are not available in this browser');
    } else if (Notification.permission === 'denied') {
      els.notify.disabled = true;
      setText(els.notify, 'Notifications are blocked in the browser’s site settings');
    } else {
      const on = prefs.notify && Notification.permission === 'granted';
      els.notify.disabled = false;
      setText(els.notify, 'Desktop notifications');
      els.notify.setAttribute('aria-pressed', String(on));
    }
    els.sound.setAttribute('aria-pressed', String(prefs.sound));
  }

  els.notify.addEventListener('click', async () => {
    if (!supported) return;
    if (prefs.notify && Notification.permission === 'granted') {
      prefs.notify = false;
    } else {
      const permission =
        Notification.permission === 'granted' ? 'granted' : await Notification.requestPermission();
      prefs.notify = permission === 'granted';
    }
    savePrefs();
    renderButtons();
  });

  els.sound.addEventListener('click', () => {
    prefs.sound = !prefs.sound;
    savePrefs();
    renderButtons();
    if (prefs.sound) chime(); // the click is the user gesture audio needs; also a sample
  });

  function chime() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    try {
      audio = audio || new Context();
      if (audio.state === 'suspended') audio.resume();
      const t = audio.currentTime;
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.type = 'sine';
      tone.frequency.setValueAtTime(880, t);
      tone.frequency.exponentialRampToValueAtTime(660, t + 0.18);
      gain.gain.setValueAtTime(0.0001, t);
      gain.gain.exponentialRampToValueAtTime(0.15, t + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.35);
      tone.connect(gain).connect(audio.destination);
      tone.start(t);
      tone.stop(t + 0.4);
    } catch {
      // No audio device: stay silent.
    }
  }

  // `mention`: the message mentions me (its room may be one this page does not list).
  function alert(state, message, { mention = false } = {}) {
    const room = state.rooms.byName[message.room] || { name: message.room, kind: 'public' };
    if (!state.rooms.byName[message.room] && !mention) return;
    if (prefs.sound) chime();
    if (!supported || !prefs.notify || Notification.permission !== 'granted') return;
    const label = room.kind === 'direct' ? 'a direct message' : roomLabel(room);
    let title = room.kind === 'direct' ? message.username : `${message.username} in ${label}`;
    if (mention) title = `${message.username} mentioned you in ${label}`;
    const text = messageLine(message);
    const body = text.length > 160 ? `${text.slice(0, 160)}…` : text;
    try {
      // One per room: a newer message replaces the older notification.
      const note = new Notification(title, { body, tag: `chat-on-flask:${room.name}` });
      note.onclick = () => {
        window.focus();
        onOpenRoom(room.name, message.id);
        note.close();
      };
    } catch {
      // Some browsers only notify from a service worker: the title and favicon still tell.
    }
  }

  function render(state) {
    const room = currentRoom(state);
    const base = `${room ? roomLabel(room) : 'Your conversations'} · chat-on-flask`;
    const total = totalUnread(state);
    const mentions = totalMentions(state);
    const count = total > 99 ? '99+' : String(total);
    let title = base;
    if (mentions) title = `(${count}, @${mentions}) ${base}`;
    else if (total) title = `(${count}) ${base}`;
    if (title !== shownTitle) {
      document.title = title;
      shownTitle = title;
    }
    if (total !== shownCount) {
      els.favicon.href = faviconFor(total);
      shownCount = total;
    }
    setText(els.drawerBadge, total ? count : '');
    els.drawerBadge.hidden = !total;
    els.drawerBadge.classList.toggle('has-mention', mentions > 0);
  }

  renderButtons();
  return { render, alert };
}
