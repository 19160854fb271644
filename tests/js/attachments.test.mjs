// Files in messages: sizes and boxes, the line that stands for a message of files alone,
// the tray's state machine (uploads slice), the upload effect against a fake XMLHttpRequest,
// and the outbox keeping a message's files across a retry and a reload.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { filesSummary, fitWithin, humanSize, imagesOf, isImage, messageLine } from '../../static/js/attachments.js';
import { loadEntries, persist } from '../../static/js/effects/outbox-storage.js';
import { createSend } from '../../static/js/effects/send.js';
import { KEEP_FOR, keepTray, loadTray, persistTray } from '../../static/js/effects/tray-storage.js';
import { createUploads, uploadErrorText } from '../../static/js/effects/uploads.js';
import { apply } from '../../static/js/state/store.js';
import { percent, readyAttachments, roomLeft, trayStatus, uploadsFor } from '../../static/js/state/uploads.js';
import { FakeSocket, joined, msg, opened, othersUnchanged, quietStore, run, settle } from './fixtures.mjs';

const MB = 1024 * 1024;
const image = (id, extra = {}) => ({
  id,
  name: `p${id}.png`,
  size: 2048,
  type: 'image/png',
  width: 640,
  height: 480,
  url: `/attachments/${id}/p${id}.png`,
  thumb_url: `/attachments/${id}/thumb/p${id}.webp`,
  ...extra,
});
const file = (id, extra = {}) => ({
  id,
  name: `f${id}.pdf`,
  size: 1234567,
  type: 'application/pdf',
  url: `/attachments/${id}/f${id}.pdf`,
  ...extra,
});

describe('humanSize', () => {
  it('says bytes, KB, MB and GB in the units of the server’s limits', () => {
    assert.equal(humanSize(0), '0 bytes');
    assert.equal(humanSize(1), '1 byte');
    assert.equal(humanSize(1023), '1023 bytes');
    assert.equal(humanSize(1024), '1 KB');
    assert.equal(humanSize(1536), '1.5 KB');
    assert.equal(humanSize(532 * 1024 + 100), '532 KB');
    assert.equal(humanSize(1.2 * MB), '1.2 MB');
    assert.equal(humanSize(10 * MB), '10 MB');
    assert.equal(humanSize(3.25 * 1024 * MB), '3.3 GB');
  });

  it('never says 1024 of a unit', () => {
    assert.equal(humanSize(MB - 1), '1 MB');
    assert.equal(humanSize(1024 * MB - 1), '1 GB');
  });

  it('takes nonsense as nothing', () => {
    assert.equal(humanSize(undefined), '0 bytes');
    assert.equal(humanSize(-5), '0 bytes');
  });
});

describe('thumbnail boxes', () => {
  it('keeps the ratio, fits the box, and never grows a small image', () => {
    assert.deepEqual(fitWithin(800, 400, 320, 240), { width: 320, height: 160 });
    assert.deepEqual(fitWithin(400, 600, 320, 240), { width: 160, height: 240 });
    assert.deepEqual(fitWithin(100, 50, 320, 240), { width: 100, height: 50 });
    assert.deepEqual(fitWithin(10000, 1, 320, 240), { width: 320, height: 1 });
  });

  it('an image is what has a thumbnail and a size', () => {
    assert.equal(isImage(image(1)), true);
    assert.equal(isImage(file(1)), false);
    assert.equal(isImage(image(1, { width: null })), false);
  });
});

