'use strict';

// Files to the server, for the next message: each goes on its own XMLHttpRequest (fetch
// cannot tell how much of a body has gone) to POST /api/rooms/<room>/attachments with the
// page's CSRF token, its progress into the uploads slice, cancellable (xhr.abort). The
// server's refusal (too_large, limit_reached, a broken image, not a member) is shown in its
// own words; a file over MAX_UPLOAD_MB or one past the ten a message takes is refused here
// first, with the server's words for it, and never leaves the page.

import { humanSize } from '../attachments.js';
import { currentRoom } from '../state/rooms.js';
import { roomLeft, MAX_FILES } from '../state/uploads.js';

const PROGRESS_EVERY = 100; // ms between progress updates of one upload

let keys = 0;
const nextKey = () => `u${Date.now().toString(36)}-${(keys += 1)}`;

// Why the server refused an upload, in words, from its answer.
export function uploadErrorText(status, body, { maxBytes = 0, size = 0 } = {}) {
  const error = body && body.error;
  // A page open for hours holds an expired CSRF token (the JSON API fetches a fresh one;
  // a file would have to go again): a reload gives one.
  if (status === 400 && error && /csrf/i.test(error.message || '')) return 'the page is out of date: reload it and try again';
  if (error && error.message) return error.message;
  if (status === 413) return `a file is at most ${Math.floor(maxBytes / (1024 * 1024))} MB`;
  if (status === 0) {
    // A refused body ends the connection before the browser has sent it all: it then sees
    // no answer at all.
    if (maxBytes && size > maxBytes) return `a file is at most ${Math.floor(maxBytes / (1024 * 1024))} MB`;
    return 'the connection broke off';
  }
  return `the server answered ${status}`;
}

// `maxBytes`: MAX_UPLOAD_MB as the server has it; `onUnauthorized` when the session ended.
export function createUploads({ store, csrfToken, maxBytes, onUnauthorized = () => {}, newXhr = () => new XMLHttpRequest(), clock = Date }) {
  const { dispatch, getState } = store;
  const running = new Map(); // key -> its XMLHttpRequest

  function refuse(room, file, error) {
    dispatch({ type: 'upload_refused', upload: { key: nextKey(), room, name: file.name || 'file', size: file.size }, error });
  }

  function start(room, file) {
    const key = nextKey();
    const name = file.name || 'file';
    dispatch({ type: 'upload_started', upload: { key, room, name, size: file.size } });
    const xhr = newXhr();
    running.set(key, xhr);
    let shownAt = 0;
    xhr.upload.onprogress = (event) => {
      const now = clock.now();
      if (now - shownAt < PROGRESS_EVERY && event.loaded < event.total) return;
      shownAt = now;
      dispatch({ type: 'upload_progress', key, loaded: event.loaded, total: event.lengthComputable ? event.total : file.size });
    };
    xhr.onload = () => {
      running.delete(key);
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = null;
      }
      if (xhr.status === 201 && body && body.attachment) {
        dispatch({ type: 'upload_done', key, attachment: body.attachment, at: clock.now() });
        return;
      }
      if (xhr.status === 401) onUnauthorized();
      dispatch({ type: 'upload_failed', key, error: uploadErrorText(xhr.status, body, { maxBytes, size: file.size }) });
    };
    xhr.onerror = () => {
      running.delete(key);
      dispatch({ type: 'upload_failed', key, error: uploadErrorText(0, null, { maxBytes, size: file.size }) });
    };
    xhr.onabort = () => running.delete(key);
    const form = new FormData();
    form.append('file', file, name);
    xhr.open('POST', `/api/rooms/${encodeURIComponent(room)}/attachments`);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.setRequestHeader('X-CSRFToken', csrfToken);
    xhr.send(form);
  }

  return {
    // Files picked, pasted or dropped, for the open room's next message: each uploads at
    // once, or is refused in the tray with the reason.
    add(files) {
      const room = currentRoom(getState());
      if (!room) return;
      for (const file of files) {
        if (roomLeft(getState(), room.name) === 0) {
          refuse(room.name, file, `a message takes at most ${MAX_FILES} files`);
        } else if (maxBytes && file.size > maxBytes) {
          refuse(room.name, file, `a file is at most ${humanSize(maxBytes)}`);
        } else if (!file.size) {
          refuse(room.name, file, 'the file is empty');
        } else {
          start(room.name, file);
        }
      }
    },
    // Stops an upload still going (the server keeps nothing of it) or takes a file out of
    // the next message (the server removes it after a day), or dismisses a failure.
    remove(key) {
      const xhr = running.get(key);
      if (xhr) {
        running.delete(key);
        xhr.abort();
      }
      dispatch({ type: 'upload_removed', key });
    },
  };
}
