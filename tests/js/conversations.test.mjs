// The slices of conversations: a message opened in context (reader), reactions, mentions,
// the compose state, and who may be mentioned.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { knownMembers, mentionCandidates, mentionQuery } from '../../static/js/state/members.js';
import { mentionCount, totalMentions } from '../../static/js/state/mentions.js';
import { reactionsOf } from '../../static/js/state/reactions.js';
import { detachedOf } from '../../static/js/state/reader.js';
import { apply } from '../../static/js/state/store.js';
import { joined, msg, opened, othersUnchanged, run, summary } from './fixtures.mjs';

const page = (n, from = 1) => Array.from({ length: n }, (_, i) => ({ ...msg('general', 'bob', `m${from + i}`), id: from + i }));

describe('reader: a message opened in context', () => {
  it('a message the room has loaded is only scrolled to and marked', () => {
    const history = page(5, 10);
    const state = apply(joined(opened(), 'general', { history }), { type: 'jump_requested', room: 'general', id: 12 });
    assert.deepEqual([state.reader.loading, state.reader.detached, state.reader.highlight], [null, false, 12]);
    assert.equal(state.reader.target.id, 12);
  });

  it('an older one comes as a stretch of its own, paged both ways, until it meets the live end', () => {
    const live = page(50, 200);
    const listed = [summary('general', { last_message: live.at(-1) })];
    let state = joined(opened('general', listed), 'general', { history: live });
    state = apply(state, { type: 'jump_requested', room: 'general', id: 20 });
    assert.equal(state.reader.loading, 'around');
    state = apply(state, { type: 'jump_loaded', room: 'general', id: 20, messages: page(50, 1), has_more: false, has_newer: true });
    assert.equal(detachedOf(state, 'general').messages.length, 50);
    state = apply(state, { type: 'reader_page', room: 'general', direction: 'newer', messages: page(50, 51), has_more: false, has_newer: true });
    assert.equal(state.reader.messages.length, 100);
    const before = state;
    state = apply(state, { type: 'reader_page', room: 'general', direction: 'newer', messages: page(99, 101), has_more: false, has_newer: false });
    assert.equal(detachedOf(state, 'general'), null); // back to live
    const merged = state.timeline.byRoom.general;
    assert.equal(merged.messages.length, 249);
    assert.deepEqual(merged.messages.slice(0, 2).map((m) => m.id), [1, 2]);
    assert.equal(merged.hasMore, false);
    assert.equal(merged.unread, before.timeline.byRoom.general.unread); // old messages are no news
  });

  it('switching rooms or going back to the newest forgets the stretch', () => {
    let state = joined(opened(), 'general', { history: page(5, 200) });
    state = run(
      state,
      { type: 'jump_requested', room: 'general', id: 3 },
      { type: 'jump_loaded', room: 'general', id: 3, messages: page(5, 1), has_more: false, has_newer: true },
    );
    assert.equal(apply(state, { type: 'reader_closed' }).reader.detached, false);
    assert.equal(apply(state, { type: 'opened', room: 'random' }).reader.detached, false);
  });

  it('edits and deletes reach the stretch too', () => {
    let state = joined(opened(), 'general', { history: page(5, 200) });
    state = run(
      state,
      { type: 'jump_requested', room: 'general', id: 3 },
      { type: 'jump_loaded', room: 'general', id: 3, messages: page(5, 1), has_more: false, has_newer: true },
      { type: 'deleted', room: 'general', id: 3 },
    );
    assert.deepEqual(state.reader.messages[2].deleted, true);
    assert.deepEqual(state.reader.messages[2].reactions, []);
  });
});

describe('reactions', () => {
  it('a change replaces one emoji of the message, and a fresher copy of it takes over', () => {
    const m = { ...msg('general', 'bob', 'lunch?'), reactions: [{ emoji: '👍', count: 1, users: ['carol'] }] };
    let state = joined(opened(), 'general', { history: [m] });
    const before = state;
    state = apply(state, { type: 'reaction_changed', room: 'general', id: m.id, emoji: '🎉', count: 1, users: ['alice'] });
    othersUnchanged(assert, before, state, 'reactions');
    assert.deepEqual(reactionsOf(state, m).map((r) => r.emoji), ['👍', '🎉']);
    state = apply(state, { type: 'reaction_changed', room: 'general', id: m.id, emoji: '👍', count: 0, users: [] });
    assert.deepEqual(reactionsOf(state, m).map((r) => r.emoji), ['🎉']);
    const edited = { ...m, message: 'lunch!', reactions: [] };
    state = apply(state, { type: 'edited', message: edited });
    assert.deepEqual(reactionsOf(state, edited), []);
    assert.deepEqual(reactionsOf(state, { ...m, deleted: true }), []);
  });
});

