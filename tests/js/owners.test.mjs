// Rooms with owners: who may do what to whom, the member list's pages and live changes,
// the topic, the record, and the notice of a membership that ended.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  auditText,
  canDeleteOthers,
  canInvite,
  memberActions,
  mergeMembers,
  moderationErrorText,
  ownersOf,
  removalText,
  roleIn,
  topicOf,
  upsertMember,
} from '../../static/js/state/owners.js';
import { apply } from '../../static/js/state/store.js';
import { FakeSocket, joined, msg, opened, quietStore, run, summary } from './fixtures.mjs';

const m = (username, role = 'member', online = false) => ({ username, role, online });

describe('owners: who may do what', () => {
  it('the owner promotes a member, demotes a moderator, and removes or bans either', () => {
    assert.deepEqual(memberActions('owner', m('bob'), 'alice'), ['promote', 'kick', 'ban']);
    assert.deepEqual(memberActions('owner', m('bob', 'moderator'), 'alice'), ['demote', 'kick', 'ban']);
  });

  it('a moderator removes or bans members only, and never promotes', () => {
    assert.deepEqual(memberActions('moderator', m('bob'), 'alice'), ['kick', 'ban']);
    assert.deepEqual(memberActions('moderator', m('carol', 'moderator'), 'alice'), []);
    assert.deepEqual(memberActions('moderator', m('olga', 'owner'), 'alice'), []);
  });

  it('nobody acts on themselves or the owner, and a member on nobody', () => {
    assert.deepEqual(memberActions('owner', m('Alice', 'owner'), 'alice'), []);
    assert.deepEqual(memberActions('moderator', m('ALICE', 'moderator'), 'alice'), []);
    assert.deepEqual(memberActions('member', m('bob'), 'alice'), []);
    assert.deepEqual(memberActions(null, m('bob'), 'alice'), []);
  });

  it('any member invites to a private room; owner and moderators to a public one', () => {
    assert.equal(canInvite('member', 'private'), true);
    assert.equal(canInvite('member', 'public'), false);
    assert.equal(canInvite('moderator', 'public'), true);
    assert.equal(canInvite(null, 'private'), false);
    assert.equal(canInvite('owner', 'direct'), false);
  });

  it('a moderator deletes others\' messages, but not the owner\'s or another moderator\'s', () => {
    let state = joined(opened());
    state = apply(state, { type: 'joined', room: 'general', online: ['alice'], seen: {}, role: 'moderator' });
    state = apply(state, {
      type: 'members_loaded',
      room: 'general',
      members: [m('alice', 'moderator'), m('bob'), m('carol', 'moderator'), m('olga', 'owner')],
      has_more: false,
      reset: true,
    });
    const can = (username, extra = {}) => canDeleteOthers(state, 'general', msg('general', username, 'x', extra));
    assert.equal(can('bob'), true);
    assert.equal(can('dave'), true); // not in the list loaded: the server decides
    assert.equal(can('carol'), false);
    assert.equal(can('olga'), false);
    assert.equal(can('alice'), false); // my own: the author's delete, not a moderator's
    assert.equal(can('bob', { deleted: true }), false);
    state = apply(state, { type: 'joined', room: 'general', online: [], seen: {}, role: 'member' });
    assert.equal(can('bob'), false);
  });
});

