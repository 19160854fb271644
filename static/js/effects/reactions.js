'use strict';

// Reactions: mine go to the server (react), and everyone's changes come back
// (reaction_changed) into the store; the ack of mine is a change too.

import { emojiForm } from '../format.js';
import { request } from '../net/socket.js';
import { currentRoom } from '../state/rooms.js';

export function reactErrorText(error) {
  if (error.code === 'limit_reached') return 'a message takes at most 20 different emoji';
  if (error.code === 'not_found') return 'the message is gone';
  if (error.code === 'invalid_payload') return 'that is not one emoji';
  if (error.code === 'rate_limited') return 'reacting too fast';
  if (error.code === 'timeout') return 'no answer from the server';
  if (error.code === 'disconnected') return 'the connection is down';
  return error.message;
}

export function createReactions({ socket, store }) {
  const { dispatch, getState } = store;
  const changed = (d) =>
    dispatch({ type: 'reaction_changed', room: d.room, id: d.id, emoji: d.emoji, count: d.count, users: d.users || [] });

  // Adds (on) or takes back my `emoji` on message `id` of the open room; rejects with an
  // Error that says why, in words.
  async function react(id, emoji, on) {
    const room = currentRoom(getState());
    if (!room) return;
    let res;
    try {
      res = await request(socket, 'react', { room: room.name, id, emoji: emojiForm(emoji), on });
    } catch (error) {
      throw new Error(reactErrorText(error));
    }
    changed({ ...res, room: room.name });
  }

  return { react, events: { reaction_changed: changed } };
}
