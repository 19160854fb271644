'use strict';

// A message's Markdown as nodes: markdown-it's HTML (markdown.js) goes through DOMPurify,
// which returns a fragment of the tags and attributes listed here and nothing else; the
// fragment is appended, so no HTML string ever reaches the page unsanitized.

import DOMPurify from '../../vendor/purify.mjs';
import { renderHtml } from '../markdown.js';

const CONFIG = {
  ALLOWED_TAGS: ['p', 'br', 'em', 'strong', 's', 'code', 'pre', 'blockquote', 'ul', 'ol', 'li', 'a', 'span'],
  ALLOWED_ATTR: ['href', 'class', 'start'],
  ALLOWED_URI_REGEXP: /^(?:https?:|mailto:)/i,
  ALLOW_DATA_ATTR: false,
  RETURN_DOM_FRAGMENT: true,
};

// Links open in a new tab and tell the other site nothing about this page.
DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.nodeName === 'A' && node.hasAttribute('href')) {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer nofollow');
  }
});

// A fragment to append: `options` as renderHtml's ({mentions, me}).
export function richText(text, options) {
  return DOMPurify.sanitize(renderHtml(text, options), CONFIG);
}
