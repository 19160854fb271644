'use strict';

// Who may be mentioned in a room, as far as this page knows: there is no members list in
// the API yet, so it is everyone the page has seen there: who has it open, who has read
// it, who wrote what is loaded, the peer of a direct room.

import { sameUser } from '../format.js';
import { timelineOf } from './timeline.js';

export function knownMembers(state, name) {
  const room = state.rooms.byName[name];
  if (!room) return [];
  const tl = timelineOf(state, name);
  const names = new Map();
  const add = (username) => {
    if (typeof username === 'string' && !sameUser(username, state.me) && !names.has(username.toLowerCase())) {
      names.set(username.toLowerCase(), username);
    }
  };
  if (room.peer) add(room.peer);
  room.online.forEach(add);
  if (tl) {
    Object.keys(tl.seen).forEach(add);
    for (let i = tl.messages.length - 1; i >= 0; i -= 1) add(tl.messages[i].username);
  }
  return [...names.values()];
}

// The members whose name starts with `prefix` (any case), online ones first, then by name.
export function mentionCandidates(state, name, prefix, limit = 8) {
  const room = state.rooms.byName[name];
  const online = new Set((room ? room.online : []).map((n) => n.toLowerCase()));
  const p = prefix.toLowerCase();
  return knownMembers(state, name)
    .filter((username) => username.toLowerCase().startsWith(p))
    .sort((a, b) => Number(online.has(b.toLowerCase())) - Number(online.has(a.toLowerCase())) || a.localeCompare(b))
    .slice(0, limit);
}

// The "@partial" being typed just before `caret`, as {start, prefix}, or null.
export function mentionQuery(text, caret) {
  const match = /(^|[^A-Za-z0-9_.-])@([A-Za-z0-9_.-]{0,32})$/.exec(text.slice(0, caret));
  if (!match) return null;
  return { start: caret - match[2].length - 1, prefix: match[2] };
}
