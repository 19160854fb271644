'use strict';

// The open room's moderation record, for its owner and moderators: who did what to whom
// and when, newest first, paged back with "Load older"; a ban offers "Unban". Renders
// from the store only; the members panel holds it in its "Record" tab.

import { h, setText } from './dom.js';
import { fullWhen, shortWhen } from '../format.js';
import { auditText } from '../state/owners.js';

// handlers: onMore() (older entries), onRefresh(), onUnban(username, button).
export function createAuditList(doc, { onMore, onRefresh, onUnban }) {
  const status = h('p', { className: 'panel-status', role: 'status' });
  const list = h('ol', { className: 'audit-list', 'aria-label': 'Moderation record' });
  const more = h('button', { type: 'button', className: 'link panel-more', on: { click: () => onMore() } }, 'Load older');
  const refresh = h('button', { type: 'button', className: 'link', on: { click: () => onRefresh() } }, 'Refresh');
  const node = h(
    'div',
    { className: 'audit' },
    h('div', { className: 'panel-row' }, h('p', { className: 'panel-note' }, 'Every moderation action and topic change, newest first.'), refresh),
    status,
    list,
    more,
  );
  let shown = null;

  function entryNode(entry, canUnban) {
    const when = h('time', { datetime: entry.at, title: fullWhen(entry.at) }, shortWhen(entry.at));
    const li = h(
      'li',
      { className: `audit-entry audit-${entry.action}` },
      h('span', { className: 'audit-text' }, auditText(entry)),
      ' ',
      when,
    );
    if (entry.reason) li.append(h('span', { className: 'audit-reason' }, `Reason: ${entry.reason}`));
    if (entry.action === 'ban' && canUnban && entry.target) {
      li.append(
        h(
          'button',
          {
            type: 'button',
            className: 'link audit-unban',
            'aria-label': `Unban ${entry.target}`,
            on: { click: (event) => onUnban(entry.target, event.currentTarget) },
          },
          'Unban',
        ),
      );
    }
    return li;
  }

  return {
    node,
    render(audit, canUnban) {
      if (shown && shown.audit === audit && shown.canUnban === canUnban) return;
      shown = { audit, canUnban };
      list.replaceChildren(...audit.entries.map((entry) => entryNode(entry, canUnban)));
      let text = '';
      if (audit.error) text = audit.error;
      else if (audit.loading && !audit.entries.length) text = 'Loading…';
      else if (audit.loaded && !audit.entries.length) text = 'Nothing has been moderated here yet.';
      setText(status, text);
      status.classList.toggle('error', Boolean(audit.error));
      more.hidden = !audit.hasMore;
      more.disabled = audit.loading;
      setText(more, audit.loading && audit.entries.length ? 'Loading…' : 'Load older');
    },
  };
}
