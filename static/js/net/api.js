'use strict';

// The JSON API the page uses beside the socket: the room list (when the server cannot
// watch rooms), a room's members and moderation record, the directory, removing a room
// from your list, your mentions, and search.

export class ApiError extends Error {
  constructor(message, status = 0, code = null, retryAfter = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter; // seconds, when the server said how long to wait (429)
  }
}

export function createApi({ csrfToken, onUnauthorized, fetchImpl = (...args) => fetch(...args) }) {
  let csrf = csrfToken;

  async function call(method, url, { retried = false } = {}) {
    const headers = { Accept: 'application/json' };
    if (method !== 'GET') headers['X-CSRFToken'] = csrf;
    let res;
    try {
      res = await fetchImpl(url, { method, headers, credentials: 'same-origin' });
    } catch {
      throw new ApiError('the server cannot be reached', 0, 'unavailable');
    }
    if (res.status === 401) {
      onUnauthorized();
      throw new ApiError('you are signed out', 401, 'unauthorized');
    }
    if (res.status === 204) return null;
    let body = null;
    try {
      body = await res.json();
    } catch {
      body = null;
    }
    if (res.ok) return body;
    const error = (body && body.error) || {};
    // A page left open for hours holds an expired CSRF token: fetch a fresh one once.
    if (res.status === 400 && /csrf/i.test(error.message || '') && !retried && (await refreshCsrf())) {
      return call(method, url, { retried: true });
    }
    const wait = typeof error.retry_after === 'number' ? error.retry_after : null;
    throw new ApiError(error.message || `the server answered ${res.status}`, res.status, error.code || null, wait);
  }

  async function refreshCsrf() {
    try {
      const res = await fetchImpl('/', { credentials: 'same-origin' });
      const page = new DOMParser().parseFromString(await res.text(), 'text/html');
      const token = page.querySelector('meta[name="csrf-token"]');
      if (!token || !token.content) return false;
      csrf = token.content;
      return true;
    } catch {
      return false;
    }
  }

  return {
    async rooms() {
      const body = await call('GET', '/api/rooms');
      return (body && body.rooms) || [];
    },
    // {members: [{username, role, online}], has_more}: a room's members by username,
    // after `after`.
    async members(room, { after = null, limit = 50 } = {}) {
      const query = new URLSearchParams({ limit: String(limit) });
      if (after) query.set('after', after);
      const body = await call('GET', `/api/rooms/${encodeURIComponent(room)}/members?${query}`);
      return { members: (body && body.members) || [], has_more: Boolean(body && body.has_more) };
    },
    // {entries}: a room's moderation record, newest first, older than beforeId.
    async audit(room, { beforeId = null, limit = 30 } = {}) {
      const query = new URLSearchParams({ limit: String(limit) });
      if (beforeId !== null) query.set('before_id', String(beforeId));
      const body = await call('GET', `/api/rooms/${encodeURIComponent(room)}/audit?${query}`);
      return { entries: (body && body.entries) || [] };
    },
    async directory(q) {
      const body = await call('GET', `/api/directory?q=${encodeURIComponent(q)}&limit=30`);
      return (body && body.rooms) || [];
    },
    // {messages, has_more}: my mentions across rooms, newest first, older than beforeId.
    async mentions({ beforeId = null, limit = 30 } = {}) {
      const query = new URLSearchParams({ limit: String(limit) });
      if (beforeId !== null) query.set('before_id', String(beforeId));
      const body = await call('GET', `/api/mentions?${query}`);
      return { messages: (body && body.messages) || [], has_more: Boolean(body && body.has_more) };
    },
    // {messages, has_more}: messages I may read matching `q` (in `room`, by `from`, when
    // given), newest first, older than beforeId.
    async search({ q, room = null, from = null, beforeId = null, limit = 20 }) {
      const query = new URLSearchParams({ q, limit: String(limit) });
      if (room) query.set('room', room);
      if (from) query.set('from', from);
      if (beforeId !== null) query.set('before_id', String(beforeId));
      const body = await call('GET', `/api/search?${query}`);
      return { messages: (body && body.messages) || [], has_more: Boolean(body && body.has_more) };
    },
    removeMembership(room) {
      return call('DELETE', `/api/rooms/${encodeURIComponent(room)}/membership`);
    },
  };
}
