'use strict';

// The uploads slice: the files in the tray above the message box, per room (a file is
// uploaded to one room and goes out in a message there; switching rooms keeps each room's
// tray), oldest first, each {key, room, name, size, state, loaded, total, attachment, error}
// with state uploading | done (the server has it: `attachment`, since `doneAt`) | failed (`error`, the
// server's words). The files that are done go out with the next message of the room
// (the outbox entry takes them); a failed one stays until it is dismissed, and nothing is
// sent while one is there or one is still uploading. What is done survives a reload
// (effects/tray-storage.js).
//
// `apply(state, event)` is pure: given the whole state before the event, it returns this
// slice after it (the same array when nothing changed).

import { LIMITS } from '../protocol.js';

export const MAX_FILES = LIMITS.MAX_ATTACHMENTS;

export function initial() {
  return [];
}

function update(uploads, key, change) {
  let changed = false;
  const next = uploads.map((u) => {
    if (u.key !== key) return u;
    const updated = change(u);
    changed = changed || updated !== u;
    return updated;
  });
  return changed ? next : uploads;
}

function drop(uploads, predicate) {
  const next = uploads.filter((u) => !predicate(u));
  return next.length === uploads.length ? uploads : next;
}

const handlers = {
  upload_started(uploads, event) {
    const { key, room, name, size } = event.upload;
    return [...uploads, { key, room, name, size, state: 'uploading', loaded: 0, total: size, attachment: null, error: null }];
  },
  // A file refused before it went anywhere (too big, one too many): shown as failed.
  upload_refused(uploads, event) {
    const { key, room, name, size } = event.upload;
    return [...uploads, { key, room, name, size, state: 'failed', loaded: 0, total: size, attachment: null, error: event.error }];
  },
  upload_progress(uploads, event) {
    return update(uploads, event.key, (u) =>
      u.state !== 'uploading' || (u.loaded === event.loaded && u.total === event.total)
        ? u
        : { ...u, loaded: event.loaded, total: event.total },
    );
  },
  upload_done(uploads, event) {
    return update(uploads, event.key, (u) =>
      u.state !== 'uploading'
        ? u
        : { ...u, state: 'done', loaded: u.total, attachment: event.attachment, doneAt: event.at || 0 },
    );
  },
  // Finished uploads an earlier page left in its trays (from localStorage), each once.
  uploads_restored(uploads, event) {
    const have = new Set(uploads.map((u) => u.key));
    const back = event.uploads
      .filter((u) => !have.has(u.key))
      .map((u) => ({ ...u, state: 'done', loaded: u.size, total: u.size, error: null }));
    return back.length ? [...back, ...uploads] : uploads;
  },
  upload_failed(uploads, event) {
    return update(uploads, event.key, (u) => (u.state !== 'uploading' ? u : { ...u, state: 'failed', error: event.error }));
  },
  // Cancelled, removed from the message, or a failure dismissed.
  upload_removed(uploads, event) {
    return drop(uploads, (u) => u.key === event.key);
  },
  // The message took the room's finished files.
  queued(uploads, event) {
    const ids = new Set((event.entry.attachments || []).map((a) => a.id));
    if (!ids.size) return uploads;
    return drop(uploads, (u) => u.room === event.entry.room && u.state === 'done' && ids.has(u.attachment.id));
  },
  room_removed(uploads, event) {
    return drop(uploads, (u) => u.room === event.room);
  },
};

export const EVENTS = Object.freeze(Object.keys(handlers));

export function apply(state, event) {
  const handler = handlers[event.type];
  return handler ? handler(state.uploads, event, state) : state.uploads;
}

// --- selectors ---------------------------------------------------------------------------

export function uploadsFor(state, room) {
  return state.uploads.filter((u) => u.room === room);
}

// The attachments (as the server described them) the next message of `room` carries.
export function readyAttachments(state, room) {
  return uploadsFor(state, room)
    .filter((u) => u.state === 'done')
    .map((u) => u.attachment);
}

// How many more files `room`'s next message may take (failed ones do not count).
export function roomLeft(state, room) {
  return Math.max(0, MAX_FILES - uploadsFor(state, room).filter((u) => u.state !== 'failed').length);
}

// What the tray says about sending now: {count, ready, problem} where `problem` is why a
// message cannot go yet (null when it can), in words for the message box.
export function trayStatus(state, room) {
  const mine = uploadsFor(state, room);
  const uploading = mine.filter((u) => u.state === 'uploading').length;
  const failed = mine.filter((u) => u.state === 'failed').length;
  let problem = null;
  if (uploading) {
    problem =
      uploading === 1
        ? 'A file is still uploading: send when it is done, or cancel it.'
        : `${uploading} files are still uploading: send when they are done, or cancel them.`;
  } else if (failed) {
    problem =
      failed === 1
        ? 'A file could not be uploaded: remove it from the tray to send the message.'
        : `${failed} files could not be uploaded: remove them from the tray to send the message.`;
  }
  return { count: mine.length, ready: mine.filter((u) => u.state === 'done').length, problem };
}

// The progress of an upload, 0..100.
export function percent(upload) {
  if (upload.state === 'done') return 100;
  if (!upload.total) return 0;
  return Math.min(100, Math.floor((upload.loaded / upload.total) * 100));
}
