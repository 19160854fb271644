'use strict';

// The owners slice: what rooms with owners add to a room, as this page knows it: my role
// there (from the join's ack, and the member list when it names me), its topic, its member
// list (paged by username) and its moderation record (paged by id, newest first), and the
// notice shown when my membership of a room ended by someone else's hand (a kick, a ban).
// Also the rules of who may do what, as the server checks them, so the page only offers
// what would be allowed.
//
// `apply(state, event)` is pure: given the whole state before the event, it returns this
// slice after it (the same object when nothing changed).

import { sameUser } from '../format.js';

export const MEMBERS_PAGE = 50;
export const AUDIT_PAGE = 30;

export function initial() {
  return {
    byRoom: {},
    notice: null, // {room, label, banned, text}: my membership of `room` ended
  };
}

function emptyRoom() {
  return {
    role: null, // owner | moderator | member; null: unknown, no member, or a direct room
    topic: null,
    members: { list: [], hasMore: false, loaded: false, loading: false, error: null },
    audit: { entries: [], hasMore: false, loaded: false, loading: false, error: null },
  };
}

// --- rules ---------------------------------------------------------------------------

export const canModerate = (role) => role === 'owner' || role === 'moderator';
export const canSetTopic = canModerate;
export const canReadAudit = canModerate;

// Any member invites to a private room; the owner and moderators to a public one.
export function canInvite(role, kind) {
  if (kind === 'direct' || !role) return false;
  return kind === 'private' ? true : canModerate(role);
}

// What I (of `myRole`) may do to `member` ({username, role}), in the order offered:
// promote/demote (the owner only), then kick and ban (the owner and moderators). Never to
// myself or the owner; a moderator never to another moderator.
export function memberActions(myRole, member, me) {
  if (!canModerate(myRole) || !member || sameUser(member.username, me)) return [];
  if (member.role === 'owner') return [];
  if (member.role === 'moderator' && myRole !== 'owner') return [];
  const actions = [];
  if (myRole === 'owner') actions.push(member.role === 'moderator' ? 'demote' : 'promote');
  actions.push('kick', 'ban');
  return actions;
}

// The role the member list gives `username`, or null when the page has not seen it.
export function knownRole(state, room, username) {
  const entry = state.owners.byRoom[room];
  if (!entry) return null;
  const found = entry.members.list.find((m) => sameUser(m.username, username));
  return found ? found.role : null;
}

// Whether I may delete `message` as a moderator: someone else's, and not the owner's or
// (unless I own the room) another moderator's, as far as the member list tells.
export function canDeleteOthers(state, room, message) {
  if (!message || message.deleted || sameUser(message.username, state.me)) return false;
  const role = roleIn(state, room);
  if (!canModerate(role)) return false;
  const theirs = knownRole(state, room, message.username);
  if (theirs === 'owner') return false;
  return !(theirs === 'moderator' && role !== 'owner');
}

export function roleIn(state, room) {
  const entry = state.owners.byRoom[room];
  return entry ? entry.role : null;
}

export function topicOf(state, room) {
  const entry = state.owners.byRoom[room];
  return entry ? entry.topic : null;
}

export function ownersOf(state, room) {
  return state.owners.byRoom[room] || emptyRoom();
}

// --- words ---------------------------------------------------------------------------

export const ACTION_LABELS = Object.freeze({
  promote: 'Make moderator',
  demote: 'Remove moderator',
  kick: 'Remove',
  ban: 'Ban',
  unban: 'Unban',
});

export const ROLE_LABELS = Object.freeze({ owner: 'Owner', moderator: 'Moderator' });

// What the page says when my membership of a room ended by someone else's hand (`by`:
// the owner or moderator, when the server names them).
export function removalText(label, { banned = false, kind = 'public', by = null } = {}) {
  const byWhom = by ? ` by ${by}` : '';
  if (banned) {
    return `You were banned from ${label}${byWhom}. You cannot open it again unless its owner or a moderator unbans you.`;
  }
  if (kind === 'private') return `You were removed from ${label}${byWhom}. A member can invite you back.`;
  return `You were removed from ${label}${byWhom}. You can join it again from “Join a room”.`;
}

