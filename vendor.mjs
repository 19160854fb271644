// The browser's libraries, copied from node_modules (pinned by package-lock.json) into
// static/vendor/, which is served from our own origin and never committed. Run by make
// (`node vendor.mjs static/vendor`) and by the Dockerfile's vendor stage.
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';

const FILES = {
  // The Socket.IO client (classic script: window.io).
  'socket.io.min.js': 'socket.io-client/dist/socket.io.min.js',
  'socket.io.min.js.map': 'socket.io-client/dist/socket.io.min.js.map',
  // ES modules without imports of their own, for `import` from static/js (.mjs: node
  // --test imports them too).
  'markdown-it.mjs': 'markdown-it/dist/browser/markdown-it.esm.min.mjs',
  'purify.mjs': 'dompurify/dist/purify.es.mjs',
  // The emoji picker (picker.js imports ./database.js) and its data, which the page
  // points the picker at (dataSource) so that nothing is fetched from a CDN.
  'emoji-picker-element/picker.js': 'emoji-picker-element/picker.js',
  'emoji-picker-element/database.js': 'emoji-picker-element/database.js',
  'emoji-picker-element-data/en/emojibase/data.json': 'emoji-picker-element-data/en/emojibase/data.json',
};

const out = process.argv[2];
if (!out) throw new Error('usage: node vendor.mjs OUTPUT_DIR');
rmSync(out, { recursive: true, force: true });
for (const [target, source] of Object.entries(FILES)) {
  mkdirSync(dirname(join(out, target)), { recursive: true });
  cpSync(join('node_modules', source), join(out, target));
}
