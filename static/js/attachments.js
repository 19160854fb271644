'use strict';

// Files in messages, as words and sizes: a human size ("1.2 MB"), whether an attachment is
// an image shown inline, the box a thumbnail takes (reserved before it loads, so nothing
// jumps), and the line that stands for a message of files alone in the room list,
// notifications and search ("sent an image"). No DOM here: node --test runs it as it is.

import { plainText } from './markdown.js';

const KB = 1024;
const MB = 1024 * KB;
const GB = 1024 * MB;

// The same units as the server's limits (MAX_UPLOAD_MB counts 1024 × 1024 bytes).
export function humanSize(bytes) {
  const n = Math.max(0, Number(bytes) || 0);
  if (n < KB) return n === 1 ? '1 byte' : `${n} bytes`;
  const [value, unit] = n < MB ? [n / KB, 'KB'] : n < GB ? [n / MB, 'MB'] : [n / GB, 'GB'];
  // One decimal below 10 ("1.2 MB"), whole numbers above ("532 KB"); never "1024 KB".
  let shown = value < 10 ? Math.round(value * 10) / 10 : Math.round(value);
  if (shown >= 1024 && unit !== 'GB') return humanSize(unit === 'KB' ? MB : GB);
  if (Number.isInteger(shown)) shown = String(shown);
  else shown = shown.toFixed(1);
  return `${shown} ${unit}`;
}

// Images have a thumbnail and their size in pixels; anything else is a download.
export function isImage(attachment) {
  return Boolean(
    attachment && attachment.thumb_url && attachment.width > 0 && attachment.height > 0,
  );
}

// The box (whole pixels, at least 1) that keeps width:height and fits in max × max.
export function fitWithin(width, height, maxWidth, maxHeight) {
  if (!(width > 0 && height > 0)) return { width: maxWidth, height: maxHeight };
  const scale = Math.min(1, maxWidth / width, maxHeight / height);
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

// "sent an image", "sent 3 images", "sent a file", "sent 2 files" (files when mixed).
export function filesSummary(attachments) {
  const list = Array.isArray(attachments) ? attachments : [];
  if (!list.length) return '';
  const images = list.every(isImage);
  if (list.length === 1) return images ? 'sent an image' : 'sent a file';
  return `sent ${list.length} ${images ? 'images' : 'files'}`;
}

// Message `m` as one line: its text without markup, or what it carries when it has no
// text ("sent an image"); never blank for a message of files alone.
export function messageLine(m) {
  if (!m) return '';
  return plainText(m.message) || filesSummary(m.attachments);
}

// The one-line file name and size: "report.pdf · 1.2 MB".
export function fileLabel(attachment) {
  return `${attachment.name} · ${humanSize(attachment.size)}`;
}

// Every image of `messages` (oldest first), for the lightbox to move through.
export function imagesOf(messages) {
  const found = [];
  for (const m of messages || []) {
    if (m.deleted || !Array.isArray(m.attachments)) continue;
    for (const a of m.attachments) if (isImage(a)) found.push({ ...a, messageId: m.id, username: m.username });
  }
  return found;
}
