// Read marks against a fake server: only what is on screen, in a visible tab, once each.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { createReadMarks } from '../../static/js/effects/read-marks.js';
import { FakeSocket, fakePage, joined, msg, opened, quietStore, settle } from './fixtures.mjs';

function setup({ respond, visible = true } = {}) {
  const m = msg('general', 'bob', 'on screen');
  const state = joined(opened(), 'general', { history: [m], seen: { alice: 0 } });
  const socket = new FakeSocket(respond);
  const store = quietStore(state);
  const page = fakePage({ visible });
  let onScreen = m.id;
  const marks = createReadMarks({ socket, store, page, visibleId: () => onScreen });
  return { socket, store, page, marks, m, see: (id) => (onScreen = id) };
}

describe('read marks', () => {
  it('marks what is on screen once, and reads others’ marks', () => {
    const { socket, store, marks, m } = setup();
    marks.markSeen();
    marks.markSeen();
    assert.deepEqual(socket.events('mark_seen'), [{ room: 'general', message_id: m.id }]);
    assert.equal(store.getState().timeline.byRoom.general.unread, 0);
    marks.events.messages_seen({ room: 'general', username: 'bob', message_id: m.id });
    assert.equal(store.getState().timeline.byRoom.general.seen.bob, m.id);
  });

  it('a hidden tab marks nothing until it is shown', () => {
    const { socket, page } = setup({ visible: false });
    page.dispatch('visibilitychange');
    assert.deepEqual(socket.events('mark_seen'), []);
    page.visibilityState = 'visible';
    page.dispatch('visibilitychange');
    assert.equal(socket.events('mark_seen').length, 1);
  });

  it('a mark the server did not take is not repeated for the same message; the next goes', async () => {
    const { socket, store, marks, m, see } = setup({ respond: () => 'timeout' });
    marks.markSeen();
    await settle();
    assert.deepEqual(store.getState().timeline.readSent, {});
    marks.markSeen();
    assert.equal(socket.events('mark_seen').length, 1);
    see(m.id + 1);
    marks.markSeen();
    assert.deepEqual(socket.events('mark_seen').at(-1), { room: 'general', message_id: m.id + 1 });
  });

  it('nothing on screen, nothing marked', () => {
    const { socket, marks, see } = setup();
    see(null);
    marks.markSeen();
    assert.deepEqual(socket.sent, []);
  });
});
