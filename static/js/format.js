'use strict';

// Pure text helpers shared by the store, the views and their tests: no DOM, no globals.

export const MAX_MESSAGE = 4000;
export const GROUP_WINDOW_MS = 5 * 60 * 1000;
const ROOM_RE = /^[A-Za-z0-9_.-]{1,64}$/;
const USERNAME_RE = /^[A-Za-z0-9_.-]{3,32}$/;

export function isRoomName(name) {
  return typeof name === 'string' && ROOM_RE.test(name);
}

export function isUsername(name) {
  return typeof name === 'string' && USERNAME_RE.test(name);
}

export function sameUser(a, b) {
  return typeof a === 'string' && typeof b === 'string' && a.toLowerCase() === b.toLowerCase();
}

// The server's canonical name of a direct room: both usernames lower-cased and sorted.
export function directRoomName(a, b) {
  const pair = [a.toLowerCase(), b.toLowerCase()].sort();
  return `dm:${pair[0]}:${pair[1]}`;
}

export function isDirectRoom(name) {
  return typeof name === 'string' && name.startsWith('dm:');
}

// The other participant of a direct room, as the room name spells it (lower case).
export function peerOf(room, me) {
  if (!isDirectRoom(room)) return null;
  const names = room.slice(3).split(':');
  const mine = me.toLowerCase();
  return names.find((n) => n !== mine) || names[0];
}

// What a message counts as on the server: code points after trimming.
export function messageLength(text) {
  return [...text.trim()].length;
}

// --- emoji -----------------------------------------------------------------------------

// The emoji data the picker uses writes some emoji that are shown as emoji anyway with a
// variation selector after them ("👍" + U+FE0F), which Unicode does not list and the
// server refuses; without it they are the emoji the server knows.
export function emojiForm(text) {
  return text.replace(/(\p{Emoji_Presentation})\uFE0F/gu, '$1');
}

// --- long messages -------------------------------------------------------------------

const LONG_CHARS = 700;
const LONG_LINES = 12;

// Long enough to fold behind "Show more" (a 4,000-character message is three phone screens).
export function isLong(text) {
  if (!text) return false;
  return [...text].length > LONG_CHARS || text.split('\n').length > LONG_LINES;
}

// --- dates -----------------------------------------------------------------------------

function localDay(date) {
  return `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, '0')}-${String(
    date.getDate(),
  ).padStart(2, '0')}`;
}

export function dayKey(iso) {
  return localDay(new Date(iso));
}

export function dayLabel(iso, now = new Date()) {
  const date = new Date(iso);
  const today = localDay(now);
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  const key = localDay(date);
  if (key === today) return 'Today';
  if (key === localDay(yesterday)) return 'Yesterday';
  const options = { weekday: 'long', day: 'numeric', month: 'long' };
  if (date.getFullYear() !== now.getFullYear()) options.year = 'numeric';
  return date.toLocaleDateString(undefined, options);
}

export function timeLabel(iso) {
  return new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

// For the room list: a time today, a weekday within the week, else a short date.
export function shortWhen(iso, now = new Date()) {
  const date = new Date(iso);
  if (localDay(date) === localDay(now)) return timeLabel(iso);
  const days = (now - date) / 86400000;
  if (days < 6) return date.toLocaleDateString(undefined, { weekday: 'short' });
  return date.toLocaleDateString(undefined, { day: 'numeric', month: 'short' });
}

export function fullWhen(iso) {
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'full', timeStyle: 'short' });
}