describe('a message as one line', () => {
  it('says what files alone were sent', () => {
    assert.equal(filesSummary([]), '');
    assert.equal(filesSummary(undefined), '');
    assert.equal(filesSummary([image(1)]), 'sent an image');
    assert.equal(filesSummary([image(1), image(2)]), 'sent 2 images');
    assert.equal(filesSummary([file(1)]), 'sent a file');
    assert.equal(filesSummary([image(1), file(2), file(3)]), 'sent 3 files');
  });

  it('is the text when there is one, never blank when there are files', () => {
    assert.equal(messageLine(msg('general', 'bob', '**hello**', { attachments: [image(1)] })), 'hello');
    assert.equal(messageLine(msg('general', 'bob', '', { attachments: [image(1)] })), 'sent an image');
    assert.equal(messageLine(msg('general', 'bob', '', { attachments: [file(1)] })), 'sent a file');
    assert.equal(messageLine(msg('general', 'bob', 'plain')), 'plain');
  });

  it('the lightbox moves through the images of live messages, oldest first', () => {
    const messages = [
      msg('general', 'bob', '', { attachments: [image(1), file(2)] }),
      msg('general', 'bob', 'gone', { deleted: true, attachments: [image(3)] }),
      msg('general', 'carol', 'two', { attachments: [image(4), image(5)] }),
      msg('general', 'carol', 'none'),
    ];
    assert.deepEqual(
      imagesOf(messages).map((a) => [a.id, a.username]),
      [
        [1, 'bob'],
        [4, 'carol'],
        [5, 'carol'],
      ],
    );
  });
});

const started = (key, room = 'general', size = 1000) => ({
  type: 'upload_started',
  upload: { key, room, name: `${key}.png`, size },
});

describe('the tray (uploads slice)', () => {
  it('goes uploading -> done, and the next message of the room takes what is done', () => {
    let state = joined(opened());
    const before = state;
    state = apply(state, started('u1'));
    othersUnchanged(assert, before, state, 'uploads');
    state = run(state, started('u2'), { type: 'upload_progress', key: 'u1', loaded: 250, total: 1000 });
    assert.equal(percent(uploadsFor(state, 'general')[0]), 25);
    assert.deepEqual(trayStatus(state, 'general'), {
      count: 2,
      ready: 0,
      problem: '2 files are still uploading: send when they are done, or cancel them.',
    });
    state = run(state, { type: 'upload_done', key: 'u1', attachment: image(7) });
    assert.equal(percent(uploadsFor(state, 'general')[0]), 100);
    assert.match(trayStatus(state, 'general').problem, /^A file is still uploading/);
    state = apply(state, { type: 'upload_done', key: 'u2', attachment: file(8) });
    assert.deepEqual(trayStatus(state, 'general'), { count: 2, ready: 2, problem: null });
    assert.deepEqual(
      readyAttachments(state, 'general').map((a) => a.id),
      [7, 8],
    );
    const entry = { client_id: 'c1', room: 'general', text: '', queued_at: 1, attachments: [image(7), file(8)] };
    state = apply(state, { type: 'queued', entry });
    assert.deepEqual(uploadsFor(state, 'general'), []);
  });

  it('keeps each room’s tray apart, and a message takes only its own room’s files', () => {
    let state = joined(opened());
    state = run(
      state,
      started('g1'),
      started('r1', 'random'),
      { type: 'upload_done', key: 'g1', attachment: image(1) },
      { type: 'upload_done', key: 'r1', attachment: image(2) },
    );
    assert.deepEqual(
      readyAttachments(state, 'random').map((a) => a.id),
      [2],
    );
    state = apply(state, { type: 'queued', entry: { client_id: 'c', room: 'general', text: '', queued_at: 1, attachments: [image(1)] } });
    assert.deepEqual(
      state.uploads.map((u) => u.key),
      ['r1'],
    );
    state = apply(state, { type: 'room_removed', room: 'random' });
    assert.deepEqual(state.uploads, []);
  });

  it('a failure stays, in the server’s words, and blocks sending until dismissed', () => {
    let state = joined(opened());
    state = run(state, started('u1'), { type: 'upload_failed', key: 'u1', error: 'your files take 500 MB: delete some first' });
    const [u] = uploadsFor(state, 'general');
    assert.equal(u.state, 'failed');
    assert.equal(u.error, 'your files take 500 MB: delete some first');
    assert.match(trayStatus(state, 'general').problem, /could not be uploaded/);
    // Late news of a finished or failed upload changes nothing.
    assert.equal(apply(state, { type: 'upload_done', key: 'u1', attachment: image(1) }).uploads, state.uploads);
    assert.equal(apply(state, { type: 'upload_progress', key: 'u1', loaded: 5, total: 9 }).uploads, state.uploads);
    state = apply(state, { type: 'upload_removed', key: 'u1' });
    assert.deepEqual(trayStatus(state, 'general'), { count: 0, ready: 0, problem: null });
  });

  it('counts at most ten files per message; failures do not take a place', () => {
    let state = joined(opened());
    for (let i = 0; i < 9; i += 1) state = apply(state, started(`u${i}`));
    assert.equal(roomLeft(state, 'general'), 1);
    state = apply(state, { type: 'upload_refused', upload: { key: 'x', room: 'general', name: 'x', size: 1 }, error: 'no' });
    assert.equal(roomLeft(state, 'general'), 1);
    state = apply(state, started('u9'));
    assert.equal(roomLeft(state, 'general'), 0);
    assert.equal(roomLeft(state, 'random'), 10);
  });
});