// One line of the record, without its time: "alice banned bob".
export function auditText(entry) {
  const who = entry.actor;
  const target = entry.target || 'someone';
  switch (entry.action) {
    case 'delete':
      return sameUser(entry.actor, target) ? `${who} deleted their own message` : `${who} deleted a message by ${target}`;
    case 'kick':
      return `${who} removed ${target}`;
    case 'ban':
      return `${who} banned ${target}`;
    case 'unban':
      return `${who} unbanned ${target}`;
    case 'promote':
      return `${who} made ${target} a moderator`;
    case 'demote':
      return `${who} made ${target} a member again`;
    case 'set_topic':
      return entry.topic ? `${who} set the topic to “${entry.topic}”` : `${who} cleared the topic`;
    default:
      return `${who}: ${entry.action}${entry.target ? ` ${entry.target}` : ''}`;
  }
}

// An error of moderate, set_topic or invite, in words: the server's own sentence for what
// it refused (it names the rule), ours for a connection that failed.
export function moderationErrorText(error) {
  if (error.code === 'timeout') return 'the server did not answer';
  if (error.code === 'disconnected') return 'the connection is down';
  if (error.code === 'rate_limited') return 'too many actions at once: wait a moment';
  if (error.code === 'not_in_room') return 'the room is not open here any more';
  return error.message || 'the server refused';
}

// --- lists ---------------------------------------------------------------------------

const byUsername = (a, b) => {
  const x = a.username.toLowerCase();
  const y = b.username.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
};

// The list after a page came (`reset`: the first page, which replaces what was there),
// each member once, by username (case-insensitively, as the server pages them).
export function mergeMembers(list, page, reset = false) {
  const merged = new Map();
  for (const m of reset ? [] : list) merged.set(m.username.toLowerCase(), m);
  for (const m of page) {
    if (m && typeof m.username === 'string') merged.set(m.username.toLowerCase(), m);
  }
  return [...merged.values()].sort(byUsername);
}

// Adds or updates one member the page heard of: only where the loaded pages reach (a name
// past the last one loaded comes with "load more"), so paging never skips or repeats one.
export function upsertMember(members, member) {
  const key = member.username.toLowerCase();
  const at = members.list.findIndex((m) => m.username.toLowerCase() === key);
  if (at !== -1) {
    const next = { ...members.list[at], ...member, username: members.list[at].username };
    const same = Object.keys(next).every((k) => next[k] === members.list[at][k]);
    if (same) return members;
    const list = [...members.list];
    list[at] = next;
    return { ...members, list };
  }
  if (!members.loaded) return members;
  const last = members.list[members.list.length - 1];
  if (members.hasMore && last && byUsername(member, last) > 0) return members;
  const full = { role: 'member', online: false, ...member };
  return { ...members, list: mergeMembers(members.list, [full]) };
}

function withoutMember(members, username) {
  const list = members.list.filter((m) => !sameUser(m.username, username));
  return list.length === members.list.length ? members : { ...members, list };
}

// --- apply ---------------------------------------------------------------------------

function withRoom(slice, room, update) {
  const before = slice.byRoom[room] || emptyRoom();
  const after = update(before);
  if (after === before) return slice;
  return { ...slice, byRoom: { ...slice.byRoom, [room]: after } };
}

function withTopics(slice, summaries) {
  let next = slice;
  for (const s of summaries) {
    if (!s || typeof s.room !== 'string' || !('topic' in s)) continue;
    const topic = s.topic || null;
    next = withRoom(next, s.room, (r) => (r.topic === topic ? r : { ...r, topic }));
  }
  return next;
}

const setMembers = (r, members) => (members === r.members ? r : { ...r, members });

