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

// --- links -----------------------------------------------------------------------------

// http(s) URLs only; anything else (javascript:, data:, …) stays text.
const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const TRAILING = /[.,;:!?'"»”’]+$/;

function trimUrl(candidate) {
  let url = candidate.replace(TRAILING, '');
  // A closing bracket belongs to the URL only when it opened one: "(see https://x.y/a)".
  for (const [open, close] of [
    ['(', ')'],
    ['[', ']'],
  ]) {
    while (url.endsWith(close) && count(url, close) > count(url, open)) {
      url = url.slice(0, -1).replace(TRAILING, '');
    }
  }
  return url;
}

function count(text, ch) {
  return text.split(ch).length - 1;
}

function safeHref(url) {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : null;
  } catch {
    return null;
  }
}

// [{text} | {text, href}]: the message split into plain text and http(s) links.
export function linkify(text) {
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(URL_RE)) {
    const url = trimUrl(match[0]);
    const href = safeHref(url);
    if (!href) continue;
    if (match.index > last) parts.push({ text: text.slice(last, match.index) });
    parts.push({ text: url, href });
    last = match.index + url.length;
  }
  if (last < text.length) parts.push({ text: text.slice(last) });
  return parts;
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
