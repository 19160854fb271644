// New messages from the server: into the store, read aloud in the open room, notified
// elsewhere, never twice and never for my own.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { createInbox } from '../../static/js/effects/inbox.js';
import { fakePage, joined, msg, opened, quietStore } from './fixtures.mjs';

function setup({ atBottom = true, visible = true } = {}) {
  const store = quietStore(joined(opened()));
  const page = fakePage({ visible });
  const heard = { announced: [], alerted: [] };
  const inbox = createInbox({
    store,
    page,
    atBottom: () => atBottom,
    announce: (text) => heard.announced.push(text),
    alert: (state, m) => heard.alerted.push(m.message),
  });
  return { store, inbox, heard };
}

describe('the inbox', () => {
  it('reads a new message in the open room aloud, notifies one from elsewhere, each once', () => {
    const { store, inbox, heard } = setup();
    const here = msg('general', 'bob', 'hi');
    inbox.events.recieve_message(here);
    inbox.events.recieve_message(here);
    inbox.events.recieve_message(msg('random', 'carol', 'psst'));
    inbox.events.recieve_message(msg('general', 'alice', 'mine'));
    assert.deepEqual(heard, { announced: ['bob: hi'], alerted: ['psst'] });
    assert.equal(store.getState().timeline.byRoom.general.dividerId, null); // seen as it came
  });

  it('a message that comes while you are scrolled up marks where you stopped', () => {
    const { store, inbox } = setup({ atBottom: false });
    const m = msg('general', 'bob', 'while away');
    inbox.events.recieve_message(m);
    assert.equal(store.getState().timeline.byRoom.general.dividerId, m.id);
  });

  it('ignores what is not a message, and takes edits and deletes', () => {
    const { store, inbox } = setup();
    inbox.events.recieve_message({});
    assert.deepEqual(store.getState().timeline.byRoom.general.messages, []);
    const m = msg('general', 'bob', 'typo');
    inbox.events.recieve_message(m);
    inbox.events.message_edited({ ...m, message: 'fixed' });
    assert.equal(store.getState().timeline.byRoom.general.messages[0].message, 'fixed');
    inbox.events.message_deleted({ room: 'general', id: m.id });
    assert.equal(store.getState().timeline.byRoom.general.messages[0].deleted, true);
  });
});