describe('owners: the state', () => {
  it('my role comes from the join, and from a member list that names me', () => {
    let state = joined(opened());
    assert.equal(roleIn(state, 'general'), null);
    state = apply(state, { type: 'joined', room: 'general', online: ['alice'], seen: {}, role: 'member' });
    assert.equal(roleIn(state, 'general'), 'member');
    state = apply(state, {
      type: 'members_loaded',
      room: 'general',
      members: [m('alice', 'moderator', true)],
      has_more: false,
      reset: true,
    });
    assert.equal(roleIn(state, 'general'), 'moderator');
  });

  it('topics come from the room list, room_added and room_updated', () => {
    let state = opened('general', [summary('general', { topic: 'hello' }), summary('random', { topic: null })]);
    assert.equal(topicOf(state, 'general'), 'hello');
    state = apply(state, { type: 'topic_changed', room: 'general', topic: 'changed' });
    assert.equal(topicOf(state, 'general'), 'changed');
    state = apply(state, { type: 'topic_changed', room: 'general', topic: null });
    assert.equal(topicOf(state, 'general'), null);
    state = apply(state, { type: 'room_added', summary: summary('team', { kind: 'private', topic: 'ours' }) });
    assert.equal(topicOf(state, 'team'), 'ours');
  });

  it('member pages merge by name, once each, and load more goes on from the last', () => {
    let state = joined(opened());
    state = apply(state, { type: 'members_loaded', room: 'general', members: [m('alice'), m('Bob')], has_more: true, reset: true });
    state = apply(state, { type: 'members_loaded', room: 'general', members: [m('bob'), m('carol')], has_more: false });
    const members = ownersOf(state, 'general').members;
    assert.deepEqual(members.list.map((x) => x.username), ['alice', 'bob', 'carol']);
    assert.equal(members.hasMore, false);
    state = apply(state, { type: 'members_loaded', room: 'general', members: [m('zed')], has_more: false, reset: true });
    assert.deepEqual(ownersOf(state, 'general').members.list.map((x) => x.username), ['zed']);
  });

  it('a new member is added only where the loaded pages reach', () => {
    const members = { list: [m('alice'), m('carol')], hasMore: true, loaded: true, loading: false, error: null };
    assert.deepEqual(upsertMember(members, { username: 'bob' }).list.map((x) => x.username), ['alice', 'bob', 'carol']);
    assert.equal(upsertMember(members, { username: 'dave' }), members); // comes with "load more"
    const all = { ...members, hasMore: false };
    assert.deepEqual(upsertMember(all, { username: 'dave' }).list.map((x) => x.username), ['alice', 'carol', 'dave']);
    assert.equal(upsertMember({ ...members, loaded: false }, { username: 'bob' }).list.length, 2);
    const same = upsertMember(members, { username: 'ALICE', role: 'member' });
    assert.equal(same, members);
  });

  it('announcements and presence keep the list live', () => {
    let state = joined(opened());
    state = apply(state, {
      type: 'members_loaded',
      room: 'general',
      members: [m('alice', 'owner', true), m('bob')],
      has_more: false,
      reset: true,
    });
    const list = () => ownersOf(state, 'general').members.list;
    state = apply(state, { type: 'announced', room: 'general', username: 'bob', joined: true, membership: false });
    assert.equal(list()[1].online, true);
    state = apply(state, { type: 'announced', room: 'general', username: 'carol', joined: true, membership: true });
    assert.deepEqual(list().map((x) => [x.username, x.role, x.online]), [
      ['alice', 'owner', true],
      ['bob', 'member', true],
      ['carol', 'member', true],
    ]);
    state = apply(state, { type: 'presence', username: 'bob', online: false });
    assert.equal(list()[1].online, false);
    state = apply(state, { type: 'announced', room: 'general', username: 'carol', joined: false, membership: true });
    assert.deepEqual(list().map((x) => x.username), ['alice', 'bob']);
    state = apply(state, { type: 'member_changed', room: 'general', member: { username: 'bob', role: 'moderator' } });
    assert.equal(list()[1].role, 'moderator');
    state = apply(state, { type: 'member_gone', room: 'general', username: 'BOB' });
    assert.deepEqual(list().map((x) => x.username), ['alice']);
  });

  it('the record pages back by id, newest first, each entry once', () => {
    let state = joined(opened());
    const e = (id) => ({ id, at: '2026-12-01T10:00:00Z', actor: 'alice', action: 'kick', target: 'bob' });
    state = apply(state, { type: 'audit_loaded', room: 'general', entries: [e(9), e(8)], reset: true, limit: 2 });
    assert.equal(ownersOf(state, 'general').audit.hasMore, true);
    state = apply(state, { type: 'audit_loaded', room: 'general', entries: [e(8), e(3)], limit: 5 });
    const audit = ownersOf(state, 'general').audit;
    assert.deepEqual(audit.entries.map((x) => x.id), [9, 8, 3]);
    assert.equal(audit.hasMore, false);
  });

  it('a membership the server ended leaves a notice; my own removal does not', () => {
    let state = joined(opened('general', [summary('general'), summary('team', { kind: 'private' })]));
    state = apply(state, { type: 'room_removed', room: 'general', banned: true, remote: true });
    assert.equal(state.rooms.current, null);
    assert.deepEqual(
      [state.owners.notice.room, state.owners.notice.banned],
      ['general', true],
    );
    assert.match(state.owners.notice.text, /^You were banned from #general\./);
    state = apply(state, { type: 'notice_dismissed' });
    assert.equal(state.owners.notice, null);
    state = apply(state, { type: 'room_removed', room: 'team', by: 'alice', remote: true });
    assert.match(state.owners.notice.text, /^You were removed from #team by alice\. A member can invite you back\./);
    state = apply(state, { type: 'opened', room: 'random' });
    assert.equal(state.owners.notice, null);

    // Left in another tab: the server's room_removed names nobody, and nothing is said.
    state = run(state, { type: 'room_removed', room: 'random', remote: true });
    assert.equal(state.owners.notice, null);
    assert.equal(state.rooms.byName.random?.member ?? false, false);

    // Removed from my list by me: the server's echo finds no room, and says nothing.
    state = run(state, { type: 'room_removed', room: 'random' }, { type: 'room_removed', room: 'random', remote: true });
    assert.equal(state.owners.notice, null);
  });
});

describe('owners: words', () => {
  it('the record says who did what to whom', () => {
    const e = (action, extra = {}) => ({ actor: 'alice', action, target: 'bob', ...extra });
    assert.equal(auditText(e('kick')), 'alice removed bob');
    assert.equal(auditText(e('ban')), 'alice banned bob');
    assert.equal(auditText(e('unban')), 'alice unbanned bob');
    assert.equal(auditText(e('promote')), 'alice made bob a moderator');
    assert.equal(auditText(e('demote')), 'alice made bob a member again');
    assert.equal(auditText(e('delete')), 'alice deleted a message by bob');
    assert.equal(auditText(e('set_topic', { target: null, topic: 'hi' })), 'alice set the topic to “hi”');
    assert.equal(auditText(e('set_topic', { target: null, topic: null })), 'alice cleared the topic');
  });

  it('a removal notice says what happened and what can be done', () => {
    assert.equal(
      removalText('#x', { banned: true }),
      'You were banned from #x. You cannot open it again unless its owner or a moderator unbans you.',
    );
    assert.equal(removalText('#x'), 'You were removed from #x. You can join it again from “Join a room”.');
    assert.equal(
      removalText('#x', { banned: true, by: 'mona' }),
      'You were banned from #x by mona. You cannot open it again unless its owner or a moderator unbans you.',
    );
  });

  it('a promotion or demotion reaches the member list and my own role', () => {
    let state = joined(opened('general', [summary('general')]));
    state = apply(state, {
      type: 'members_loaded',
      room: 'general',
      members: [
        { username: 'alice', role: 'owner', online: true },
        { username: 'bob', role: 'member', online: false },
      ],
      has_more: false,
    });
    state = apply(state, { type: 'role_changed', room: 'general', username: 'bob', role: 'moderator' });
    assert.equal(ownersOf(state, 'general').members.list.find((m) => m.username === 'bob').role, 'moderator');
    state = apply(state, { type: 'role_changed', room: 'general', username: state.me, role: 'moderator' });
    assert.equal(ownersOf(state, 'general').role, 'moderator');
    state = apply(state, { type: 'role_changed', room: 'general', username: state.me.toUpperCase(), role: 'member' });
    assert.equal(ownersOf(state, 'general').role, 'member');
  });

  it('errors are the server\'s words, connection trouble ours', () => {
    assert.equal(moderationErrorText({ code: 'forbidden', message: 'nobody acts on the room\'s owner' }), 'nobody acts on the room\'s owner');
    assert.equal(moderationErrorText({ code: 'timeout', message: '' }), 'the server did not answer');
    assert.equal(moderationErrorText({ code: 'too_long', message: 'topic: is longer than 250 characters' }), 'topic: is longer than 250 characters');
  });
});

describe('owners: the list of rooms', () => {
  it('private rooms are listed with the public ones', async () => {
    const { listedRooms } = await import('../../static/js/state/rooms.js');
    const state = opened('general', [summary('general'), summary('team', { kind: 'private' }), summary('dm:alice:bob')]);
    assert.deepEqual(listedRooms(state, 'public').map((r) => r.name).sort(), ['general', 'team']);
    assert.deepEqual(listedRooms(state, 'direct').map((r) => r.name), ['dm:alice:bob']);
  });
});

describe('owners: the moderation effect', () => {
  const setup = async (respond, api = {}) => {
    const { createModeration } = await import('../../static/js/effects/moderation.js');
    const socket = new FakeSocket(respond);
    const store = quietStore(joined(opened()));
    const calls = [];
    const fakeApi = {
      members: async (room, options) => {
        calls.push(['members', room, options]);
        return { members: [m('alice', 'owner', true), m('bob')], has_more: false };
      },
      audit: async (room, options) => {
        calls.push(['audit', room, options]);
        return { entries: [] };
      },
      ...api,
    };
    const moderation = createModeration({ socket, api: fakeApi, store });
    return { socket, store, moderation, calls };
  };

  it('an action goes to the server as moderate, and the list follows its answer', async () => {
    const { socket, store, moderation } = await setup();
    await moderation.loadMembers('general');
    await moderation.act('promote', 'bob');
    await moderation.act('ban', 'bob', '  spam  ');
    assert.deepEqual(socket.events('moderate'), [
      { room: 'general', action: 'promote', target: 'bob' },
      { room: 'general', action: 'ban', target: 'bob', reason: 'spam' },
    ]);
    assert.deepEqual(ownersOf(store.getState(), 'general').members.list.map((x) => x.username), ['alice']);
    assert.equal(roleIn(store.getState(), 'general'), 'owner'); // the list named me owner
  });

  it('a refusal rejects with the server\'s sentence, and changes nothing', async () => {
    const { store, moderation } = await setup(() => ({
      ok: false,
      error: { code: 'forbidden', message: 'a moderator cannot act on another moderator' },
    }));
    await moderation.loadMembers('general');
    const before = store.getState().owners;
    await assert.rejects(moderation.act('kick', 'bob'), { message: 'a moderator cannot act on another moderator' });
    assert.equal(store.getState().owners, before);
  });

  it('a moderator\'s delete names the message; the topic comes back in the ack and in room_updated', async () => {
    const { socket, store, moderation } = await setup((event, payload) =>
      event === 'set_topic' ? { ok: true, room: payload.room, topic: payload.topic.trim() || null } : { ok: true },
    );
    await moderation.deleteMessage(42);
    assert.deepEqual(socket.events('moderate'), [{ room: 'general', action: 'delete', id: 42 }]);
    await moderation.setTopic(' plans ');
    assert.equal(topicOf(store.getState(), 'general'), 'plans');
    moderation.events.room_updated({ room: 'general', topic: null });
    assert.equal(topicOf(store.getState(), 'general'), null);
  });

  it('an invitation adds the invited user as the server spells them', async () => {
    const { socket, store, moderation } = await setup(() => ({ ok: true, room: 'general', username: 'Bob' }));
    await moderation.loadMembers('general', {});
    store.dispatch({ type: 'member_gone', room: 'general', username: 'bob' });
    assert.equal(await moderation.invite('bob'), 'Bob');
    assert.deepEqual(socket.events('invite'), [{ room: 'general', target: 'bob' }]);
    assert.deepEqual(ownersOf(store.getState(), 'general').members.list.map((x) => x.username), ['alice', 'Bob']);
  });

  it('load more asks after the last name; a failed page says so', async () => {
    const { moderation, calls, store } = await setup();
    await moderation.loadMembers('general');
    await moderation.loadMembers('general', { more: true });
    assert.deepEqual(calls.map((c) => c[2].after), [null, 'bob']);
    const failing = await setup(undefined, {
      members: async () => {
        throw new Error('the server answered 503');
      },
    });
    await failing.moderation.loadMembers('general');
    assert.equal(ownersOf(failing.store.getState(), 'general').members.error, 'Could not load the members: the server answered 503.');
    assert.equal(ownersOf(store.getState(), 'general').members.loading, false);
  });

  it('a private room made here is listed as private at once', async () => {
    const { store, moderation } = await setup();
    moderation.createdPrivate('secret');
    assert.equal(store.getState().rooms.byName.secret.kind, 'private');
    moderation.createdPrivate('general'); // a room of mine already: left as it is
    assert.equal(store.getState().rooms.byName.general.kind, 'public');
  });
});

describe('owners: presence in a loaded list', () => {
  it('someone closing the room makes a loaded list ask again, once for a burst', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { createModeration } = await import('../../static/js/effects/moderation.js');
    const store = quietStore(joined(opened()));
    let asked = 0;
    const api = {
      members: async () => {
        asked += 1;
        return { members: [m('alice', 'owner', true), m('bob', 'member', asked === 1)], has_more: false };
      },
    };
    const moderation = createModeration({ socket: new FakeSocket(), api, store });
    await moderation.loadMembers('general');
    const close = { type: 'announced', room: 'general', username: 'bob', joined: false, membership: false };
    store.dispatch(close);
    store.dispatch(close);
    assert.equal(asked, 1);
    t.mock.timers.tick(1000);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(asked, 2);
    assert.equal(ownersOf(store.getState(), 'general').members.list[1].online, false);
    // A room whose list was never loaded asks nothing.
    store.dispatch({ ...close, room: 'random' });
    t.mock.timers.tick(1000);
    assert.equal(asked, 2);
  });
});