// An XMLHttpRequest that does what the test tells it to.
class FakeXhr {
  constructor(log) {
    this.upload = {};
    this.headers = {};
    this.aborted = false;
    log.push(this);
  }
  open(method, url) {
    this.method = method;
    this.url = url;
  }
  setRequestHeader(name, value) {
    this.headers[name] = value;
  }
  send(body) {
    this.body = body;
  }
  abort() {
    this.aborted = true;
    if (this.onabort) this.onabort();
  }
  progress(loaded, total) {
    this.upload.onprogress({ loaded, total, lengthComputable: true });
  }
  answer(status, body) {
    this.status = status;
    this.responseText = typeof body === 'string' ? body : JSON.stringify(body);
    this.onload();
  }
}

function uploader(state = joined(opened()), maxBytes = 10 * MB) {
  const store = quietStore(state);
  const sent = [];
  let t = 0;
  const clock = { now: () => (t += 1000) };
  const signedOut = [];
  const uploads = createUploads({
    store,
    csrfToken: 'tok',
    maxBytes,
    onUnauthorized: () => signedOut.push(true),
    newXhr: () => new FakeXhr(sent),
    clock,
  });
  return { store, sent, uploads, signedOut };
}

const blob = (name, size, type = 'image/png') => new File([new Uint8Array(size)], name, { type });

