'use strict';

// The open room's people, in a panel the header's "Members" button opens (beside the
// conversation on a laptop, the whole screen on a phone): each member with an online dot
// and a badge for the owner and moderators, paged by name with "Load more"; the actions
// my role allows on each (make or remove a moderator, remove, ban: those two confirmed,
// with a reason); an invitation by username where I may invite; and, for the owner and
// moderators, a "Record" tab with the room's moderation record. Renders from the store;
// the panel's own state (open, which tab) is the view's.

import { createAuditList } from './audit.js';
import { h, reconcile, setText } from './dom.js';
import { icon } from './icons.js';
import { isUsername, sameUser } from '../format.js';
import {
  ACTION_LABELS,
  ROLE_LABELS,
  canInvite,
  canReadAudit,
  memberActions,
  ownersOf,
  roleIn,
} from '../state/owners.js';
import { currentRoom, roomLabel } from '../state/rooms.js';

const DONE = {
  promote: (name) => `${name} is a moderator now.`,
  demote: (name) => `${name} is a member again.`,
  kick: (name) => `${name} was removed from the room.`,
  ban: (name) => `${name} is banned from the room.`,
  unban: (name) => `${name} is no longer banned.`,
};

// handlers: loadMembers(room, {more}), loadAudit(room, {more}), act(action, target,
// reason) and invite(username), each a promise that rejects with an Error saying why.
export function createMembersPanel(doc, root, handlers) {
  const button = doc.getElementById('members-button');
  button.prepend(icon('people'));
  const title = h('h2', { id: 'members-title' }, 'Members');
  const close = h('button', { type: 'button', className: 'link', id: 'members-close' }, 'Close');
  const tabMembers = h('button', { type: 'button', role: 'tab', id: 'tab-members', 'aria-controls': 'members-section' }, 'Members');
  const tabAudit = h('button', { type: 'button', role: 'tab', id: 'tab-audit', 'aria-controls': 'audit-section' }, 'Record');
  const tabs = h('div', { className: 'panel-tabs', role: 'tablist', 'aria-label': 'Room panel' }, tabMembers, tabAudit);

  const inviteInput = h('input', {
    id: 'invite-name',
    name: 'username',
    autocomplete: 'off',
    spellcheck: 'false',
    placeholder: 'username',
    maxlength: '33',
    'aria-describedby': 'invite-error',
  });
  const inviteError = h('p', { className: 'form-error', id: 'invite-error', role: 'alert' });
  const inviteLabel = h('label', { for: 'invite-name' }, 'Invite someone');
  const inviteForm = h(
    'form',
    { className: 'invite-form', id: 'invite-form', novalidate: true },
    inviteLabel,
    h('div', { className: 'row' }, inviteInput, h('button', { type: 'submit' }, 'Invite')),
    inviteError,
  );
  const status = h('p', { className: 'panel-status', id: 'members-status', role: 'status' });
  const list = h('ul', { className: 'member-list', id: 'member-list', 'aria-labelledby': 'members-title' });
  const more = h('button', { type: 'button', className: 'link panel-more', id: 'members-more' }, 'Load more');
  const membersSection = h(
    'section',
    { id: 'members-section', role: 'tabpanel', 'aria-labelledby': 'tab-members' },
    inviteForm,
    status,
    list,
    more,
  );
  const audit = createAuditList(doc, {
    onMore: () => shownRoom && handlers.loadAudit(shownRoom, { more: true }),
    onRefresh: () => shownRoom && handlers.loadAudit(shownRoom),
    onUnban: (target, from) => run('unban', target, '', from),
  });
  const auditSection = h('section', { id: 'audit-section', role: 'tabpanel', 'aria-labelledby': 'tab-audit', hidden: true }, audit.node);

  const panel = doc.getElementById('members-panel');
  panel.append(h('div', { className: 'panel-head' }, title, close), tabs, membersSection, auditSection);

  // Kick and ban are asked first, with an optional reason for the record.
  const reason = h('input', { id: 'moderate-reason', name: 'reason', maxlength: '250', autocomplete: 'off' });
  const confirmTitle = h('h2', { id: 'confirm-moderate-title' });
  const confirmText = h('p');
  const confirmGo = h('button', { value: 'go', className: 'danger' }, 'Remove');
  const confirm = h(
    'dialog',
    { className: 'confirm', id: 'confirm-moderate', 'aria-labelledby': 'confirm-moderate-title' },
    h(
      'form',
      { method: 'dialog' },
      confirmTitle,
      confirmText,
      h('label', { for: 'moderate-reason', className: 'reason-label' }, 'Reason (optional, kept in the record)'),
      reason,
      h('div', { className: 'dialog-buttons' }, h('button', { value: 'cancel', className: 'secondary' }, 'Cancel'), confirmGo),
    ),
  );
  root.append(confirm);

  const rows = new Map(); // username -> {node, item}
  let open = false;
  let tab = 'members';
  let shownRoom = null;
  let last = null;
  let statusNote = null; // {room, text, error}: what the last action did
  let shownKey = null; // what the list was last rendered from

  function ask(action, target, label) {
    const banning = action === 'ban';
    setText(confirmTitle, `${banning ? 'Ban' : 'Remove'} ${target} from ${label}?`);
    setText(
      confirmText,
      banning
        ? 'They leave the room at once and cannot open or read it until they are unbanned.'
        : 'They leave the room at once. They can come back later.',
    );
    setText(confirmGo, banning ? 'Ban' : 'Remove');
    reason.value = '';
    confirm.returnValue = '';
    return new Promise((resolve) => {
      confirm.addEventListener('close', () => resolve(confirm.returnValue === 'go' ? reason.value : null), { once: true });
      confirm.showModal();
    });
  }

  function note(text, error = false) {
    statusNote = { room: shownRoom, text, error };
    if (last) renderList(last, true);
  }

  async function run(action, target, reasonText, from) {
    const room = shownRoom;
    const label = last ? roomLabel(currentRoom(last)) : `#${room}`;
    let why = reasonText;
    if (action === 'kick' || action === 'ban') {
      why = await ask(action, target, label);
      if (why === null) {
        if (from && from.isConnected) from.focus();
        return;
      }
    }
    try {
      await handlers.act(action, target, why || '');
      if (room === shownRoom) note(DONE[action](target));
    } catch (error) {
      if (room === shownRoom) note(`Could not ${ACTION_LABELS[action].toLowerCase()} ${target}: ${error.message}.`, true);
    }
    if (from && from.isConnected) from.focus();
    else if (open) close.focus();
  }

  function memberNode(item) {
    const { member, actions, me } = item;
    const dot = h('span', { className: `presence-dot${member.online ? ' online' : ''}`, 'aria-hidden': 'true' });
    const name = h('span', { className: 'member-name' }, member.username);
    const li = h(
      'li',
      { className: 'member', dataset: { username: member.username, role: member.role || 'member' } },
      h(
        'div',
        { className: 'member-line' },
        dot,
        name,
        h('span', { className: 'visually-hidden' }, member.online ? ' (online)' : ' (offline)'),
        me ? h('span', { className: 'member-you' }, '(you)') : null,
        ROLE_LABELS[member.role] ? h('span', { className: `role-badge role-${member.role}` }, ROLE_LABELS[member.role]) : null,
      ),
    );
    if (actions.length) {
      li.append(
        h(
          'div',
          { className: 'member-actions' },
          actions.map((action) =>
            h(
              'button',
              {
                type: 'button',
                className: `member-action action-${action}${action === 'kick' || action === 'ban' ? ' danger-link' : ''}`,
                'aria-label': `${ACTION_LABELS[action]}: ${member.username}`,
                on: { click: (event) => run(action, member.username, '', event.currentTarget) },
              },
              ACTION_LABELS[action],
            ),
          ),
        ),
      );
    }
    return li;
  }

  function renderList(state, force = false) {
    const room = currentRoom(state);
    const owners = ownersOf(state, room.name);
    const role = roleIn(state, room.name);
    const same = shownKey && shownKey.owners === owners && shownKey.role === role && shownKey.room === room.name;
    if (same && !force) return;
    shownKey = { owners, role, room: room.name };
    const members = owners.members;
    const items = members.list.map((member) => {
      const actions = memberActions(role, member, state.me);
      return {
        key: member.username.toLowerCase(),
        sig: `${member.username}|${member.role}|${member.online}|${actions.join(',')}`,
        member,
        actions,
        me: sameUser(member.username, state.me),
      };
    });
    reconcile(list, items, rows, {
      create: memberNode,
      update: (node, item, previous) => (item.sig === previous.sig ? node : memberNode(item)),
    });
    let text = '';
    let error = false;
    if (members.error) {
      text = members.error;
      error = true;
    } else if (statusNote && statusNote.room === room.name) {
      ({ text, error } = statusNote);
    } else if (members.loading && !members.list.length) text = 'Loading…';
    else if (members.loaded && !members.list.length) text = 'No members.';
    setText(status, text);
    status.classList.toggle('error', error);
    status.setAttribute('role', error ? 'alert' : 'status');
    more.hidden = !members.hasMore;
    more.disabled = members.loading;
    setText(more, members.loading && members.list.length ? 'Loading…' : 'Load more');
    inviteForm.hidden = !canInvite(role, room.kind);
    setText(inviteLabel, room.kind === 'private' ? 'Invite someone to this private room' : 'Invite someone');
  }

  function selectTab(which, state) {
    tab = which;
    const auditing = which === 'audit';
    tabMembers.setAttribute('aria-selected', String(!auditing));
    tabAudit.setAttribute('aria-selected', String(auditing));
    tabMembers.tabIndex = auditing ? -1 : 0;
    tabAudit.tabIndex = auditing ? 0 : -1;
    membersSection.hidden = auditing;
    auditSection.hidden = !auditing;
    if (auditing && shownRoom && state) handlers.loadAudit(shownRoom);
  }

  function setOpen(value, { focus = true } = {}) {
    open = value;
    panel.hidden = !open;
    root.classList.toggle('members-open', open);
    button.setAttribute('aria-expanded', String(open));
    if (open && last) {
      shownRoom = null; // loads afresh
      render(last);
      if (focus) close.focus();
    } else if (!open && focus) {
      button.focus();
    }
  }

  button.addEventListener('click', () => setOpen(!open));
  close.addEventListener('click', () => setOpen(false));
  panel.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && !confirm.open) {
      event.stopPropagation();
      setOpen(false);
    }
  });
  tabMembers.addEventListener('click', () => selectTab('members', last));
  tabAudit.addEventListener('click', () => selectTab('audit', last));
  tabs.addEventListener('keydown', (event) => {
    if (event.key !== 'ArrowLeft' && event.key !== 'ArrowRight') return;
    if (tabAudit.hidden) return;
    const next = tab === 'members' ? 'audit' : 'members';
    selectTab(next, last);
    (next === 'audit' ? tabAudit : tabMembers).focus();
  });
  more.addEventListener('click', () => shownRoom && handlers.loadMembers(shownRoom, { more: true }));

  inviteForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const name = inviteInput.value.trim().replace(/^@/, '');
    const fail = (text) => {
      setText(inviteError, text);
      inviteInput.setAttribute('aria-invalid', text ? 'true' : 'false');
    };
    if (!isUsername(name)) {
      fail(name ? 'A username is 3–32 letters, digits, “_”, “.” or “-”.' : 'Type a username.');
      inviteInput.focus();
      return;
    }
    fail('');
    const submit = inviteForm.querySelector('button[type=submit]');
    submit.disabled = true;
    try {
      const invited = await handlers.invite(name);
      inviteInput.value = '';
      note(`${invited} is a member now: the room is in their list.`);
    } catch (error) {
      fail(`Could not invite ${name}: ${error.message}.`);
      inviteInput.focus();
    } finally {
      submit.disabled = false;
    }
  });

  function render(state) {
    const room = currentRoom(state);
    const usable = room && room.kind !== 'direct';
    button.hidden = !usable;
    if (!usable) {
      last = state;
      if (open) setOpen(false, { focus: false });
      shownRoom = null;
      return;
    }
    if (!open) {
      last = state;
      return;
    }
    if (room.name !== shownRoom) {
      shownRoom = room.name;
      statusNote = null;
      setText(title, `Members of ${roomLabel(room)}`);
      setText(inviteError, '');
      handlers.loadMembers(room.name);
      selectTab(tab === 'audit' && canReadAudit(roleIn(state, room.name)) ? 'audit' : 'members', state);
    }
    const role = roleIn(state, room.name);
    tabAudit.hidden = !canReadAudit(role);
    tabs.hidden = tabAudit.hidden;
    if (tab === 'audit' && tabAudit.hidden) selectTab('members', state);
    renderList(state);
    audit.render(ownersOf(state, room.name).audit, role !== null && canReadAudit(role));
    last = state;
  }

  return { render, setOpen, isOpen: () => open };
}
