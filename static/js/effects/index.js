'use strict';

// Every effect of the page, made once over one socket, API and store, with the one table of
// server events they handle together. `views` is filled in by main.js after the views are
// made: the effects ask it what only the page can measure or show.

import { createDrafts } from './drafts.js';
import { createInbox } from './inbox.js';
import { createJoins } from './joins.js';
import { createMentions } from './mentions.js';
import { createModeration } from './moderation.js';
import { keepOutbox } from './outbox-storage.js';
import { createPlace } from './place.js';
import { createPresence } from './presence.js';
import { createReactions } from './reactions.js';
import { createReader } from './reader.js';
import { createReadMarks } from './read-marks.js';
import { createSearch } from './search.js';
import { createSend } from './send.js';
import { createSession } from './session.js';
import { keepTray } from './tray-storage.js';
import { createUploads } from './uploads.js';
import { createApi } from '../net/api.js';
import { listen } from '../net/socket.js';

// `maxUpload`: the bytes a file may have (the server's MAX_UPLOAD_MB).
export function createEffects({ socket, store, csrfToken, views, maxUpload = 0, page = window }) {
  const me = store.getState().me;
  const storage = page.localStorage;
  keepOutbox({ store, storage });
  const trays = keepTray({ store, storage });
  const drafts = createDrafts({ storage, me });
  const place = createPlace({ storage: page.sessionStorage, me });
  const session = createSession({
    socket,
    store,
    onLeave: () => {
      drafts.clearAll();
      trays.clearAll();
    },
  });
  const api = createApi({ csrfToken, onUnauthorized: session.signIn });
  const joins = createJoins({ socket, api, store });
  const send = createSend({ socket, store, rejoin: joins.joinCurrent });
  const marks = createReadMarks({ socket, store, visibleId: () => views.conversation.newestVisibleId() });
  const alert = (state, message, options) => views.attention.alert(state, message, options);
  const inbox = createInbox({
    store,
    atBottom: () => views.conversation.atBottom(),
    announce: (text) => views.page.announce(text),
    alert,
  });
  const looking = () => page.document.visibilityState === 'visible' && page.document.hasFocus();
  const mentions = createMentions({ api, store, alert, looking });
  const reactions = createReactions({ socket, store });
  const reader = createReader({ socket, store });
  const presence = createPresence({ store });
  const search = createSearch({ api, store });
  const moderation = createModeration({ socket, api, store });
  const uploads = createUploads({ store, csrfToken, maxBytes: maxUpload, onUnauthorized: session.signIn });
  const tables = [session, joins, inbox, marks, presence, reactions, mentions, moderation].map((effect) => effect.events);
  listen(socket, ...tables);
  return { drafts, place, session, joins, send, marks, mentions, reactions, reader, search, moderation, uploads };
}
