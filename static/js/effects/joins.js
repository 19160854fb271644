'use strict';

// Rooms on the server's side: watching every room of the user (or, from an older server,
// polling the list), joining the open room and joining it again after a reconnect with
// the last id it has (the server replays what was missed), leaving, finding a room by
// name or by peer, taking one off the list, older history, and the address bar.

import { directRoomName, isDirectRoom } from '../format.js';
import { isUnknownEvent, request, requestWithRetry } from '../net/socket.js';
import { currentRoom, roomUrl } from '../state/rooms.js';
import { timelineOf } from '../state/timeline.js';

const ROOM_LIST_POLL = 30000; // only when the server cannot watch rooms
const OLDER_PAUSE = 5000; // ms after loading older history failed

// `room`: the room asked for by name. A room of others' (private, or one that bans me) is
// refused with the server's own sentence; a direct room of two others is a plain no.
export function joinErrorText(error, peer = null, room = null) {
  if (error.code === 'not_found' && peer) return `there is no user named ${peer}`;
  if (error.code === 'not_found') return 'it does not exist';
  if (error.code === 'forbidden' && room && !isDirectRoom(room) && error.message) return error.message;
  if (error.code === 'forbidden') return 'it belongs to two other people';
  if (error.code === 'timeout') return 'the server did not answer';
  if (error.code === 'disconnected') return 'the connection is down';
  return error.message;
}

