'use strict';

// The chat page: one room, one socket. Text only ever goes in through textContent.
(function () {
  const root = document.getElementById('chat');
  if (!root) return;
  const ROOM = root.dataset.room;
  const ME = root.dataset.username;
  const TYPING_SEND_EVERY = 2000; // ms between typing:true refreshes while typing
  const TYPING_IDLE = 3000; // ms without keys before typing:false
  const TYPING_EXPIRE = 5000; // ms before someone else's indicator fades
  const ACK_TIMEOUT = 8000;

  const els = {
    status: document.getElementById('status'),
    list: document.getElementById('messages'),
    older: document.getElementById('older'),
    typing: document.getElementById('typing'),
    form: document.getElementById('composer'),
    input: document.getElementById('message'),
    error: document.getElementById('composer-error'),
    online: document.getElementById('online'),
    onlineCount: document.getElementById('online-count'),
    editBanner: document.getElementById('edit-banner'),
    cancelEdit: document.getElementById('cancel-edit'),
  };

  const byId = new Map(); // message id -> <li>
  const messages = new Map(); // message id -> Message as last received
  const pending = new Map(); // client_id -> {text, li, state}
  const online = new Set();
  const typers = new Map(); // username -> timeout handle
  const seen = new Map(); // username -> last read message id
  let seenSent = 0; // the newest id this page has reported as read
  let lastId = null;
  let firstId = null;
  let joined = false;

  const socket = io();

  // --- rendering ---------------------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function formatTime(iso) {
    const date = new Date(iso);
    const now = new Date();
    const sameDay = date.toDateString() === now.toDateString();
    const time = date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    return sameDay ? time : `${date.toLocaleDateString()} ${time}`;
  }

  function messageNode(m) {
    const li = el('li', 'message');
    li.dataset.id = String(m.id);
    if (m.username.toLowerCase() === ME.toLowerCase()) li.classList.add('mine');
    const meta = el('div', 'meta');
    meta.append(el('span', 'author', m.username));
    const time = el('time', 'time', formatTime(m.created_at));
    time.dateTime = m.created_at;
    time.title = new Date(m.created_at).toLocaleString();
    meta.append(time);
    if (m.edited_at && !m.deleted) meta.append(el('span', 'edited', '(edited)'));
    li.append(meta);
    if (m.deleted) {
      li.classList.add('deleted');
      li.append(el('div', 'body', 'message deleted'));
    } else {
      li.append(el('div', 'body', m.message));
      if (li.classList.contains('mine')) li.append(actionsNode(m.id));
    }
    return li;
  }

  function actionsNode(id) {
    const box = el('div', 'actions');
    const edit = el('button', 'link', 'Edit');
    edit.type = 'button';
    edit.addEventListener('click', () => startEdit(id));
    const remove = el('button', 'link danger', 'Delete');
    remove.type = 'button';
    remove.addEventListener('click', () => {
      if (!window.confirm('Delete this message for everyone?')) return;
      socket.timeout(ACK_TIMEOUT).emit('delete_message', { room: ROOM, id }, (err, res) => {
        if (err || !res.ok) showError(`Could not delete: ${err ? 'no answer' : errorText(res)}`);
      });
    });
    box.append(edit, remove);
    return box;
  }

  function nearBottom() {
    const list = els.list;
    return list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  }

  function scrollToBottom() {
    els.list.scrollTop = els.list.scrollHeight;
  }

  // Insert in id order; a message already shown is replaced, never duplicated.
  function addMessage(m) {
    const node = messageNode(m);
    const existing = byId.get(m.id);
    if (existing) {
      existing.replaceWith(node);
    } else if (lastId === null || m.id > lastId) {
      els.list.insertBefore(node, firstPendingNode()); // the usual case: newest so far
    } else {
      let next = null;
      for (const [id, li] of byId) {
        if (id > m.id && (next === null || id < Number(next.dataset.id))) next = li;
      }
      els.list.insertBefore(node, next || firstPendingNode());
    }
    byId.set(m.id, node);
    messages.set(m.id, m);
    lastId = lastId === null ? m.id : Math.max(lastId, m.id);
    firstId = firstId === null ? m.id : Math.min(firstId, m.id);
    if (m.client_id && pending.has(m.client_id)) {
      pending.get(m.client_id).li.remove();
      pending.delete(m.client_id);
    }
  }

  function firstPendingNode() {
    for (const p of pending.values()) return p.li;
    return null;
  }

  function clearMessages() {
    for (const li of byId.values()) li.remove();
    byId.clear();
    messages.clear();
    lastId = null;
    firstId = null;
  }

  function renderOnline() {
    const names = [...online].sort((a, b) => a.localeCompare(b));
    els.online.replaceChildren(
      ...names.map((name) => el('li', name.toLowerCase() === ME.toLowerCase() ? 'me' : '', name)),
    );
    els.onlineCount.textContent = names.length ? `${names.length} online` : '';
    els.onlineCount.title = names.join(', ');
  }

  function renderTyping() {
    const names = [...typers.keys()];
    let text = '';
    if (names.length === 1) text = `${names[0]} is typing…`;
    else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
    else if (names.length > 2) text = 'Several people are typing…';
    els.typing.textContent = text;
  }

  function stopTyping(username) {
    clearTimeout(typers.get(username));
    if (typers.delete(username)) renderTyping();
  }

  // "Seen by …" under my newest message, for the others who have read that far.
  function renderSeen() {
    els.list.querySelectorAll('.seen').forEach((node) => node.remove());
    let mineId = null;
    for (const [id, li] of byId) {
      if (li.classList.contains('mine') && (mineId === null || id > mineId)) mineId = id;
    }
    if (mineId === null) return;
    const readers = [...seen]
      .filter(([name, id]) => id >= mineId && name.toLowerCase() !== ME.toLowerCase())
      .map(([name]) => name)
      .sort((a, b) => a.localeCompare(b));
    if (readers.length) byId.get(mineId).append(el('div', 'seen', `Seen by ${readers.join(', ')}`));
  }

  // Report the newest message as read while the page is in view; the server keeps the
  // furthest position, so a late or repeated report is harmless.
  function markSeen() {
    if (!joined || lastId === null || lastId <= seenSent) return;
    if (document.visibilityState !== 'visible') return;
    seenSent = lastId;
    socket.emit('mark_seen', { room: ROOM, message_id: lastId }, () => {});
  }

  // "(3) general · chat-on-flask": what arrived while the tab was in the background.
  const baseTitle = document.title;
  let unseen = 0;

  function updateTitle() {
    document.title = unseen ? `(${unseen}) ${baseTitle}` : baseTitle;
  }

  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState !== 'visible') return;
    unseen = 0;
    updateTitle();
    markSeen();
  });

  function setStatus(text, kind) {
    els.status.textContent = text;
    els.status.dataset.kind = kind || '';
    els.status.hidden = !text;
  }

  function showError(text) {
    els.error.textContent = text || '';
  }

  function errorText(res) {
    return res && res.error ? res.error.message : 'no answer from the server';
  }

  // --- joining -----------------------------------------------------------------------

  function join() {
    const payload = { room: ROOM };
    if (lastId !== null) payload.last_id = lastId;
    socket.timeout(ACK_TIMEOUT).emit('joined_room', payload, (err, res) => {
      if (err || !res.ok) {
        setStatus(`Could not join: ${err ? 'no answer from the server' : errorText(res)}`, 'error');
        return;
      }
      joined = true;
      setStatus('');
      online.clear();
      res.online.forEach((name) => online.add(name));
      renderOnline();
      Object.entries(res.seen).forEach(([name, id]) => seen.set(name, id));
      renderSeen();
      markSeen();
      for (const clientId of pending.keys()) deliver(clientId);
    });
  }

  socket.on('connect', join);

  socket.on('disconnect', () => {
    joined = false;
    setStatus('Reconnecting…', 'warn');
    online.clear();
    renderOnline();
    for (const name of [...typers.keys()]) stopTyping(name);
  });

  socket.on('connect_error', (err) => {
    // A refusal by the server (signed out, expired session) is final; network trouble
    // is retried by the client on its own.
    if (!socket.active) setStatus('You are signed out: reload the page to sign in again.', 'error');
    else setStatus(`Cannot connect (${err.message}), retrying…`, 'warn');
  });

  socket.on('rejoin_room', (data) => {
    if (data.room !== ROOM) return;
    const stick = nearBottom();
    if (data.reset) clearMessages();
    data.messages.forEach(addMessage);
    if (data.reset || firstId === data.messages[0].id) els.older.hidden = !data.has_more;
    if (stick || data.reset) scrollToBottom();
    renderSeen();
    markSeen();
  });

  // --- live events -------------------------------------------------------------------

  socket.on('recieve_message', (m) => {
    if (m.room !== ROOM) return;
    const mine = m.username.toLowerCase() === ME.toLowerCase();
    const stick = nearBottom();
    addMessage(m);
    stopTyping(m.username);
    if (stick || mine) scrollToBottom();
    if (!mine && document.visibilityState !== 'visible') {
      unseen += 1;
      updateTitle();
    }
    renderSeen();
    markSeen();
  });

  socket.on('message_edited', (m) => {
    if (m.room !== ROOM || !byId.has(m.id)) return;
    addMessage(m);
    renderSeen();
  });

  socket.on('message_deleted', (data) => {
    if (data.room !== ROOM || !messages.has(data.id)) return;
    if (editing === data.id) stopEdit();
    addMessage({ ...messages.get(data.id), deleted: true, message: null });
    renderSeen();
  });

  socket.on('messages_seen', (data) => {
    if (data.room !== ROOM) return;
    seen.set(data.username, Math.max(seen.get(data.username) || 0, data.message_id));
    renderSeen();
  });

  socket.on('typing_on', (data) => {
    if (data.room !== ROOM || data.username.toLowerCase() === ME.toLowerCase()) return;
    if (!data.typing) {
      stopTyping(data.username);
      return;
    }
    clearTimeout(typers.get(data.username));
    typers.set(data.username, setTimeout(() => stopTyping(data.username), TYPING_EXPIRE));
    renderTyping();
  });

  socket.on('join_room_announcement', (data) => {
    if (data.room !== ROOM) return;
    online.add(data.username);
    renderOnline();
  });

  socket.on('leave_room_announcement', (data) => {
    if (data.room !== ROOM) return;
    online.delete(data.username);
    renderOnline();
    stopTyping(data.username);
  });

  socket.on('chat_error', (data) => showError(data.message));

  // --- older history -----------------------------------------------------------------

  els.older.addEventListener('click', () => {
    if (firstId === null) return;
    els.older.disabled = true;
    socket.timeout(ACK_TIMEOUT).emit('load_history', { room: ROOM, before_id: firstId }, (err, res) => {
      els.older.disabled = false;
      if (err || !res.ok) {
        showError(`Could not load older messages: ${err ? 'no answer' : errorText(res)}`);
        return;
      }
      const list = els.list;
      const fromBottom = list.scrollHeight - list.scrollTop;
      res.messages.forEach(addMessage);
      list.scrollTop = list.scrollHeight - fromBottom;
      els.older.hidden = !res.has_more;
    });
  });

  // --- sending -----------------------------------------------------------------------

  function newClientId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  }

  // Sends (or re-sends after a reconnect) one pending message; its client_id makes a
  // retry safe: the server stores it once and answers with the first ack.
  function deliver(clientId) {
    const p = pending.get(clientId);
    if (!p || !joined) return;
    p.li.classList.remove('failed');
    p.li.classList.add('sending');
    socket.timeout(ACK_TIMEOUT).emit(
      'send_message',
      { room: ROOM, message: p.text, client_id: clientId },
      (err, res) => {
        if (!pending.has(clientId)) return; // already shown via recieve_message
        if (err) return; // no answer: it is re-sent on reconnect
        if (res.ok) return; // recieve_message replaces the pending line
        p.li.classList.remove('sending');
        p.li.classList.add('failed');
        p.status.textContent = `${errorText(res)} · click to retry`;
      },
    );
  }

  function queue(text) {
    const clientId = newClientId();
    const li = el('li', 'message mine pending sending');
    const meta = el('div', 'meta');
    meta.append(el('span', 'author', ME));
    const status = el('span', 'time', 'sending…');
    meta.append(status);
    li.append(meta, el('div', 'body', text));
    li.addEventListener('click', () => {
      if (li.classList.contains('failed')) deliver(clientId);
    });
    els.list.append(li);
    pending.set(clientId, { text, li, status });
    scrollToBottom();
    deliver(clientId);
  }

  // --- editing -----------------------------------------------------------------------

  let editing = null; // id of the message being edited in the composer

  function startEdit(id) {
    const m = messages.get(id);
    if (!m || m.deleted) return;
    editing = id;
    els.form.classList.add('editing');
    els.editBanner.hidden = false;
    els.input.value = m.message;
    autosize();
    els.input.focus();
  }

  function stopEdit() {
    editing = null;
    els.form.classList.remove('editing');
    els.editBanner.hidden = true;
    els.input.value = '';
    autosize();
  }

  function submitEdit(id, text) {
    socket.timeout(ACK_TIMEOUT).emit('edit_message', { room: ROOM, id, message: text }, (err, res) => {
      if (err || !res.ok) {
        showError(`Could not edit: ${err ? 'no answer from the server' : errorText(res)}`);
        return;
      }
      if (editing === id) stopEdit();
    });
  }

  els.cancelEdit.addEventListener('click', stopEdit);

  let typingSentAt = 0;
  let idleTimer = null;

  function sendTyping(typing) {
    if (!joined) return;
    socket.emit('typing_status', { room: ROOM, typing }, () => {});
  }

  els.input.addEventListener('input', () => {
    autosize();
    showError('');
    if (editing !== null) return; // editing is not typing a new message
    const now = Date.now();
    if (els.input.value.trim() && now - typingSentAt > TYPING_SEND_EVERY) {
      typingSentAt = now;
      sendTyping(true);
    }
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      if (typingSentAt) sendTyping(false);
      typingSentAt = 0;
    }, TYPING_IDLE);
  });

  els.input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      els.form.requestSubmit();
    } else if (event.key === 'Escape' && editing !== null) {
      stopEdit();
    } else if (event.key === 'ArrowUp' && !els.input.value && editing === null) {
      // Up in an empty composer edits your newest message, as in most chat apps.
      const mine = [...byId].filter(([id, li]) => li.classList.contains('mine') && !messages.get(id).deleted);
      if (mine.length) {
        event.preventDefault();
        startEdit(Math.max(...mine.map(([id]) => id)));
      }
    }
  });

  els.form.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = els.input.value.trim();
    if (!text) return;
    if ([...text].length > 4000) {
      showError('A message is at most 4000 characters.');
      return;
    }
    if (editing !== null) {
      submitEdit(editing, text);
      return;
    }
    clearTimeout(idleTimer);
    typingSentAt = 0; // the server ends typing when the message arrives
    els.input.value = '';
    autosize();
    queue(text);
    els.input.focus();
  });

  function autosize() {
    els.input.style.height = 'auto';
    els.input.style.height = `${Math.min(els.input.scrollHeight, 160)}px`;
  }
})();