const handlers = {
  rooms_listed: (slice, event) => withTopics(slice, event.rooms),

  room_added: (slice, event) => withTopics(slice, [event.summary]),

  joined(slice, event) {
    if (!('role' in event)) return slice;
    const role = event.role || null;
    return withRoom(slice, event.room, (r) => (r.role === role ? r : { ...r, role }));
  },

  topic_changed(slice, event) {
    const topic = event.topic || null;
    return withRoom(slice, event.room, (r) => (r.topic === topic ? r : { ...r, topic }));
  },

  members_requested: (slice, event) =>
    withRoom(slice, event.room, (r) => ({ ...r, members: { ...r.members, loading: true, error: null } })),

  members_loaded(slice, event, state) {
    let next = withRoom(slice, event.room, (r) => ({
      ...r,
      members: {
        list: mergeMembers(r.members.list, event.members || [], event.reset),
        hasMore: Boolean(event.has_more),
        loaded: true,
        loading: false,
        error: null,
      },
    }));
    // The list names me with my role now (promoted or demoted since I joined).
    const mine = (event.members || []).find((m) => sameUser(m.username, state.me));
    if (mine && mine.role !== undefined) {
      next = withRoom(next, event.room, (r) => (r.role === mine.role ? r : { ...r, role: mine.role }));
    }
    return next;
  },

  members_failed: (slice, event) =>
    withRoom(slice, event.room, (r) => ({ ...r, members: { ...r.members, loading: false, error: event.error } })),

  member_changed(slice, event) {
    const { username, ...fields } = event.member;
    return withRoom(slice, event.room, (r) => setMembers(r, upsertMember(r.members, { username, ...fields })));
  },

  // The owner promoted or demoted someone (role_changed): their row, and my own role (so
  // the actions I am offered follow at once) when it is me.
  role_changed(slice, event, state) {
    if (!slice.byRoom[event.room] && !sameUser(event.username, state.me)) return slice;
    return withRoom(slice, event.room, (r) => {
      let next = r;
      if (r.members.list.some((m) => sameUser(m.username, event.username))) {
        next = setMembers(r, upsertMember(r.members, { username: event.username, role: event.role }));
      }
      if (sameUser(event.username, state.me) && next.role !== event.role) next = { ...next, role: event.role };
      return next;
    });
  },

  member_gone: (slice, event) =>
    withRoom(slice, event.room, (r) => setMembers(r, withoutMember(r.members, event.username))),

  // Someone opened the room (so they are online), became a member, or stopped being one.
  announced(slice, event) {
    if (!slice.byRoom[event.room]) return slice;
    if (!event.joined && event.membership) return handlers.member_gone(slice, event);
    if (!event.joined) return slice;
    return withRoom(slice, event.room, (r) => {
      const known = r.members.list.some((m) => sameUser(m.username, event.username));
      if (!known && !event.membership) return r;
      return setMembers(r, upsertMember(r.members, { username: event.username, online: true }));
    });
  },

  presence(slice, event) {
    let next = slice;
    for (const room of Object.keys(slice.byRoom)) {
      next = withRoom(next, room, (r) => {
        if (!r.members.list.some((m) => sameUser(m.username, event.username))) return r;
        return setMembers(r, upsertMember(r.members, { username: event.username, online: event.online }));
      });
    }
    return next;
  },

  audit_requested: (slice, event) =>
    withRoom(slice, event.room, (r) => ({ ...r, audit: { ...r.audit, loading: true, error: null } })),

  audit_loaded(slice, event) {
    return withRoom(slice, event.room, (r) => {
      const seen = new Set();
      const entries = [...(event.reset ? [] : r.audit.entries), ...(event.entries || [])]
        .filter((e) => !seen.has(e.id) && seen.add(e.id))
        .sort((a, b) => b.id - a.id);
      const hasMore = (event.entries || []).length >= (event.limit || AUDIT_PAGE);
      return { ...r, audit: { entries, hasMore, loaded: true, loading: false, error: null } };
    });
  },

  audit_failed: (slice, event) =>
    withRoom(slice, event.room, (r) => ({ ...r, audit: { ...r.audit, loading: false, error: event.error } })),

  // `remote`: the server ended it (not this page's own "remove from my list"). The notice
  // names the room as the list did; what I knew of it goes.
  room_removed(slice, event, state) {
    const known = state.rooms.byName[event.room];
    const byRoom = { ...slice.byRoom };
    delete byRoom[event.room];
    // Without `by` and not a ban, I left it myself (in another tab): no notice.
    const byHand = Boolean(event.banned) || Boolean(event.by);
    if (!event.remote || !known || known.kind === 'direct' || !byHand) {
      return slice.byRoom[event.room] ? { ...slice, byRoom } : slice;
    }
    const label = `#${event.room}`;
    const banned = Boolean(event.banned);
    const text = removalText(label, { banned, kind: known.kind, by: event.by || null });
    const notice = { room: event.room, label, banned, text };
    return { ...slice, byRoom, notice };
  },

  opened(slice, event) {
    if (!slice.notice || event.room === null) return slice;
    return { ...slice, notice: null };
  },

  notice_dismissed: (slice) => (slice.notice ? { ...slice, notice: null } : slice),
};

export const EVENTS = Object.freeze(Object.keys(handlers));

export function apply(state, event) {
  const handler = handlers[event.type];
  return handler ? handler(state.owners, event, state) : state.owners;
}