export function createJoins({ socket, api, store, page = window }) {
  const { dispatch, getState } = store;
  const { document, history, location } = page;
  const generation = () => getState().connection.generation;
  const watch = () => getState().connection.watch;

  // Every room of the user, live: their messages reach this page without joining them.
  function watchRooms() {
    if (watch() === 'unsupported') {
      refreshRooms();
      return;
    }
    const gen = generation();
    requestWithRetry(socket, 'watch_rooms', {}, { active: () => gen === generation() })
      .then((res) => {
        if (gen !== generation()) return;
        dispatch({ type: 'watch', status: 'on' });
        dispatch({ type: 'rooms_listed', rooms: res.rooms || [], watching: true });
      })
      .catch((err) => {
        if (!isUnknownEvent(err)) return;
        // An older server: the list comes from GET /api/rooms, refreshed now and then.
        dispatch({ type: 'watch', status: 'unsupported' });
        refreshRooms();
      });
  }

  function refreshRooms() {
    api.rooms().then(
      (rooms) => dispatch({ type: 'rooms_listed', rooms, watching: false }),
      () => {},
    );
  }

  page.setInterval(() => {
    if (watch() === 'unsupported' && document.visibilityState === 'visible') refreshRooms();
  }, ROOM_LIST_POLL);

  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && watch() === 'unsupported') refreshRooms();
  });

  // The open room, from the last message this page has (a replay) or afresh. An answer
  // that comes after the page moved on (another room, another connection) is dropped.
  function joinCurrent() {
    const state = getState();
    const room = currentRoom(state);
    if (!room || !socket.connected) return;
    const tl = timelineOf(state, room.name);
    const lastId = tl.loaded && tl.syncedId !== null ? tl.syncedId : null;
    const payload = { room: room.name };
    if (lastId !== null) payload.last_id = lastId;
    dispatch({ type: 'join_started', room: room.name, lastId });
    const seq = getState().rooms.joinSeq;
    const gen = generation();
    const stillWanted = () => {
      const now = getState();
      const sameJoin = now.rooms.joinSeq === seq && now.connection.generation === gen;
      return sameJoin && now.rooms.current === room.name;
    };
    requestWithRetry(socket, 'joined_room', payload, {
      active: stillWanted,
      onRetry: (error) => dispatch({ type: 'join_failed', room: room.name, error, final: false }),
    })
      .then((res) => {
        if (!stillWanted()) {
          if (gen === generation()) request(socket, 'leave_room', { room: room.name }).catch(() => {});
          return;
        }
        // Read marks follow once the view has placed the room and sees what is on screen.
        dispatch({
          type: 'joined',
          room: room.name,
          online: res.online,
          seen: res.seen,
          role: res.role ?? null,
          watching: watch() === 'on',
        });
        // A direct room new to the watch (just made): its summary says whether the peer is
        // online, and watching it again brings their presence from now on.
        const meta = getState().rooms.byName[room.name];
        if (meta && meta.kind === 'direct' && meta.peerOnline === null && watch() === 'on') watchRooms();
      })
      .catch((error) => {
        if (!stillWanted() || error.code === 'disconnected') return;
        dispatch({
          type: 'join_failed',
          room: room.name,
          error: { code: error.code, message: joinErrorText(error, null, room.name) },
          final: true,
        });
      });
  }

  function leave(name) {
    const room = getState().rooms.byName[name];
    if (!room) return;
    if (room.join !== 'idle' && socket.connected)
      request(socket, 'leave_room', { room: name }).catch(() => {});
    dispatch({ type: 'left', room: name });
  }

  // Switches the page to `name` (null: no room): leaves the room that was open, joins
  // this one, and puts it in the address bar unless the address bar said it (`push`).
  function openRoom(name, { push = true, title = null } = {}) {
    const current = getState().rooms.current;
    if (name === current) return;
    if (current) leave(current);
    dispatch({ type: 'opened', room: name, title: name && !getState().rooms.byName[name] ? title : null });
    if (push) history.pushState({ room: name }, '', name ? roomUrl(getState().rooms.byName[name]) : '/');
    if (name) joinCurrent();
    if (watch() !== 'on') refreshRooms();
  }

  // For the finder: the room must exist (or be creatable) before the page switches to it.
  // Resolves {room, title} to open; rejects with a sentence saying why not.
  async function find(target) {
    const state = getState();
    const name = target.room || directRoomName(state.me, target.peer);
    const known = state.rooms.byName[name];
    if (name === state.rooms.current || (known && known.member)) return { room: name, title: null };
    let res;
    try {
      const payload = target.room ? { room: name, ...(target.private ? { private: true } : {}) } : { peer: target.peer };
      res = await request(socket, 'joined_room', payload);
    } catch (error) {
      throw new Error(
        `Could not open ${target.room ? `#${name}` : `a chat with ${target.peer}`}: ${joinErrorText(error, target.peer, target.room || null)}.`,
      );
    }
    return { room: res.room, title: target.peer || null };
  }

  // Takes a room off the list (false: there was no such room); rejects with an ApiError.
  async function removeRoom(name) {
    if (!getState().rooms.byName[name]) return false;
    await api.removeMembership(name);
    if (getState().rooms.current === name) {
      leave(name);
      history.pushState({ room: null }, '', '/');
    }
    dispatch({ type: 'room_removed', room: name });
    return true;
  }

  async function searchDirectory(q) {
    try {
      return { rooms: await api.directory(q) };
    } catch (error) {
      if (error.status === 404) return { error: 'Browsing rooms is not available on this server yet.' };
      return { error: `Could not load the directory: ${error.message}.` };
    }
  }

  function loadOlder() {
    const state = getState();
    const meta = currentRoom(state);
    const room = meta && timelineOf(state, meta.name);
    if (!room || !room.loaded || !room.hasMore || room.loadingOlder || !room.messages.length) return;
    if (Date.now() - state.timeline.olderFailedAt < OLDER_PAUSE) return;
    dispatch({ type: 'older_requested', room: room.name });
    request(socket, 'load_history', { room: room.name, before_id: room.messages[0].id, limit: 50 }).then(
      (res) =>
        dispatch({
          type: 'history',
          room: room.name,
          messages: res.messages,
          has_more: res.has_more,
          older: true,
        }),
      () => dispatch({ type: 'older_failed', room: room.name, at: Date.now() }),
    );
  }

  function roomFromLocation() {
    const query = new URLSearchParams(location.search);
    if (query.get('room')) return query.get('room');
    if (query.get('with')) return directRoomName(getState().me, query.get('with'));
    return null;
  }

  // A new connection has joined nothing: watch, and join the open room again.
  store.listen((event) => {
    if (event.type !== 'connected') return;
    watchRooms();
    if (getState().rooms.current) joinCurrent();
  });

  history.replaceState({ room: getState().rooms.current }, '', location.href);

  return {
    joinCurrent,
    openRoom,
    find,
    removeRoom,
    searchDirectory,
    loadOlder,
    roomFromLocation,
    events: {
      rejoin_room: (d) =>
        dispatch({
          type: 'history',
          room: d.room,
          messages: d.messages || [],
          has_more: d.has_more,
          reset: d.reset,
        }),
      room_added: (summary) => {
        dispatch({ type: 'room_added', summary });
        if (watch() === 'on') watchRooms(); // so its messages reach this page too
      },
      // The server ended my membership (a kick or a ban `by` someone, or I left in another tab).
      room_removed: (d) => {
        const wasOpen = getState().rooms.current === d.room;
        const by = typeof d.by === 'string' ? d.by : null;
        dispatch({ type: 'room_removed', room: d.room, banned: d.banned === true, by, remote: true });
        if (wasOpen) history.pushState({ room: null }, '', '/');
      },
    },
  };
}
