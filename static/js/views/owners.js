'use strict';

// What rooms with owners add to the page, made together over the moderation effect: the
// topic in the header, the members panel (with the record), and the notice of a
// membership that ended. One render for main.js to call.

import { createMembersPanel } from './members.js';
import { createRoomNotice } from './room-notice.js';
import { createTopic } from './topic.js';

export function createOwnersViews(doc, root, { moderation, dispatch }) {
  const topic = createTopic(doc, { onSave: moderation.setTopic });
  const members = createMembersPanel(doc, root, {
    loadMembers: moderation.loadMembers,
    loadAudit: moderation.loadAudit,
    act: moderation.act,
    invite: moderation.invite,
  });
  const notice = createRoomNotice(doc, { onDismiss: () => dispatch({ type: 'notice_dismissed' }) });
  return {
    members,
    render(state) {
      topic.render(state);
      members.render(state);
      notice.render(state);
    },
  };
}
