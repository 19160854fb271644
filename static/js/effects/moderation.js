'use strict';

// Rooms with owners, on the server's side: the open room's member list and moderation
// record (pages over HTTP), the actions of its owner and moderators (moderate: delete,
// kick, ban, unban, promote, demote), invitations, the topic (set_topic, and room_updated
// from the server), and a private room made from the finder. Each action rejects with an
// Error whose message says why, in words; what it changed is in the store at once.

import { request } from '../net/socket.js';
import { LIMITS } from '../protocol.js';
import { AUDIT_PAGE, MEMBERS_PAGE, moderationErrorText, ownersOf } from '../state/owners.js';
import { currentRoom } from '../state/rooms.js';

const RECHECK_DELAY = 1000; // ms after someone closed the room before their presence is read

export function createModeration({ socket, api, store }) {
  const { dispatch, getState } = store;
  const openRoom = () => {
    const room = currentRoom(getState());
    return room && room.kind !== 'direct' ? room.name : null;
  };

  async function ask(event, payload) {
    try {
      return await request(socket, event, payload);
    } catch (error) {
      throw new Error(moderationErrorText(error));
    }
  }

  // The first page afresh (`more`: the page after the last one loaded; `again`: as many as
  // are loaded, afresh, up to the largest page).
  async function loadMembers(room, { more = false, again = false } = {}) {
    const list = ownersOf(getState(), room).members;
    if (list.loading) return;
    const after = more && list.list.length ? list.list[list.list.length - 1].username : null;
    const limit = again ? Math.min(LIMITS.MAX_PAGE_SIZE, Math.max(MEMBERS_PAGE, list.list.length)) : MEMBERS_PAGE;
    dispatch({ type: 'members_requested', room });
    try {
      const page = await api.members(room, { after, limit });
      dispatch({ type: 'members_loaded', room, members: page.members, has_more: page.has_more, reset: !more });
    } catch (error) {
      dispatch({ type: 'members_failed', room, error: `Could not load the members: ${error.message}.` });
    }
  }

  async function loadAudit(room, { more = false } = {}) {
    const audit = ownersOf(getState(), room).audit;
    if (audit.loading) return;
    const last = more && audit.entries.length ? audit.entries[audit.entries.length - 1].id : null;
    dispatch({ type: 'audit_requested', room });
    try {
      const page = await api.audit(room, { beforeId: last, limit: AUDIT_PAGE });
      dispatch({ type: 'audit_loaded', room, entries: page.entries, reset: !more, limit: AUDIT_PAGE });
    } catch (error) {
      dispatch({ type: 'audit_failed', room, error: `Could not load the record: ${error.message}.` });
    }
  }

  // Someone closed the room: whether they are still online anywhere only the server knows
  // (presence_changed reaches direct rooms only), so a loaded list asks again, once for a
  // burst of such news.
  const recheck = new Map(); // room -> timer
  store.listen((event, after) => {
    if (event.type !== 'announced' || event.joined || event.membership) return;
    if (!ownersOf(after, event.room).members.loaded || recheck.has(event.room)) return;
    recheck.set(
      event.room,
      setTimeout(() => {
        recheck.delete(event.room);
        if (ownersOf(getState(), event.room).members.loaded) loadMembers(event.room, { again: true });
      }, RECHECK_DELAY),
    );
  });

  function refreshAudit(room) {
    if (ownersOf(getState(), room).audit.loaded) loadAudit(room);
  }

  // kick, ban, unban, promote or demote `target` in the open room.
  async function act(action, target, reason = '') {
    const room = openRoom();
    if (!room) throw new Error('no room is open');
    const payload = { room, action, target };
    if (reason.trim()) payload.reason = reason.trim();
    await ask('moderate', payload);
    if (action === 'promote' || action === 'demote') {
      const role = action === 'promote' ? 'moderator' : 'member';
      dispatch({ type: 'member_changed', room, member: { username: target, role } });
    } else if (action === 'kick' || action === 'ban') {
      dispatch({ type: 'member_gone', room, username: target });
    }
    refreshAudit(room);
  }

  // Deletes someone else's message `id` in the open room, as its owner or a moderator.
  async function deleteMessage(id) {
    const room = openRoom();
    if (!room) throw new Error('no room is open');
    await ask('moderate', { room, action: 'delete', id });
    refreshAudit(room);
  }

  async function setTopic(topic) {
    const room = openRoom();
    if (!room) throw new Error('no room is open');
    const res = await ask('set_topic', { room, topic });
    dispatch({ type: 'topic_changed', room, topic: res.topic ?? null });
    refreshAudit(room);
  }

  // Resolves the invited user's name as registered.
  async function invite(username) {
    const room = openRoom();
    if (!room) throw new Error('no room is open');
    const res = await ask('invite', { room, target: username });
    const name = res.username || username;
    dispatch({ type: 'member_changed', room, member: { username: name } });
    return name;
  }

  // A private room made from the finder is one of mine at once, listed as private (the
  // join's ack does not say the kind).
  function createdPrivate(room) {
    const known = getState().rooms.byName[room];
    if (known && known.member) return; // opened, not made: it is what the list says
    const summary = { room, kind: 'private', unread: 0, mentions: 0, topic: null, last_message: null };
    dispatch({ type: 'room_added', summary });
  }

  return {
    loadMembers,
    loadAudit,
    act,
    deleteMessage,
    setTopic,
    invite,
    createdPrivate,
    events: {
      room_updated: (d) => {
        if (typeof d.room === 'string') dispatch({ type: 'topic_changed', room: d.room, topic: d.topic ?? null });
      },
      role_changed: (d) => {
        if (typeof d.room !== 'string' || typeof d.username !== 'string') return;
        if (d.role !== 'moderator' && d.role !== 'member') return;
        dispatch({ type: 'role_changed', room: d.room, username: d.username, role: d.role });
      },
    },
  };
}
