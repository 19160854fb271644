'use strict';

// What I write, to the server: the send pump (the outbox goes out one message at a time
// per room, each with its client_id until the server acks it, with reply_to when it answers
// a message; a rate limit waits its retry_after, other transient failures back off),
// edits, deletes and the typing notice.

import { request, retryDelay } from '../net/socket.js';
import { nextToSend } from '../state/outbox.js';
import { currentRoom } from '../state/rooms.js';
import { readyAttachments } from '../state/uploads.js';
import { newClientId } from './outbox-storage.js';

export function sendErrorText(error) {
  if (error.code === 'too_long') return 'it is over 4,000 characters';
  if (error.code === 'forbidden') return 'you may not write here';
  if (error.code === 'rate_limited') return 'sending too fast';
  if (error.code === 'timeout') return 'no answer from the server';
  return error.message;
}

const realClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (timer) => clearTimeout(timer),
};

// `rejoin` joins the open room again (a send refused with not_in_room waits for it).
export function createSend({ socket, store, rejoin, clock = realClock, newId = newClientId }) {
  const { dispatch, getState } = store;
  let pumpTimer = null;

  // One message at a time per room, each until the server has it; a resend keeps its
  // client_id, so the server stores and broadcasts it once however often it goes out.
  // Called after every change of the state: it sends what can go now, or waits.
  function pump() {
    clock.clearTimeout(pumpTimer);
    pumpTimer = null;
    const next = nextToSend(getState(), clock.now());
    if (!next) return;
    if (next.wait !== undefined) {
      pumpTimer = clock.setTimeout(pump, next.wait);
      return;
    }
    const entry = next.entry;
    const attempt = entry.attempts + 1;
    dispatch({ type: 'send_started', client_id: entry.client_id });
    const payload = { room: entry.room, message: entry.text, client_id: entry.client_id };
    if (entry.reply) payload.reply_to = entry.reply.id;
    if (entry.attachments && entry.attachments.length) payload.attachments = entry.attachments.map((a) => a.id);
    request(socket, 'send_message', payload).then(
      (res) =>
        dispatch({ type: 'send_acked', client_id: entry.client_id, id: res.id, created_at: res.created_at }),
      (error) => {
        let wait = retryDelay(error, attempt - 1);
        if (error.code === 'disconnected') wait = 1000; // and the reconnect sends it anyway
        if (error.code === 'not_in_room') {
          wait = 1000;
          rejoin();
        }
        dispatch({
          type: 'send_failed',
          client_id: entry.client_id,
          attempt,
          error: { code: error.code, message: sendErrorText(error) },
          retryAt: wait === null ? null : clock.now() + wait,
        });
      },
    );
  }

  // Into the outbox of the open room (false: no room is open), as a reply when the box
  // is answering a message, with the files uploaded for it (the entry keeps them, so a
  // retry sends the same ones).
  function queue(text) {
    const state = getState();
    const room = currentRoom(state);
    if (!room) return false;
    const entry = { client_id: newId(), room: room.name, text, queued_at: clock.now() };
    if (state.compose.replyTo) entry.reply = state.compose.replyTo;
    const files = readyAttachments(state, room.name);
    if (files.length) entry.attachments = files;
    dispatch({ type: 'queued', entry });
    return true;
  }

  // Rejects with an Error that says why, in words.
  async function edit(id, text) {
    const room = currentRoom(getState());
    if (!room) throw new Error('no room is open');
    try {
      await request(socket, 'edit_message', { room: room.name, id, message: text });
    } catch (error) {
      throw new Error(error.code === 'disconnected' ? 'the connection is down' : sendErrorText(error));
    }
  }

  // A promise that rejects with an Error that says why, or null when no room is open.
  function remove(id) {
    const room = currentRoom(getState());
    if (!room) return null;
    return request(socket, 'delete_message', { room: room.name, id }).catch((error) => {
      throw new Error(sendErrorText(error));
    });
  }

  function typing(on) {
    const room = currentRoom(getState());
    if (room && room.join === 'joined')
      request(socket, 'typing_status', { room: room.name, typing: on }).catch(() => {});
  }

  return { pump, queue, edit, remove, typing };
}