describe('mentions', () => {
  const mention = (extra = {}) => ({ ...msg('random', 'bob', '@alice hi'), mentions: ['alice'], ...extra });

  it('counts the server’s mentions and new ones, apart from the unread count', () => {
    let state = joined(opened('general', [summary('general'), summary('random', { mentions: 2, unread: 5 })]));
    assert.equal(mentionCount(state, 'random'), 2);
    const m = mention();
    state = run(state, { type: 'mentioned', room: 'random', message: m }, { type: 'message', message: m, attentive: false });
    assert.equal(mentionCount(state, 'random'), 3); // once, however it came
    assert.equal(totalMentions(state), 3);
    state = apply(state, { type: 'message', message: msg('random', 'bob', 'no mention') });
    assert.equal(mentionCount(state, 'random'), 3);
    state = apply(state, { type: 'seen_by', room: 'random', username: 'alice', message_id: m.id });
    assert.equal(mentionCount(state, 'random'), 0); // read in another tab of mine
  });

  it('an edit that drops the mention, or a delete, takes it back', () => {
    const m = mention();
    let state = apply(joined(opened()), { type: 'mentioned', room: 'random', message: m });
    assert.equal(apply(state, { type: 'edited', message: { ...m, mentions: [] } }).mentions.byRoom.random.ids.length, 0);
    state = apply(state, { type: 'deleted', room: 'random', id: m.id });
    assert.equal(mentionCount(state, 'random'), 0);
  });

  it('the Mentions list loads page by page and takes new mentions in at the top', () => {
    const older = mention();
    let state = run(
      joined(opened()),
      { type: 'mentions_requested', more: false },
      { type: 'mentions_loaded', more: false, messages: [older], has_more: true },
    );
    const newer = mention();
    state = apply(state, { type: 'mentioned', room: 'random', message: newer });
    assert.deepEqual(state.mentions.list.messages.map((m) => m.id), [newer.id, older.id]);
    assert.equal(state.mentions.list.hasMore, true);
  });
});

describe('compose', () => {
  it('a reply quotes 120 code points of the message and ends when it is queued or deleted', () => {
    const m = msg('general', 'bob', 'é'.repeat(130));
    let state = joined(opened(), 'general', { history: [m] });
    state = apply(state, { type: 'reply_started', message: m });
    assert.deepEqual(state.compose.replyTo, { id: m.id, username: 'bob', excerpt: 'é'.repeat(120), deleted: false });
    assert.equal(apply(state, { type: 'deleted', room: 'general', id: m.id }).compose.replyTo, null);
    assert.equal(apply(state, { type: 'opened', room: 'random' }).compose.replyTo, null);
    const entry = { client_id: 'c', room: 'general', text: 'yes', queued_at: 1, reply: state.compose.replyTo };
    state = apply(state, { type: 'queued', entry });
    assert.equal(state.compose.replyTo, null);
    assert.deepEqual(state.outbox[0].reply.id, m.id);
  });
});

describe('members', () => {
  it('are everyone the page has seen in the room, me aside, online ones first', () => {
    const history = [msg('general', 'Bea', 'x'), msg('general', 'bob', 'y')];
    const state = joined(opened(), 'general', { history, seen: { carol: 1 } });
    const withBob = apply(state, { type: 'announced', room: 'general', username: 'bob', joined: true });
    assert.deepEqual(knownMembers(withBob, 'general').sort(), ['Bea', 'bob', 'carol']);
    assert.deepEqual(mentionCandidates(withBob, 'general', 'B'), ['bob', 'Bea']);
    assert.deepEqual(mentionCandidates(withBob, 'general', 'z'), []);
  });

  it('the query is the @name being typed, not an address', () => {
    assert.deepEqual(mentionQuery('hi @be', 6), { start: 3, prefix: 'be' });
    assert.deepEqual(mentionQuery('@', 1), { start: 0, prefix: '' });
    assert.equal(mentionQuery('mail me@host', 12), null);
    assert.equal(mentionQuery('@bob done', 9), null);
  });
});
