'use strict';

// Building nodes: text goes in through textContent only, never as HTML.

export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'className') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key === 'on') for (const [name, fn] of Object.entries(value)) node.addEventListener(name, fn);
    else if (key === 'hidden') node.hidden = Boolean(value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return node;
}

export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

// Brings `parent`'s children in line with `items` (each with a unique `key`): new ones
// are made by `create(item)`, kept ones patched by `update(node, item, previous)` and
// moved only when out of place (a node that stays put keeps its focus), gone ones
// removed. `cache` (a Map) remembers key -> {node, item} between calls.
export function reconcile(parent, items, cache, { create, update }) {
  const keep = new Set(items.map((item) => item.key));
  for (const [key, entry] of cache) {
    if (!keep.has(key)) {
      entry.node.remove();
      cache.delete(key);
    }
  }
  let previous = null;
  for (const item of items) {
    let entry = cache.get(item.key);
    if (!entry) {
      entry = { node: create(item), item };
      cache.set(item.key, entry);
    } else if (entry.item !== item) {
      const node = update(entry.node, item, entry.item);
      if (node && node !== entry.node) {
        entry.node.replaceWith(node);
        entry.node = node;
      }
      entry.item = item;
    }
    const expected = previous ? previous.nextSibling : parent.firstChild;
    if (entry.node !== expected) parent.insertBefore(entry.node, expected);
    previous = entry.node;
  }
}
