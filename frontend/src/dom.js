// Tiny DOM helpers. Text always goes through textContent: item text is data, never HTML.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function fmt(value, digits = 3) {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(digits);
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export function errorBox(error) {
  return h('div', { class: 'error', role: 'alert' }, String(error.message ?? error));
}

export const hoverCard = () => document.getElementById('hover-card');

// Gap between the hovered point and the card, and between the card and the window's edge.
const CARD_GAP = 14;
const CARD_EDGE = 6;

// Put the card below-right of the point at ``at`` (viewport coordinates), flipped above
// and/or to the left when it would leave the window, and never over the point itself.
export function placeCard(card, at) {
  const { width, height } = card.getBoundingClientRect();
  const fits = (start, size, limit) => start + size <= limit - CARD_EDGE;
  let left = at.x + CARD_GAP;
  if (!fits(left, width, window.innerWidth)) left = at.x - CARD_GAP - width;
  let top = at.y + CARD_GAP;
  if (!fits(top, height, window.innerHeight)) top = at.y - CARD_GAP - height;
  // A window too small for either side: keep the card on screen, the pointer's corner first.
  card.style.left = `${Math.max(CARD_EDGE, Math.min(left, window.innerWidth - width - CARD_EDGE))}px`;
  card.style.top = `${Math.max(CARD_EDGE, Math.min(top, window.innerHeight - height - CARD_EDGE))}px`;
}

// Show an item card (text, label, metadata, thumbnail) next to the point at ``at``
// (viewport coordinates, e.g. Pane.clientOf).
export function showItem(item, ref, at) {
  const card = hoverCard();
  clear(card);
  card.appendChild(h('div', { class: 'item-id' }, item.id));
  if (item.label !== null && item.label !== undefined) card.appendChild(h('div', { class: 'item-label' }, `label: ${item.label}`));
  if (item.text) card.appendChild(h('div', { class: 'item-text' }, item.text));
  if (item.has_image) {
    // the thumbnail grows the card when it arrives: place it again then
    card.appendChild(h('img', {
      src: `/api/versions/${encodeURIComponent(ref)}/items/${item.index}/image`,
      alt: item.id,
      onload: (event) => { if (at && event.target.isConnected && !card.hidden) placeCard(card, at); },
    }));
  }
  const meta = Object.entries(item.metadata ?? {}).slice(0, 6);
  if (meta.length) card.appendChild(h('div', { class: 'item-meta' }, meta.map(([k, v]) => `${k}: ${fmt(v)}`).join(' · ')));
  card.hidden = false;
  if (at) placeCard(card, at);
}

export function hideItem() {
  hoverCard().hidden = true;
}
