'use strict';

// Small line icons for the message toolbar, the header's buttons and attachments, drawn as SVG
// nodes (no markup strings).

const SVG = 'http://www.w3.org/2000/svg';

const PATHS = {
  react: [
    'M12 21a9 9 0 1 1 0-18 9 9 0 0 1 0 18z',
    'M8.5 14.5c.9 1.2 2.1 1.8 3.5 1.8s2.6-.6 3.5-1.8',
    'M9 9.5h.01M15 9.5h.01',
  ],
  reply: ['M10 8 5 12.5l5 4.5', 'M5.5 12.5H14a5 5 0 0 1 5 5v1'],
  attach: ['M20 11.5 12.2 19.3a5 5 0 0 1-7.1-7.1l8.1-8.1a3.3 3.3 0 0 1 4.7 4.7l-8 8a1.7 1.7 0 0 1-2.4-2.4L15 7'],
  file: ['M6 3h8l4 4v14H6z', 'M14 3v4h4', 'M9 12h6M9 16h6'],
  close: ['M6 6l12 12M18 6 6 18'],
  prev: ['M15 5l-7 7 7 7'],
  next: ['M9 5l7 7-7 7'],
  edit: ['M4 20h4L19 9l-4-4L4 16v4z', 'M13.5 6.5l4 4'],
  delete: ['M5 7h14', 'M10 7V5h4v2', 'M7 7l1 13h8l1-13', 'M10.5 11v5.5M13.5 11v5.5'],
  more: ['M7 12h.01M12 12h.01M17 12h.01'],
  search: ['M10.5 17.5a7 7 0 1 1 0-14 7 7 0 0 1 0 14z', 'M15.6 15.6 20 20'],
  people: ['M9 11a3.5 3.5 0 1 1 0-7 3.5 3.5 0 0 1 0 7z', 'M2.5 20a6.5 6.5 0 0 1 13 0', 'M15.5 4.2a3.5 3.5 0 0 1 0 6.6', 'M18 14a6.5 6.5 0 0 1 3.5 6'],
};

export function icon(name) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('class', `icon icon-${name}`);
  for (const d of PATHS[name]) {
    const path = document.createElementNS(SVG, 'path');
    path.setAttribute('d', d);
    svg.append(path);
  }
  return svg;
}