describe('uploading (effect)', () => {
  it('posts each file as multipart `file` with the CSRF header, shows progress, then the chip', async () => {
    const { store, sent, uploads } = uploader();
    uploads.add([blob('a.png', 100), blob('b.pdf', 200)]);
    assert.equal(sent.length, 2);
    const [xhr] = sent;
    assert.equal(xhr.method, 'POST');
    assert.equal(xhr.url, '/api/rooms/general/attachments');
    assert.equal(xhr.headers['X-CSRFToken'], 'tok');
    assert.equal(xhr.body.get('file').name, 'a.png');
    xhr.progress(40, 100);
    assert.equal(percent(uploadsFor(store.getState(), 'general')[0]), 40);
    xhr.answer(201, { attachment: image(3) });
    const [first, second] = uploadsFor(store.getState(), 'general');
    assert.equal(first.state, 'done');
    assert.equal(first.attachment.id, 3);
    assert.equal(second.state, 'uploading');
  });

  it('shows the server’s refusal in its own words', () => {
    const { store, sent, uploads, signedOut } = uploader();
    uploads.add([blob('a.png', 100), blob('b.png', 100), blob('c.png', 100)]);
    sent[0].answer(409, { error: { code: 'limit_reached', message: 'your files take 500 MB: delete some first' } });
    sent[1].answer(400, { error: { code: 'invalid_payload', message: 'file: not an image it can read' } });
    sent[2].answer(401, '<html>');
    assert.deepEqual(
      uploadsFor(store.getState(), 'general').map((u) => u.error),
      ['your files take 500 MB: delete some first', 'file: not an image it can read', 'the server answered 401'],
    );
    assert.equal(signedOut.length, 1);
  });

  it('refuses a file too big, an empty one, or an eleventh, without sending it', () => {
    const state = run(
      joined(opened()),
      ...Array.from({ length: 9 }, (_, i) => started(`u${i}`)),
    );
    const { store, sent, uploads } = uploader(state, 1 * MB);
    uploads.add([blob('big.bin', MB + 1), blob('empty.txt', 0), blob('ok.png', 10), blob('one-more.png', 10)]);
    assert.equal(sent.length, 1);
    assert.deepEqual(
      uploadsFor(store.getState(), 'general')
        .filter((u) => u.state === 'failed')
        .map((u) => [u.name, u.error]),
      [
        ['big.bin', 'a file is at most 1 MB'],
        ['empty.txt', 'the file is empty'],
        ['one-more.png', 'a message takes at most 10 files'],
      ],
    );
  });

  it('cancelling aborts the request and empties its place in the tray', () => {
    const { store, sent, uploads } = uploader();
    uploads.add([blob('a.png', 100)]);
    const [u] = uploadsFor(store.getState(), 'general');
    uploads.remove(u.key);
    assert.equal(sent[0].aborted, true);
    assert.deepEqual(store.getState().uploads, []);
  });

  it('a body cut off by the server reads as its limit when the file was over it', () => {
    assert.equal(uploadErrorText(0, null, { maxBytes: 10 * MB, size: 11 * MB }), 'a file is at most 10 MB');
    assert.equal(uploadErrorText(0, null, { maxBytes: 10 * MB, size: 5 }), 'the connection broke off');
    assert.equal(uploadErrorText(413, null, { maxBytes: 10 * MB }), 'a file is at most 10 MB');
    assert.equal(uploadErrorText(413, { error: { code: 'too_large', message: 'a file is at most 3 MB' } }), 'a file is at most 3 MB');
    assert.equal(
      uploadErrorText(400, { error: { code: 'invalid_payload', message: 'The CSRF token has expired.' } }),
      'the page is out of date: reload it and try again',
    );
  });
});

function memoryStorage() {
  const map = new Map();
  return {
    map,
    get length() {
      return map.size;
    },
    key: (i) => [...map.keys()][i] ?? null,
    getItem: (k) => (map.has(k) ? map.get(k) : null),
    setItem: (k, v) => map.set(k, String(v)),
    removeItem: (k) => map.delete(k),
  };
}

describe('the tray across a reload', () => {
  it('brings back finished uploads per room, not those uploading, failed or sent', () => {
    const storage = memoryStorage();
    let state = joined(opened());
    const before = state;
    state = run(
      state,
      started('u1'),
      { type: 'upload_done', key: 'u1', attachment: image(1), at: 5000 },
      started('u2', 'random'),
      { type: 'upload_done', key: 'u2', attachment: file(2), at: 6000 },
      started('u3'),
      { type: 'upload_refused', upload: { key: 'u4', room: 'general', name: 'x', size: 1 }, error: 'no' },
    );
    persistTray(storage, 'alice', before.uploads, state.uploads);
    assert.equal(storage.map.size, 2);
    const back = loadTray(storage, 'alice', 7000);
    assert.deepEqual(
      back.map((u) => [u.key, u.room, u.attachment.id]),
      [
        ['u1', 'general', 1],
        ['u2', 'random', 2],
      ],
    );
    assert.deepEqual(loadTray(storage, 'bob', 7000), []); // only mine
    let fresh = apply(joined(opened()), { type: 'uploads_restored', uploads: back });
    assert.deepEqual(readyAttachments(fresh, 'general').map((a) => a.id), [1]);
    assert.deepEqual(trayStatus(fresh, 'random'), { count: 1, ready: 1, problem: null });
    // Twice is once.
    fresh = apply(fresh, { type: 'uploads_restored', uploads: back });
    assert.equal(fresh.uploads.length, 2);
    // Sent: the key goes.
    const sent = apply(state, { type: 'queued', entry: { client_id: 'c', room: 'general', text: '', queued_at: 1, attachments: [image(1)] } });
    persistTray(storage, 'alice', state.uploads, sent.uploads);
    assert.deepEqual(loadTray(storage, 'alice', 7000).map((u) => u.key), ['u2']);
  });

  it('forgets what the server has removed by now, and everything on signing out', () => {
    const storage = memoryStorage();
    const upload = { key: 'u1', room: 'general', state: 'done', attachment: image(1), doneAt: 1000 };
    persistTray(storage, 'alice', [], [upload]);
    assert.deepEqual(loadTray(storage, 'alice', 1000 + KEEP_FOR + 1), []);
    assert.equal(storage.map.size, 0); // and not kept
    persistTray(storage, 'alice', [], [upload]);
    storage.setItem('chat-on-flask.tray.alice.junk', '{');
    const store = quietStore(joined(opened()));
    const trays = keepTray({ store, storage, clock: { now: () => 2000 } });
    assert.deepEqual(store.getState().uploads.map((u) => u.key), ['u1']);
    assert.equal(storage.getItem('chat-on-flask.tray.alice.junk'), null);
    trays.clearAll();
    assert.equal(storage.map.size, 0);
    store.dispatch({ type: 'upload_removed', key: 'u1' });
    store.dispatch(started('u9'));
    store.dispatch({ type: 'upload_done', key: 'u9', attachment: image(9), at: 3000 });
    assert.equal(storage.map.size, 0); // nothing written after
  });
});

