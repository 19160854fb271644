'use strict';

// The emoji picker (emoji-picker-element, loaded on first use) in a popover beside the
// button that opened it: for a reaction, or into the message box. Its data is the
// emoji-picker-element-data file served from our own origin, never a CDN.
//
// Our Content-Security-Policy allows no inline styles (style-src 'self'). The picker
// styles its shadow root with a <style> element and sets `style` attributes as it renders;
// both would be refused. So its stylesheet is adopted as a constructed sheet, and the
// style attributes it sets inside itself are applied through the CSSOM, which the policy
// allows; markup from elsewhere still gets no inline style.

const PICKER = '../../vendor/emoji-picker-element/picker.js';

let loading = null;

function routeStyleAttributes() {
  const setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function setAttributeThroughCssom(name, value) {
    if (name === 'style' && this instanceof HTMLElement) {
      const root = this.getRootNode();
      const ours = root instanceof ShadowRoot ? root.host.localName === 'emoji-picker' : !this.isConnected;
      if (ours) {
        this.style.cssText = String(value);
        return;
      }
    }
    setAttribute.call(this, name, value);
  };
}

function load() {
  if (!loading) {
    routeStyleAttributes();
    loading = import(PICKER).then((module) => module.default);
  }
  return loading;
}

// `dataSource`: the URL of the emoji data on our origin.
export function createEmojiPicker(doc, { dataSource }) {
  const popover = doc.getElementById('emoji-popover');
  let picker = null;
  let opener = null;
  let onPick = null;

  async function element() {
    if (picker) return picker;
    const Picker = await load();
    picker = new Picker({ dataSource, locale: 'en' });
    const style = picker.shadowRoot.querySelector('style');
    if (style) {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(style.textContent);
      style.remove();
      picker.shadowRoot.adoptedStyleSheets = [sheet];
    }
    picker.addEventListener('emoji-click', (event) => {
      const pick = onPick;
      close(true);
      if (pick) pick(event.detail.unicode);
    });
    popover.append(picker);
    return picker;
  }

  // Beside the button: below it when there is room, else above; inside the window.
  function place(anchor) {
    const box = anchor.getBoundingClientRect();
    const width = popover.offsetWidth;
    const height = popover.offsetHeight;
    const margin = 8;
    const below = box.bottom + margin + height <= window.innerHeight;
    const top = below ? box.bottom + 4 : Math.max(margin, box.top - height - 4);
    const left = Math.min(Math.max(margin, box.right - width), window.innerWidth - width - margin);
    popover.style.top = `${Math.round(top)}px`;
    popover.style.left = `${Math.round(Math.max(margin, left))}px`;
  }

  function close(refocus) {
    if (popover.hidden) return;
    popover.hidden = true;
    onPick = null;
    if (refocus && opener && opener.isConnected) opener.focus({ preventScroll: true });
    opener = null;
  }

  popover.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.stopPropagation();
      close(true);
    }
  });
  doc.addEventListener('pointerdown', (event) => {
    if (!popover.hidden && !popover.contains(event.target) && event.target !== opener) close(false);
  });

  return {
    // Opens beside `anchor`; `pick(emoji)` gets the chosen emoji.
    async open(anchor, pick) {
      if (!popover.hidden && opener === anchor) {
        close(true);
        return;
      }
      opener = anchor;
      onPick = pick;
      popover.hidden = false;
      const el = await element();
      place(anchor);
      requestAnimationFrame(() => {
        const search = el.shadowRoot && el.shadowRoot.querySelector('input');
        if (search && !popover.hidden) search.focus({ preventScroll: true });
      });
    },
    close,
  };
}
