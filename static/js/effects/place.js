'use strict';

// Where the reader was in each room, for this tab (sessionStorage): a reload returns there
// instead of jumping to the bottom. Nothing is kept while the reader is at the bottom.

const PREFIX = 'chat-on-flask.place.';

export function createPlace({ storage, me }) {
  const key = (room) => `${PREFIX}${me.toLowerCase()}.${room}`;
  return {
    save({ room, id, offset, atBottom }) {
      try {
        if (atBottom || typeof id !== 'number') storage.removeItem(key(room));
        else storage.setItem(key(room), JSON.stringify({ id, offset: Math.round(offset) }));
      } catch {
        // not kept: a reload opens at the bottom
      }
    },
    // {id, offset} or null.
    restore(room) {
      try {
        const place = JSON.parse(storage.getItem(key(room)) || 'null');
        return place && Number.isInteger(place.id) && Number.isFinite(place.offset) ? place : null;
      } catch {
        return null;
      }
    },
  };
}