describe('a message with files in the outbox', () => {
  it('sends the ids, and the same ones again after a failure', async () => {
    let fail = true;
    const socket = new FakeSocket(() => (fail ? 'timeout' : { ok: true, id: 900, created_at: '2026-12-01T10:00:00Z' }));
    let state = joined(opened());
    state = run(state, started('u1'), { type: 'upload_done', key: 'u1', attachment: image(5) }, started('u2'), {
      type: 'upload_done',
      key: 'u2',
      attachment: file(6),
    });
    const store = quietStore(state);
    let now = 1000;
    const clock = { now: () => now, setTimeout: () => null, clearTimeout: () => {} };
    const send = createSend({ socket, store, clock, rejoin: () => {}, newId: () => 'c1' });
    assert.equal(send.queue(''), true);
    assert.deepEqual(store.getState().uploads, []); // the tray is empty again
    send.pump();
    await settle();
    assert.equal(store.getState().outbox[0].state, 'waiting');
    fail = false;
    now += 60_000;
    send.pump();
    await settle();
    const payloads = socket.events('send_message');
    assert.equal(payloads.length, 2);
    for (const p of payloads) assert.deepEqual(p, { room: 'general', message: '', client_id: 'c1', attachments: [5, 6] });
    // The ack shows the message with its files even before the broadcast.
    const shown = store.getState().timeline.byRoom.general.messages.at(-1);
    assert.deepEqual(
      shown.attachments.map((a) => a.id),
      [5, 6],
    );
  });

  it('keeps the files across a reload', () => {
    const storage = new Map();
    const memory = {
      get length() {
        return storage.size;
      },
      key: (i) => [...storage.keys()][i] ?? null,
      getItem: (k) => (storage.has(k) ? storage.get(k) : null),
      setItem: (k, v) => storage.set(k, String(v)),
      removeItem: (k) => storage.delete(k),
    };
    const entry = { client_id: 'c1', room: 'general', text: '', queued_at: 5, attachments: [image(5)] };
    persist(memory, 'alice', [], [entry]);
    const [back] = loadEntries(memory, 'alice');
    assert.deepEqual(back.attachments, [image(5)]);
    assert.equal(back.text, '');
    // Something that is not a file list is left behind, the message kept.
    memory.setItem('chat-on-flask.outbox.alice.c2', JSON.stringify({ client_id: 'c2', room: 'general', text: 'x', attachments: 'no' }));
    const again = loadEntries(memory, 'alice').find((e) => e.client_id === 'c2');
    assert.equal(again.attachments, undefined);
  });
});
